"""The emulated host an SSH login lands on: a locked-down bastion where the one thing to do is to enter
the Alation shell.

It answers as a restricted bash (`rbash`) whose PATH holds only `sudo`, `whoami` and `hostname`, with a sudoers
entry that allows only the Alation init script's `shell`: `ls` is `-rbash: ls: command not found`, `cd` is
`-rbash: cd: restricted`, `/bin/sh` is `-rbash: /bin/sh: restricted: cannot specify `/' in command names`, and
any other sudo is sudo's own refusal. Nothing here touches the host the server runs on.
"""

from __future__ import annotations

import shlex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

HOSTNAME = "alation-demo"
ENTER_SHELL = (("sudo", "/etc/init.d/alation", "shell"), ("sudo", "service", "alation", "shell"))

HELP = """\
This host is locked down: it is here to enter the Alation shell.
  sudo /etc/init.d/alation shell   enter the Alation shell (`exit` there comes back here)
  sudo service alation shell       the same
  walkthrough [NAME] [--demo]      guided exercises on an instance of their own (the list without NAME)
                                   [emulator addition]
  whoami, hostname                 who and where you are
  exit, logout                     log out
  help                             this list  [emulator addition]
"""


class HostResult:
    """What a host command printed, its status, and what the connection does next."""

    __slots__ = ("stdout", "stderr", "status", "enter_shell", "logout", "walkthrough")

    def __init__(self, stdout: str = "", stderr: str = "", status: int = 0, *, enter_shell: bool = False,
                 logout: bool = False, walkthrough: list[str] | None = None) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.status = status
        self.enter_shell = enter_shell
        self.logout = logout
        self.walkthrough = walkthrough  # `walkthrough ARGS`: run by the connection (it needs the terminal)


def is_enter_shell(line: str) -> bool:
    """Whether `line` is one of the ways into the Alation shell."""
    try:
        return tuple(shlex.split(line, comments=True)) in ENTER_SHELL
    except ValueError:
        return False


class Host:
    """The host prompt's command table for one login."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.status = 0  # of the last command, for a bare `exit` and `$?`

    def prompt(self) -> str:
        return f"[{self.user}@{HOSTNAME} ~]$ "

    def execute(self, line: str) -> HostResult:
        """Run one line typed at the host prompt."""
        result = self._execute(line)
        if not result.enter_shell:
            self.status = result.status
        return result

    def _execute(self, line: str) -> HostResult:
        try:
            argv = shlex.split(line, comments=True)
        except ValueError:
            return HostResult(stderr="-rbash: syntax error: unexpected end of file\n", status=2)
        if not argv:
            return HostResult(status=self.status)
        name, args = argv[0], argv[1:]
        if tuple(argv) in ENTER_SHELL:
            return HostResult(enter_shell=True)
        if name in ("exit", "logout"):
            if args and not args[0].lstrip("-").isdecimal():
                return HostResult(stderr=f"-rbash: {name}: {args[0]}: numeric argument required\n", status=2,
                                  logout=True)
            return HostResult("logout\n" if name == "logout" else "", status=int(args[0]) & 0xFF if args
                              else self.status, logout=True)
        if name == "whoami":
            return HostResult(f"{self.user}\n")
        if name == "hostname":
            return HostResult(f"{HOSTNAME}\n")
        if name == "help":
            return HostResult(HELP)
        if name == "walkthrough":
            return HostResult(walkthrough=args)
        if name == "cd":
            return HostResult(stderr="-rbash: cd: restricted\n", status=1)
        if "/" in name:
            return HostResult(stderr=f"-rbash: {_shown(name)}: restricted: cannot specify `/' in command names\n",
                              status=1)
        if name == "sudo":
            return self._sudo(args)
        return HostResult(stderr=f"-rbash: {_shown(name)}: command not found\n", status=127)

    def _sudo(self, args: list[str]) -> HostResult:
        if not args or args[0].startswith("-"):
            return HostResult(stderr="usage: sudo /etc/init.d/alation shell\n", status=1)
        command = args[0] if "/" in args[0] else f"/usr/bin/{args[0]}"
        shown = _shown(" ".join([command, *args[1:]]))
        return HostResult(
            stderr=f"Sorry, user {self.user} is not allowed to execute '{shown}' as root on {HOSTNAME}.\n",
            status=1,
        )


# What Tab offers at the host prompt, as bash's completion on such a host would: the commands on its PATH and
# builtins first, then the words of the one sudo command allowed, then a walkthrough's names.
_FIRST_WORDS = ("exit", "help", "hostname", "logout", "sudo", "walkthrough", "whoami")
_SUDO_WORDS = {(): ("/etc/init.d/alation", "service"), ("/etc/init.d/alation",): ("shell",),
               ("service",): ("alation",), ("service", "alation"): ("shell",)}


def host_completions(text: str, cursor: int, scenarios: Sequence[str] = ()) -> tuple[int, list[str]]:
    """The words that complete the one at `cursor` in `text` at the host prompt: (where it starts, the
    candidates); `scenarios` are the names a `walkthrough` takes."""
    before = text[:cursor]
    start = len(before) - len(before.split(" ")[-1])
    word, done = before[start:], before[:start].split()
    if not done:
        offered: Sequence[str] = _FIRST_WORDS
    elif done[0] == "sudo":
        offered = _SUDO_WORDS.get(tuple(done[1:]), ())
    elif done[0] == "walkthrough" and len(done) == 1:
        offered = [*scenarios, "--demo"]
    else:
        offered = ()
    return start, [candidate for candidate in offered if candidate.startswith(word)]


def _shown(text: str) -> str:
    """`text` on one line, control characters escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode()
