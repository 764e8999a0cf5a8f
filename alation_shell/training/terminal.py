"""The walkthrough's prompt on a terminal: the shell's own prompt_toolkit prompt (completion, history,
highlighting); the step's instruction is printed above it.

Kept in this one module so that the REPL's loop can take its place when the shell's front end offers one.
"""

from __future__ import annotations

from prompt_toolkit import PromptSession
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import create_output

from alation_shell.shell.completion import ShellCompleter
from alation_shell.shell.keys import shell_bindings
from alation_shell.shell.lexer import ShellLexer
from alation_shell.shell.repl import HISTORY_FILE, STYLE, ShellHistory, prompt_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.training.asciicast import Recorder
    from alation_shell.training.walkthrough import Walkthrough


class PromptSource:
    """Lines typed at the real prompt; Ctrl-C drops the line, Ctrl-D leaves (progress is kept)."""

    def __init__(self, walk: Walkthrough, out: TextIO, *, colour: bool, recorder: Recorder | None = None) -> None:
        self.walk = walk
        self.colour = colour
        self.recorder = recorder
        self.output = create_output(stdout=out)  # type: ignore[arg-type] - a Tap passes through to the terminal
        self.completer = ShellCompleter(walk.session)
        self.reader: PromptSession[str] = PromptSession(
            history=ShellHistory(str(walk.instance.var / HISTORY_FILE)),
            completer=self.completer,
            complete_while_typing=True,
            lexer=PygmentsLexer(ShellLexer) if colour else None,
            style=STYLE,
            include_default_pygments_style=False,
            key_bindings=shell_bindings(),
            output=self.output,
        )

    def read(self, prompt_text: str) -> str | None:
        self.completer.refresh()
        while True:
            try:
                line = self.reader.prompt(prompt_message(self.walk.session, self.colour))
            except KeyboardInterrupt:
                continue
            except EOFError:
                return None
            if self.recorder is not None:
                self.recorder.input(line + "\r")
            return line

    def answer(self, question: str) -> str | None:
        try:
            line = PromptSession(output=self.output).prompt(question)
        except EOFError:
            return None
        if self.recorder is not None:
            self.recorder.input(line + "\r")
        return line
