"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import TextIO

import pytest

from alation_shell.commands.base import Result
from alation_shell.instance import Instance
from alation_shell.session import Session

VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches the real default instance: the default home points into a temp dir."""
    home = tmp_path_factory.mktemp("default-home")
    monkeypatch.setenv("ALATION_SHELL_HOME", str(home / "instance"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded instance per test run; `instance` hands out copies (seeding is the slow part)."""
    root = tmp_path_factory.mktemp("template") / "instance"
    Instance(root).init()
    return root


def copy_of(template: Path, root: Path) -> Instance:
    """A copy, at `root`, of the instance at `template`."""
    shutil.copytree(template, root, symlinks=True)
    return Instance(root)


@pytest.fixture
def instance(seeded_template: Path, tmp_path: Path) -> Instance:
    """A freshly seeded instance (default seed) in its own temp directory."""
    return copy_of(seeded_template, tmp_path / "instance")


@pytest.fixture
def shell(instance: Instance) -> Session:
    """A non-interactive session on `instance`."""
    return Session(instance)


def tool(name: str) -> str:
    """Path of an installed console command of this project (alation-shell, alation_conf, ...)."""
    path = VENV_BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} missing: run scripts/test, which installs the project")
    return str(path)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess acting on the instance at `home`."""
    env = dict(os.environ)
    env["ALATION_SHELL_HOME"] = str(home)
    env.update(extra)
    return env


class Canceller:
    """Runs a command of `session` in a worker thread and cancels it from the test's thread, at the point where
    the command calls `reached()`: the command waits there until the cancel is done, so the cancel lands at the
    command's next check after that point, whatever the threads' timing."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._reached = threading.Event()
        self._cancelled = threading.Event()

    def reached(self) -> None:
        """Called by the command (through its output or a progress reporter) where the cancel should land."""
        if not self._reached.is_set():
            self._reached.set()
            assert self._cancelled.wait(60), "the test thread did not cancel"

    def run(self, line: str, live: tuple[TextIO, TextIO] | None = None) -> Result:
        results: list[Result] = []

        def work() -> None:
            try:
                results.append(self.session.execute(line, live))
            finally:
                self._reached.set()  # never reached: the test's thread must not wait forever

        worker = threading.Thread(target=work)
        worker.start()
        self._reached.wait()
        self.session.cancel.cancel()
        self._cancelled.set()
        worker.join()
        return results[0]
