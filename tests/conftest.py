"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import pytest

from alation_shell.commands.base import Result
from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance
from alation_shell.session import Session

VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


# What a passed test wrote is freed as it ends, or the suite's ~13 GB of instances and backups outgrows the disk
# of a CI machine. Only files of 16 KiB and more are removed (in a seeded instance 92% of the bytes, 27 of 163 files):
# the tree and its small files are left to look at, and few inodes are freed. Freeing every inode (pytest's
# `tmp_path_retention_policy = "failed"`) slowed the suite by a third on ext4, whose inode allocator then steps
# over each recently deleted inode for minutes.
BULK = 16 << 10
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    where = getattr(item, "funcargs", {}).get("tmp_path")
    yield
    if isinstance(where, Path) and not item.stash.get(_FAILED, False):
        free_bulk(where)


def free_bulk(root: Path) -> None:
    """Unlink the regular files of BULK bytes or more under `root` (links are never followed)."""
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_size >= BULK:
                    os.unlink(entry.path)
            except OSError:
                pass


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever touches the real default instance: the default home points into a temp dir, whose bulk is
    freed after the test (a seeded default instance is 7 MB, and there are ~1,700 tests)."""
    home = tmp_path_factory.mktemp("default-home")
    monkeypatch.setenv("ALATION_SHELL_HOME", str(home / "instance"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
    free_bulk(home)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded instance per test run; `instance` hands out copies (seeding is the slow part)."""
    root = tmp_path_factory.mktemp("template") / "instance"
    create_instance(Instance(root))
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


def paper(data: str) -> list[str]:
    """The lines that a terminal taking no escape codes (a teletype, a serial console) shows for `data`: each
    character is put at the cursor over what was there, a backspace moves it left, a carriage return to the
    start of the line, a newline to a new line."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for c in data:
        if c == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif c == "\r":
            column = 0
        elif c == "\b":
            column = max(column - 1, 0)
        else:
            line[column:column + 1] = [c]
            column += 1
    return [*lines, "".join(line).rstrip()]


@pytest.fixture
def deep_tree() -> Iterator[Callable[..., Path]]:
    """Makes `levels` directories named `name`, each in the one before, and a file in the last, under `top`
    (through directory descriptors: the host path of the deepest can be longer than the host takes); removes
    them afterwards with GNU rm, since pytest's own clean-up recurses and a tree that deep breaks it."""
    made: list[Path] = []

    def make(top: Path, levels: int, name: str = "d") -> Path:
        top.mkdir(parents=True, exist_ok=True)
        made.append(top)
        fd = os.open(top, os.O_RDONLY)
        try:
            for _ in range(levels):
                os.mkdir(name, dir_fd=fd)
                inner = os.open(name, os.O_RDONLY, dir_fd=fd)
                os.close(fd)
                fd = inner
            with os.fdopen(os.open("deepest.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
                f.write("at the bottom\n")
        finally:
            os.close(fd)
        return top

    yield make
    for top in made:
        subprocess.run(["rm", "-rf", "--", str(top)], check=True)


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
