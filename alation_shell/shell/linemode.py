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
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.lines: Iterator[str] = iter(lines)
        self.answers: Iterator[str] = iter(answers) if answers is not None else self.lines
        self.echo = echo
        self.stop_on_error = stop_on_error
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.session = Session(instance, interactive=False, ask=self._ask)

    def _ask(self, prompt: str) -> str | None:
        answer = next(self.answers, None)
        shown = answer.rstrip("\n") if answer is not None else ""
        self.out.write(prompt + (shown if self.echo else "") + "\n")
        self.out.flush()
        return None if answer is None else answer.rstrip("\r\n")

    def run(self) -> int:
        """Run every line; 0 if all succeeded, else the status of the last failing command."""
        status = 0
        for raw in self.lines:
            line = raw.rstrip("\r\n")
            if self.echo and line.strip():
                self.out.write(self.session.prompt() + line + "\n")
                self.out.flush()
            result = self.session.execute(line, live=(self.out, self.err))
            if result.exit_code != 0:
                status = result.exit_code
                if self.stop_on_error:
                    break
            if result.stop:
                return status if result.session_status is None else result.session_status
        return status


def stdin_answers() -> Iterator[str]:
    """Answers for confirmations when the commands themselves come from elsewhere (`-c`)."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        yield line
