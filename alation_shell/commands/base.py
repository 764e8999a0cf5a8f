"""What every shell command gets (a Context) and gives back (a Result)."""

from __future__ import annotations

import io
from collections.abc import Callable

TYPE_CHECKING = False  # typing is not imported at run time: it costs a piped session ~10% of its time
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.commands import Command
    from alation_shell.config.registry import Registry
    from alation_shell.instance import Instance
    from alation_shell.progress import Progress
    from alation_shell.session import CancelToken, Session
    from alation_shell.terminal import Terminal


class Result:
    """A command's outcome as a value: what it printed (unless it was written live), its exit status, and whether
    the session ends."""

    __slots__ = ("stdout", "stderr", "exit_code", "stop", "session_status")

    def __init__(
        self,
        stdout: str = "",
        stderr: str = "",
        exit_code: int = 0,
        stop: bool = False,
        session_status: int | None = None,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.exit_code = exit_code
        self.stop = stop  # the session ends after this command (`exit`)
        self.session_status = session_status  # `exit N`: the status the whole session ends with

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __repr__(self) -> str:
        return (
            f"Result(stdout={self.stdout!r}, stderr={self.stderr!r}, exit_code={self.exit_code}, "
            f"stop={self.stop})"
        )


class Output(io.TextIOBase):
    """A command's output stream: written through to `live` as it comes when given one, else kept for the
    Result. (Not both: `cat` of a 1 GB log would otherwise hold it all.)"""

    def __init__(self, live: TextIO | None = None) -> None:
        self._parts: list[str] = []
        self._live = live

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._live is not None:
            self._live.write(text)
            self._live.flush()
        else:
            self._parts.append(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self._parts)


class Context:
    """The session, instance and streams a command runs with. Commands print only through it."""

    def __init__(self, session: Session, stdout: Output, stderr: Output, stdin: str | None = None) -> None:
        self.session = session
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin  # what is piped or redirected into the command (`a | b`, `b < FILE`), else None
        self._stdin_read = 0  # how much of `stdin` confirmations have taken
        self.stop = False  # set by `exit`: the session ends after this command
        self.session_status: int | None = None  # set by `exit N`
        self.as_root = session.user == "root"  # `sudo COMMAND` runs COMMAND with this set
        self.command: Command | None = None  # the table's entry of the command running (set by dispatch)

    @property
    def instance(self) -> Instance:
        return self.session.instance

    @property
    def registry(self) -> Registry:
        return self.session.registry

    @property
    def terminal(self) -> Terminal:
        return self.session.terminal

    @property
    def interactive(self) -> bool:
        """True when a person is at the session's terminal (progress bars, prompts)."""
        return self.session.terminal.interactive

    @property
    def cancel(self) -> CancelToken:
        """The session's cancel token: long work calls `ctx.cancel.check()` between its steps."""
        return self.session.cancel

    def out(self, line: str = "") -> None:
        self.stdout.write(line + "\n")

    def err(self, line: str) -> None:
        self.stderr.write(line + "\n")

    def ask(self, prompt: str) -> str | None:
        """Ask the operator a question; the answer line, or None at end of input.

        With input piped in (`echo YES | alation_action ...`) the answer is its next line, as a program
        reading its standard input would take it; the question is shown on its own line.
        """
        if self.stdin is None:
            return self.session.ask(prompt)
        self.stdout.write(prompt + "\n")
        if self._stdin_read >= len(self.stdin):
            return None
        end = self.stdin.find("\n", self._stdin_read)
        end = len(self.stdin) if end < 0 else end + 1
        line = self.stdin[self._stdin_read:end]
        self._stdin_read = end
        return line.rstrip("\r\n")

    def progress(self, label: str, total: int, unit: str = "B") -> Progress:
        """A progress reporter: a live bar on a terminal, silent on a pipe (commands print milestones).

        `unit` "B" shows bytes and a byte rate; any other unit (e.g. "documents") shows plain counts. Each
        step of it checks the cancel token: long work stops at its next step once the session is cancelled.
        """
        session = self.session
        stream = session.live_stderr
        if self.interactive and session.progress_bar is not None and stream is not None:
            return session.progress_bar(label, total, stream, unit, session.cancel)
        from alation_shell.progress import Progress

        return Progress(label, total, unit, session.cancel)


CommandFunc = Callable[[Context, list[str]], int]

MAX_DIGITS = 18  # whole numbers below 10**18 fit the 64 bits coreutils and bash read counts into


def whole_number(text: str) -> int | None:
    """`text` as a whole number if it is one, in ASCII digits, below 10**18; else None.

    int() alone would take other scripts' digits and refuse a number of 4,301 digits with a ValueError.
    """
    if not (text.isascii() and text.isdecimal()):
        return None
    digits = text.lstrip("0")
    return int(digits or "0") if len(digits) <= MAX_DIGITS else None
