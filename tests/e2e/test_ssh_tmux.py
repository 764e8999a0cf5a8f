"""An SSH session in tmux, a real terminal emulator, through the stock OpenSSH client: what the operator sees
of a line longer than the window, edited in its middle, and of a paste of several lines."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from tests.e2e.ssh_server import Server, adduser, make_key
from tests.e2e.test_repl_tmux import Tmux, until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("ssh") is None,
                                reason="tmux or the OpenSSH client not installed")

HOST_PROMPT = "[bob@alation-demo ~]$"
PROMPT = "(env) DEMO [alationadmin@alation-demo /]$ "
VERSIONS = "alation.backup_v2.incr_backup_versions"
COLUMNS = 50


@pytest.fixture
def session(tmp_path: Path, seeded_template: Path) -> Iterator[tuple[Tmux, Server]]:
    """bob logged in with `ssh -tt` in a 50-column tmux window, in the Alation shell at its first prompt."""
    key = make_key(tmp_path / "bob")
    home = tmp_path / "home"
    adduser(home, "bob", key=key)
    server = Server(home, seeded_template)
    tmux = Tmux(tmp_path / "tmux", {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "xterm-256color"})
    command = " ".join(shlex.quote(word) for word in server.ssh_argv("bob", key, "-tt"))
    try:
        tmux("new-session", "-d", "-s", "shell", "-x", str(COLUMNS), "-y", "30", command)
        until(lambda: any(line.startswith(HOST_PROMPT) for line in tmux.screen()), "the host prompt", tmux)
        tmux("send-keys", "-t", "shell", "-l", "sudo /etc/init.d/alation shell")
        tmux("send-keys", "-t", "shell", "Enter")
        until(lambda: tmux.screen()[-1].startswith(PROMPT.rstrip()), "the shell's prompt", tmux)
        yield tmux, server
    finally:
        tmux("kill-server")
        server.stop()


def joined(tmux: Tmux, last_rows: int) -> str:
    """The last `last_rows` rows of the window as one line (a line wrapped at the window's width, read back)."""
    return "".join(row.ljust(COLUMNS) for row in tmux.screen()[-last_rows:]).rstrip()


def test_a_line_longer_than_the_window_edited_in_its_middle_shows_what_runs(session: tuple[Tmux, Server]) -> None:
    tmux, server = session
    line = f"alation_conf {VERSIONS} -s 7   # a comment that makes the line wrap"
    tmux("send-keys", "-t", "shell", "-l", line)
    until(lambda: joined(tmux, 3).endswith("wrap"), "the typed line", tmux)
    assert joined(tmux, 3) == PROMPT + line  # three rows: the prompt and the line, wrapped at 50 columns
    # Home, then to the digit and change it: the rows are drawn again, the line still reads whole.
    tmux("send-keys", "-t", "shell", "Home")
    for _ in range(len(f"alation_conf {VERSIONS} -s ")):
        tmux("send-keys", "-t", "shell", "Right")
    tmux("send-keys", "-t", "shell", "Delete")
    tmux("send-keys", "-t", "shell", "-l", "5")
    edited = line.replace("-s 7", "-s 5")
    until(lambda: joined(tmux, 3) == PROMPT + edited, "the edited line", tmux)
    tmux("send-keys", "-t", "shell", "Enter")
    until(lambda: tmux.screen()[-1].startswith(PROMPT.rstrip()) and f"{VERSIONS} = 5" in tmux.screen(),
          "the command's output and the next prompt", tmux)
    assert Registry.for_instance(Instance(server.home / "users/bob/instance")).get(VERSIONS) == 5


def test_a_paste_of_several_lines_over_ssh_runs_them_one_after_another(session: tuple[Tmux, Server],
                                                                       tmp_path: Path) -> None:
    tmux, server = session
    (tmp_path / "paste.txt").write_text(f"alation_conf {VERSIONS} -s 4\nalation_conf {VERSIONS}\n")
    tmux("load-buffer", "-b", "lines", str(tmp_path / "paste.txt"))
    tmux("paste-buffer", "-p", "-b", "lines", "-t", "shell")
    until(lambda: tmux.screen().count(f"{VERSIONS} = 4") == 2, "both lines to run", tmux)
    lines = _lines(tmux.screen())
    first = next(i for i, line in enumerate(lines) if line.startswith(PROMPT + "alation_conf"))
    assert lines[first:first + 4] == [
        f"{PROMPT}alation_conf {VERSIONS} -s 4", f"{VERSIONS} = 4", f"{PROMPT}alation_conf {VERSIONS}",
        f"{VERSIONS} = 4",
    ]


def _lines(rows: list[str]) -> list[str]:
    """Rows as the lines they show: a row filling the window's width goes on in the next one."""
    lines: list[str] = []
    carry = ""
    for row in rows:
        if len(row) >= COLUMNS:
            carry += row
            continue
        lines.append(carry + row)
        carry = ""
    return lines
