"""The plain line reader: piped stdin, `-c`, script files. Never imports prompt_toolkit, prints no escapes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from alation_shell.instance import Instance
from alation_shell.session import Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


class LineRunner:
    """Runs lines one by one; a confirmation (`YES`) is read from the next line of the same input."""

    def __init__(
        self,
        instance: Instance,
        lines: Iterable[str],
        *,
        echo: bool = False,
        stop_on_error: bool = False,
        answers: Iterable[str] | None = None,
        answers_on_terminal: bool = False,
        prompt_to: TextIO | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.lines: Iterator[str] = iter(lines)
        self.prompt_to = prompt_to  # typed at a terminal while stdout is redirected: prompt there
        self.echo = echo
        self.stop_on_error = stop_on_error
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        ask = asker(self.out, self.lines if answers is None else answers, echo=echo, terminal=answers_on_terminal)
        self.session = Session(instance, ask=ask)  # no terminal: no progress bars, no escape codes
        self.status = 0  # 0 if every command succeeded, else the status of the last failing one
        self.first = True  # the first line may start with a UTF-8 BOM

    def run(self) -> int:
        """Run every line; 0 if all succeeded, else the status of the last failing command."""
        while True:
            if self.prompt_to is not None:
                self.prompt_to.write(self.session.prompt())
                self.prompt_to.flush()
            raw = next(self.lines, None)
            if raw is None or not self.step(raw):
                return self.status

    def step(self, raw: str) -> bool:
        """Run one line and fold its outcome into `status`; False when the session ends after it."""
        line = raw.rstrip("\r\n")
        if self.first:  # a script saved with a UTF-8 BOM (Windows editors) runs: the BOM is not a command
            line, self.first = line.removeprefix("\ufeff"), False
        if self.echo and line.strip():
            self.out.write(self.session.prompt() + line + "\n")
            self.out.flush()
        result = self.session.execute(line, live=(self.out, self.err))
        if result.exit_code != 0:
            self.status = result.exit_code
            if self.stop_on_error:
                return False
        if result.stop:
            if result.session_status is not None:
                self.status = result.session_status
            return False
        return True


def asker(out: TextIO, answers: Iterable[str], *, echo: bool = False, terminal: bool = False):  # noqa: ANN201
    """A confirmation reader: shows the question on `out`, takes the next line of `answers`.

    On a terminal the person's typing shows the answer; otherwise the answer is shown only with `echo`, so
    that a piped transcript reads `Type YES to continue: YES`.
    """
    it = iter(answers)

    def ask(question: str) -> str | None:
        out.write(question)
        out.flush()
        answer = next(it, None)
        if not terminal:
            out.write((answer.rstrip("\r\n") if answer is not None and echo else "") + "\n")
            out.flush()
        return None if answer is None else answer.rstrip("\r\n")

    return ask


def stdin_answers() -> Iterator[str]:
    """Answers for confirmations when the commands themselves come from elsewhere (`-c`)."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        yield line
