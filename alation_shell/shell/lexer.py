"""Syntax highlighting of shell lines (pygments): commands, parameter names, flags, values, comments."""

from __future__ import annotations

import functools

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
