"""The walkthrough's prompt on a terminal: the shell's own prompt_toolkit prompt (completion, history,
highlighting); the step's instruction is printed above it.

It uses the REPL's own pieces (`Prompt`, `PasteQueue`, the key bindings), so it reads a line as the shell does.
"""

from __future__ import annotations

import os

from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import create_output

from alation_shell.shell.completion import ShellCompleter
from alation_shell.shell.keys import shell_bindings
from alation_shell.shell.lexer import ShellLexer
from alation_shell.shell.repl import HISTORY_FILE, STYLE, PasteQueue, Prompt, ShellHistory, prompt_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.training.asciicast import Recorder
    from alation_shell.training.walkthrough import Walkthrough


class PromptSource:
    """Lines typed at the real prompt, as the shell's REPL reads them (a paste of several lines runs them one
    after another; TERM=dumb shows what Enter will run); Ctrl-C drops the line, Ctrl-D leaves (progress is kept)."""

    def __init__(self, walk: Walkthrough, out: TextIO, *, colour: bool, recorder: Recorder | None = None) -> None:
        self.walk = walk
        self.colour = colour
        self.recorder = recorder
        self.output = create_output(stdout=out)  # type: ignore[arg-type] - a Tap passes through to the terminal
        self.completer = ShellCompleter(walk.session)
        self.pastes = PasteQueue()
        plain = os.environ.get("TERM") == "dumb"
        self.reader = Prompt(
            self.output,
            plain=plain,
            history=ShellHistory(str(walk.instance.var / HISTORY_FILE)),
            completer=self.completer,
            complete_while_typing=True,
            lexer=PygmentsLexer(ShellLexer) if colour else None,
            style=STYLE,
            include_default_pygments_style=False,
            key_bindings=shell_bindings(self.pastes.add),
        )
        self.questions = Prompt(self.output, plain=plain)

    def read(self, prompt_text: str) -> str | None:
        self.completer.refresh()
        message = prompt_message(self.walk.session, self.colour)
        while True:
            try:
                line = self.pastes.next_line(self.output, message, self.reader.session.history) or \
                    self.reader.prompt(message, self.pastes.take_unfinished())
            except KeyboardInterrupt:
                self.pastes.clear()
                continue
            except EOFError:
                return None
            if self.recorder is not None:
                self.recorder.input(line + "\r")
            return line

    def answer(self, question: str) -> str | None:
        try:
            line = self.questions.prompt(question)
        except EOFError:
            return None
        if self.recorder is not None:
            self.recorder.input(line + "\r")
        return line
