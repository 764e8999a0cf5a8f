"""The interactive shell in tmux, a real terminal emulator: an operator's paste of the seed's procedure.

tmux's `paste-buffer -p` sends a buffer as one bracketed paste (the shell asks for bracketed paste mode), as a
terminal does when a block of lines is pasted into it; `capture-pane` reads back the screen the operator sees.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from tests.conftest import env_for, tool
from tests.e2e.test_seed_backup_procedure import SEED

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

INCR = "alation.backup_v2.incr_backup"
VERSIONS = "alation.backup_v2.incr_backup_versions"
PROMPT = "(env) DEMO [alationadmin@alation-demo /]$ "
WAIT = 30  # seconds a step may take before the test gives up on it


class Tmux:
    """A tmux server of the test's own (its socket at `socket`, no configuration), with one window."""

    def __init__(self, socket: Path, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, timeout=WAIT, check=True)
        return done.stdout

    def screen(self) -> list[str]:
        """The window's lines that are not blank, those scrolled off the top included."""
        return [line for line in self("capture-pane", "-p", "-S", "-", "-t", "shell").splitlines() if line.strip()]

    def exit_status(self) -> str:
        """The shell's exit status once tmux has seen it end, else ""."""
        dead, status, server = self("display-message", "-p", "-t", "shell",
                                    "#{pane_dead} #{pane_dead_status} #{pid}").split(" ")
        if dead == "1" and not status.strip():
            # The pane's terminal closed, its process not reaped: tmux can miss the SIGCHLD (libutempter holds the
            # handler while it removes the pane's utmp record, tmux issue #311). Tell it again.
            os.kill(int(server), signal.SIGCHLD)
        return status.strip()


def until(done: Callable[[], object], what: str, tmux: Tmux) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT} s for {what}; the screen:\n" + "\n".join(tmux.screen()))
        time.sleep(0.05)


@pytest.fixture
def tmux(instance: Instance, tmp_path: Path) -> Iterator[Tmux]:
    """`alation-shell` on `instance` in a 120x30 tmux window, at its first prompt; the window stays when the
    shell ends, so that its last screen and exit status can be read."""
    env = env_for(instance.root, TERM="xterm-256color")
    env.pop("TMUX", None)
    env.pop("NO_COLOR", None)
    server = Tmux(tmp_path / "tmux", env)
    server("new-session", "-d", "-s", "shell", "-x", "120", "-y", "30", shlex.quote(tool("alation-shell")),
           ";", "set-option", "-w", "-t", "shell", "remain-on-exit", "on")
    try:
        until(lambda: any(line.endswith("]$") for line in server.screen()), "the first prompt", server)
        yield server
    finally:
        server("kill-server")


def test_the_seed_procedure_pasted_at_once_runs_line_by_line(tmux: Tmux, instance: Instance, tmp_path: Path) -> None:
    # The commands of the seed's procedure as an operator copies them (steps 3 to 5), a read-back before the exit.
    procedure = SEED.format(versions=6) + f"alation_conf {INCR}\nexit\n"
    (tmp_path / "procedure.txt").write_text(procedure)
    tmux("load-buffer", "-b", "procedure", str(tmp_path / "procedure.txt"))
    tmux("paste-buffer", "-p", "-b", "procedure", "-t", "shell")
    until(tmux.exit_status, "the shell to leave at the pasted exit", tmux)
    assert tmux.exit_status() == "0"
    screen = tmux.screen()
    first = screen.index(f"{PROMPT}alation_conf {INCR} -s True")
    assert screen[first:-1] == [
        f"{PROMPT}alation_conf {INCR} -s True",
        f"{INCR} = True",
        f"{PROMPT}alation_conf {VERSIONS} -s 6",
        f"{VERSIONS} = 6",
        f"{PROMPT}alation_conf {INCR}",
        f"{INCR} = True",
        f"{PROMPT}exit",
    ]
    assert screen[-1].startswith("Pane is dead")
    registry = Registry.for_instance(instance)
    assert registry.get(INCR) is True
    assert registry.get(VERSIONS) == 6
