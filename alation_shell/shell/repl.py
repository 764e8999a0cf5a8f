"""The interactive shell on a terminal (prompt_toolkit): prompt, history, completion, highlighting.

A thin loop over one `Session`: each line goes to `session.execute`, which writes the output live.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

from prompt_toolkit import PromptSession, prompt
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import is_dumb_terminal

from alation_shell.instance import Instance
from alation_shell.session import Session
from alation_shell.shell.completion import ShellCompleter
from alation_shell.shell.keys import shell_bindings
from alation_shell.shell.lexer import ShellLexer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

HISTORY_FILE = "shell_history"  # under the instance's var/

STYLE = Style.from_dict(
    {
        "prompt.env": "ansibrightblack",
        "prompt.label": "bold",
        "prompt.user": "ansigreen",
        "prompt.cwd": "ansiblue",
        "pygments.name.builtin": "ansiblue bold",
        "pygments.name.variable": "ansicyan",
        "pygments.name.attribute": "ansimagenta",
        "pygments.keyword.constant": "ansiyellow",
        "pygments.literal.number": "ansiyellow",
        "pygments.literal.string": "ansigreen",
        "pygments.comment": "ansibrightblack italic",
    }
)
# The parts of `Session.prompt()`: `(env) DEMO [alationadmin@alation-demo /]$ `.
_PROMPT = re.compile(r"(\(env\) )(\S+)( \[)([^\s\]]+)( )([^\]]*)(\][$#] )")
_PROMPT_CLASSES = ("prompt.env", "prompt.label", "", "prompt.user", "", "prompt.cwd", "")


class ShellHistory(FileHistory):
    """The history file; a disk that refuses it costs the history, never the session."""

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(super().load_history_strings())
        except OSError:
            return []

    def store_string(self, string: str) -> None:
        with contextlib.suppress(OSError):
            super().store_string(string)


def colour_wanted() -> bool:
    """Colours unless NO_COLOR is set or the terminal is dumb."""
    return not os.environ.get("NO_COLOR") and not is_dumb_terminal()


def prompt_message(session: Session, colour: bool) -> str | FormattedText:
    """The session's prompt, lightly coloured when `colour`."""
    text = session.prompt()
    parts = _PROMPT.fullmatch(text) if colour else None
    if parts is None:
        return text
    return FormattedText(
        [(f"class:{cls}" if cls else "", part) for cls, part in zip(_PROMPT_CLASSES, parts.groups(), strict=True)]
    )


def ask(question: str) -> str | None:
    """A confirmation asked on the terminal (e.g. `YES` for a restore); None at Ctrl-D.

    Ctrl-C raises KeyboardInterrupt into the command, which the session reports as interrupted (130).
    """
    try:
        return prompt(question)
    except EOFError:
        return None


def run_repl(instance: Instance) -> int:
    """Read, run and show commands until `exit` or Ctrl-D; the status of `exit N`, else 0."""
    session = Session(instance, interactive=True, ask=ask)
    completer = ShellCompleter(session)
    colour = colour_wanted()
    reader: PromptSession[str] = PromptSession(
        history=ShellHistory(str(instance.var / HISTORY_FILE)),
        completer=completer,
        complete_while_typing=True,
        lexer=PygmentsLexer(ShellLexer) if colour else None,
        style=STYLE,
        include_default_pygments_style=False,
        key_bindings=shell_bindings(),
    )
    live = (sys.stdout, sys.stderr)
    while True:
        completer.refresh()
        try:
            line = reader.prompt(prompt_message(session, colour))
        except KeyboardInterrupt:
            continue  # Ctrl-C drops the line being typed
        except EOFError:
            return 0
        if not line.strip():
            continue  # an empty line does nothing; it never repeats the last command
        try:
            result = session.execute(line, live=live)
        except KeyboardInterrupt:
            # Ctrl-C landed outside the command itself (the session reports those inside as `interrupted`).
            sys.stderr.write("\n")
            continue
        if result.stop:
            return result.session_status if result.session_status is not None else 0
