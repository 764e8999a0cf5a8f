"""Syntax highlighting of shell lines (pygments): commands, parameter names, flags, values, comments."""

from __future__ import annotations

import functools
import re

from pygments.lexer import RegexLexer, default, words
from pygments.token import Comment, Keyword, Name, Number, String, Text, Whitespace

from alation_shell.commands import COMMANDS, CommandTable

_END = r"(?=[\s#]|$)"  # a word ends at a blank, a comment or the end of the line

_ARGUMENTS = [
    (r"\n", Whitespace, "#pop"),
    (r"\s+", Whitespace),
    (r"#.*", Comment.Single),
    (r"'[^']*'?", String.Single),
    (r'"(?:\\.|[^"\\])*"?', String.Double),
    (r"--?[A-Za-z][\w-]*" + _END, Name.Attribute),
    (r"(?i:true|false)" + _END, Keyword.Constant),
    (r"[-+]?\d+" + _END, Number.Integer),
    (r"[A-Za-z_][\w-]*(?:\.[\w-]+)+" + _END, Name.Variable),
    (r"/[^\s#'\"]*", String.Other),
    (r"[^\s#'\"]+", Text),
]


@functools.cache
def lexer_for(table: CommandTable) -> type[RegexLexer]:
    """A lexer of lines of a session running `table`'s commands (those are marked as commands), one per table."""

    class ShellLexer(RegexLexer):
        """One line of the shell, split the way the session's shlex splits it."""

        name = "Alation shell"
        aliases = ["alation-shell"]

        tokens = {
            "root": [
                (r"\s+", Whitespace),
                (r"#.*", Comment.Single),
                (words(sorted(table, key=len, reverse=True), suffix=_END), Name.Builtin, "arguments"),
                (r"[^\s#'\"]+", Name, "arguments"),
                default("arguments"),
            ],
            "arguments": _ARGUMENTS,
        }

    return ShellLexer


ShellLexer = lexer_for(COMMANDS)
"""The lexer of the Alation shell's lines."""


STYLE_RULES = {
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
"""The shell's colours, as prompt_toolkit style strings (the local REPL's Style and the SSH editor read them)."""

# The parts of `Session.prompt()`: `(env) DEMO [alationadmin@alation-demo /]$ `.
_PROMPT = re.compile(r"(\(env\) )(\S+)( \[)([^\s\]]+)( )([^\]]*)(\][$#] )")
_PROMPT_CLASSES = ("prompt.env", "prompt.label", "", "prompt.user", "", "prompt.cwd", "")


def prompt_parts(text: str) -> list[tuple[str, str]] | None:
    """The session prompt `text` as (style class, part) pairs ("" for uncoloured parts); None if it is not one
    of the shell's prompts."""
    parts = _PROMPT.fullmatch(text)
    if parts is None:
        return None
    return list(zip(_PROMPT_CLASSES, parts.groups(), strict=True))
