"""Syntax highlighting of shell lines (pygments): commands, parameter names, flags, values, comments."""

from __future__ import annotations

from pygments.lexer import RegexLexer, default, words
from pygments.token import Comment, Keyword, Name, Number, String, Text, Whitespace

from alation_shell.commands import COMMANDS

_END = r"(?=[\s#]|$)"  # a word ends at a blank, a comment or the end of the line


class ShellLexer(RegexLexer):
    """One line of the Alation shell, split the way the session's shlex splits it."""

    name = "Alation shell"
    aliases = ["alation-shell"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*", Comment.Single),
            (words(sorted(COMMANDS, key=len, reverse=True), suffix=_END), Name.Builtin, "arguments"),
            (r"[^\s#'\"]+", Name, "arguments"),
            default("arguments"),
        ],
        "arguments": [
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
        ],
    }
