"""The command-line grammar: bash's syntax for the forms procedures use, parsed to a tiny tree. Pure: no I/O.

Supported: pipelines `a | b` (and `|&`), lists `a && b`, `a || b`, `a ; b` (a newline is a `;`), `! a`,
redirections (`<`, `>`, `>>`, `>|`, `&>`, `&>>`, `2>`, `2>>`, `2>&1`, `>&2`), comments, quoting as bash
(single, double, backslash, backslash-newline), and the parameters `$?`, `$HOME`, `$USER`, `$LOGNAME`, `$PWD`,
`$OLDPWD`, `$HOSTNAME` (also as `${NAME}`). Anything else bash would treat specially raises NotSupported
naming the construct, so that no command ever receives it as arguments. History expansion (`!!`, `!N`,
`!-N`, `!prefix`, `!$`) is `expand_history`, applied to an interactive line before it is parsed.

The tree: a Script is a list of AndOr; an AndOr is a first Pipeline and (operator, Pipeline) pairs; a
Pipeline is a list of Command; a Command has Words and Redirects. A Word is a list of parts, literal text
and parameters, expanded when the command runs (`a; echo $?` sees `a`'s status).
"""

from __future__ import annotations

from alation_shell.errors import ShellError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

PARAMETERS = frozenset({"?", "HOME", "USER", "LOGNAME", "PWD", "OLDPWD", "HOSTNAME"})
_METACHARS = frozenset(" \t\n|&;()<>")
_BLANKS = frozenset(" \t")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
# bash's reserved words, at the start of a command, and what they begin.
_RESERVED = {
    "if": "the if statement", "then": "the if statement", "elif": "the if statement",
    "else": "the if statement", "fi": "the if statement", "for": "the for loop", "while": "the while loop",
    "until": "the until loop", "do": "a loop", "done": "a loop", "select": "the select loop",
    "case": "the case statement", "esac": "the case statement", "function": "a function definition",
    "time": "the time keyword", "coproc": "a coprocess", "{": "command grouping { }",
    "}": "command grouping { }", "[[": "the [[ ]] conditional", "]]": "the [[ ]] conditional",
}
# Operators, longest first (the tokenizer takes the longest that matches).
_OPERATORS = (
    "&>>", "<<<", "<<-", ";;&", "||", "|&", "&&", "&>", ";;", ";&", "<<", "<>", "<&", "<(", ">>", ">&", ">|",
    ">(", "|", "&", ";", "(", ")", "<", ">",
)
_UNSUPPORTED_OPERATORS = {
    "&": "a background job (&)", "<<": "a here-document (<<)", "<<-": "a here-document (<<-)",
    "<<<": "a here-string (<<<)", "<>": "the <> redirection", "<&": "input duplication (<&)",
    "<(": "process substitution <(...)", ">(": "process substitution >(...)", "(": "a subshell ( )",
    ";;": "the case statement", ";&": "the case statement", ";;&": "the case statement",
}
_REDIRECTIONS = frozenset({">", ">>", ">|", "<", ">&", "&>", "&>>"})


class ShellSyntaxError(ShellError):
    """A line bash would refuse: `a |`, `&& b`, an unclosed quote. Nothing of the line runs."""

    exit_code = 2


class NotSupported(ShellError):
    """A construct bash has and this emulator does not run (command substitution, loops, ...)."""

    exit_code = 2

    def __init__(self, construct: str, hint: str = "") -> None:
        super().__init__(f"{construct} is not supported in this emulator{hint}")
        self.construct = construct


class HistoryError(ShellError):
    """`!5` when there is no 5th command: bash's `event not found`; the line does not run."""


# The tree ---------------------------------------------------------------------------------------
class Word:
    """One word: parts that are literal text (`str`) or a parameter to expand (`Parameter`)."""

    __slots__ = ("parts", "quoted")

    def __init__(self, parts: list[str | Parameter], quoted: bool) -> None:
        self.parts = parts
        self.quoted = quoted  # any quoting at all: `""` is a word, an unquoted empty expansion is not

    def literal(self) -> str | None:
        """The word's text when it has no parameters, else None."""
        texts = [p for p in self.parts if isinstance(p, str)]
        return "".join(texts) if len(texts) == len(self.parts) else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Word) and (self.parts, self.quoted) == (other.parts, other.quoted)

    def __repr__(self) -> str:
        return f"Word({self.parts!r})"


class Parameter:
    """`$NAME` or `${NAME}`; `quoted` inside double quotes (its value is then not split into words)."""

    __slots__ = ("name", "quoted")

    def __init__(self, name: str, quoted: bool) -> None:
        self.name = name
        self.quoted = quoted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameter) and (self.name, self.quoted) == (other.name, other.quoted)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, quoted={self.quoted})"


class Redirect:
    """`fd op target`: op is `<`, `>`, `>>`, `&>`, `&>>` (target a Word) or `>&` (target a file descriptor)."""

    __slots__ = ("fd", "op", "target")

    def __init__(self, fd: int, op: str, target: Word | int) -> None:
        self.fd = fd
        self.op = op
        self.target = target

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Redirect) and (self.fd, self.op, self.target) == (other.fd, other.op, other.target)

    def __repr__(self) -> str:
        return f"Redirect({self.fd}, {self.op!r}, {self.target!r})"


class Command:
    """A simple command: its words and its redirections, in the order given."""

    __slots__ = ("words", "redirects")

    def __init__(self, words: list[Word], redirects: list[Redirect]) -> None:
        self.words = words
        self.redirects = redirects

    def __repr__(self) -> str:
        return f"Command({self.words!r}, {self.redirects!r})"


class Pipeline:
    """`a | b | c`; `negated` for `! a`. `|&` shows as a `2>&1` on the command before it."""

    __slots__ = ("commands", "negated")

    def __init__(self, commands: list[Command], negated: bool = False) -> None:
        self.commands = commands
        self.negated = negated

    def __repr__(self) -> str:
        return f"Pipeline({self.commands!r}, negated={self.negated})"


class AndOr:
    """`p1 && p2 || p3`: the first pipeline and the (operator, pipeline) pairs after it."""

    __slots__ = ("first", "rest")

    def __init__(self, first: Pipeline, rest: list[tuple[str, Pipeline]]) -> None:
        self.first = first
        self.rest = rest

    def __repr__(self) -> str:
        return f"AndOr({self.first!r}, {self.rest!r})"


# Tokens -----------------------------------------------------------------------------------------
_WORD, _OP, _IO = "word", "op", "io"


class _Token:
    __slots__ = ("kind", "value", "word", "fd", "assignment")

    def __init__(self, kind: str, value: str, word: Word | None = None, fd: int = -1,
                 assignment: bool = False) -> None:
        self.kind = kind
        self.value = value  # an operator, or a word's unquoted source text (for reserved words)
        self.word = word
        self.fd = fd  # the descriptor before a redirection operator (`2>`), -1 when none was written
        self.assignment = assignment  # the word starts with an unquoted NAME=


def tokenize(line: str) -> Iterator[_Token]:
    """Split `line` into words and operators as bash does; raises ShellSyntaxError or NotSupported.

    A generator: the parser reads it token by token, so the first problem in reading order is the one reported.
    """
    tokens: list[_Token] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _BLANKS:
            i += 1
        elif c == "\\" and line.startswith("\\\n", i):
            i += 2  # a line continuation between words
        elif c == "#":
            end = line.find("\n", i)
            i = n if end < 0 else end
        elif c == "\n":
            tokens.append(_Token(_OP, "\n"))
            i += 1
        elif c in _METACHARS:
            op = next(o for o in _OPERATORS if line.startswith(o, i))
            tokens.append(_Token(_OP, op))
            i += len(op)
        else:
            i = _word(line, i, tokens)
        yield from tokens
        tokens.clear()


def _word(line: str, i: int, tokens: list[_Token]) -> int:
    """Read the word starting at `i` into `tokens`; returns where it ends."""
    n = len(line)
    parts: list[str | Parameter] = []
    text: list[str] = []  # literal text not yet added to parts
    plain: list[str] = []  # the word's unquoted characters (reserved words, assignments, braces)
    quoted = False
    start = i
    while i < n:
        c = line[i]
        if c in _METACHARS:
            break
        if c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("syntax error: unexpected end of line while looking for matching `''")
            text.append(line[i + 1:end])
            quoted = True
            plain.append("\0")
            i = end + 1
        elif c == '"':
            i = _double_quoted(line, i + 1, parts, text)
            quoted = True
            plain.append("\0")
        elif c == "\\":
            if i + 1 >= n:
                text.append("\\")  # a backslash ending the line stays, as in bash -c
                i += 1
            elif line[i + 1] == "\n":
                i += 2
            else:
                text.append(line[i + 1])
                plain.append("\0")
                quoted = True
                i += 2
        elif c == "$":
            i = _dollar(line, i, parts, text, quoted_context=False)
            plain.append("\0")
        elif c == "`":
            raise NotSupported("command substitution `...`")
        else:
            text.append(c)
            plain.append(c)
            i += 1
    if text:
        parts.append("".join(text))
    source = "".join(plain)
    _check_braces(source)
    # `2>file`: a word of digits right before a redirection is the descriptor it redirects.
    if i < n and line[i] in "<>" and source.isascii() and source.isdecimal() and len(source) < 10 \
            and i - start == len(source):
        tokens.append(_Token(_IO, source, fd=int(source)))
        return i
    merged: list[str | Parameter] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    name, eq, _ = source.partition("=")
    assignment = bool(eq) and bool(name) and name[0] in _NAME_START and set(name) <= _NAME_CHARS
    tokens.append(_Token(_WORD, source, Word(merged, quoted), assignment=assignment))
    return i


def _double_quoted(line: str, i: int, parts: list[str | Parameter], text: list[str]) -> int:
    """Read a double-quoted string from `i` (after the opening quote); returns the index after the closing one."""
    n = len(line)
    while i < n:
        c = line[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and line[i + 1] in '$`"\\\n':
            if line[i + 1] != "\n":
                text.append(line[i + 1])
            i += 2
        elif c == "$":
            i = _dollar(line, i, parts, text, quoted_context=True)
        elif c == "`":
            raise NotSupported("command substitution `...`")
        else:
            text.append(c)
            i += 1
    raise ShellSyntaxError('syntax error: unexpected end of line while looking for matching `"\'')


def _dollar(line: str, i: int, parts: list[str | Parameter], text: list[str], *, quoted_context: bool) -> int:
    """Read the expansion starting with the `$` at `i`; returns the index after it."""
    nxt = line[i + 1] if i + 1 < len(line) else ""
    if nxt == "(":
        raise NotSupported("arithmetic expansion $((...))" if line.startswith("((", i + 1)
                           else "command substitution $(...)")
    if nxt == "{":
        end = line.find("}", i + 2)
        if end < 0:
            raise ShellSyntaxError("syntax error: unexpected end of line while looking for matching `}'")
        name = line[i + 2:end]
        if name not in PARAMETERS:
            raise _unsupported_parameter("${" + name + "}")
        _add_parameter(parts, text, name, quoted_context)
        return end + 1
    if nxt == "?":
        _add_parameter(parts, text, "?", quoted_context)
        return i + 2
    if nxt in _NAME_START:
        j = i + 1
        while j < len(line) and line[j] in _NAME_CHARS:
            j += 1
        name = line[i + 1:j]
        if name not in PARAMETERS:
            raise _unsupported_parameter("$" + name)
        _add_parameter(parts, text, name, quoted_context)
        return j
    if nxt and (nxt in _DIGITS or nxt in "$!#@*-"):
        raise NotSupported(f"the special parameter ${nxt}")
    if nxt == "'" and not quoted_context:
        raise NotSupported("ANSI-C quoting $'...'")
    if nxt == '"' and not quoted_context:
        return i + 1  # $"..." (locale translation) is "..." in the C locale
    text.append("$")  # a `$` before anything else is literal
    return i + 1


def _unsupported_parameter(written: str) -> NotSupported:
    shown = ", ".join(sorted("$" + p for p in PARAMETERS))
    return NotSupported(f"{written}: variable expansion", f" (only {shown} are)")


def _add_parameter(parts: list[str | Parameter], text: list[str], name: str, quoted: bool) -> None:
    if text:
        parts.append("".join(text))
        text.clear()
    parts.append(Parameter(name, quoted))


def _check_braces(source: str) -> None:
    """Brace expansion (`{a,b}`, `{1..3}`) in a word's unquoted characters is refused; `{}` alone is literal."""
    open_at = source.find("{")
    while open_at >= 0:
        close_at = source.find("}", open_at)
        if close_at < 0:
            return
        inner = source[open_at + 1:close_at]
        if "," in inner or ".." in inner:
            raise NotSupported("brace expansion {...}")
        open_at = source.find("{", open_at + 1)


# Parser -----------------------------------------------------------------------------------------
def parse(line: str) -> list[AndOr]:
    """Parse a command line to its tree (an empty list for a blank or comment-only line)."""
    return _Parser(tokenize(line)).script()


class _Parser:
    def __init__(self, tokens: Iterator[_Token]) -> None:
        self.tokens = tokens
        self.next: _Token | None = None
        self.done = False

    def peek(self) -> _Token | None:
        if self.next is None and not self.done:
            self.next = next(self.tokens, None)
            self.done = self.next is None
        return self.next

    def take(self) -> _Token:
        token = self.peek()
        assert token is not None
        self.next = None
        return token

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == _OP and token.value in ops

    def script(self) -> list[AndOr]:
        items: list[AndOr] = []
        while True:
            while self.at_op("\n"):
                self.take()
            if self.peek() is None:
                return items
            items.append(self.and_or())
            token = self.peek()
            if token is None:
                return items
            if token.kind == _OP and token.value in (";", "\n"):
                self.take()
                continue
            raise self.unexpected(token)

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while self.at_op("&&", "||"):
            op = self.take().value
            self.skip_newlines(op)
            rest.append((op, self.pipeline()))
        return AndOr(first, rest)

    def pipeline(self) -> Pipeline:
        negated = False
        token = self.peek()
        if token is not None and token.kind == _WORD and token.value == "!":
            self.take()
            negated = True
        commands = [self.command()]
        while self.at_op("|", "|&"):
            op = self.take().value
            if op == "|&":
                commands[-1].redirects.append(Redirect(2, ">&", 1))
            self.skip_newlines(op)
            commands.append(self.command())
        return Pipeline(commands, negated)

    def skip_newlines(self, after: str) -> None:
        while self.at_op("\n"):
            self.take()
        if self.peek() is None:
            raise ShellSyntaxError(f"syntax error: unexpected end of line after `{after}'")

    def command(self) -> Command:
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            token = self.peek()
            if token is None:
                break
            if token.kind == _WORD:
                self.take()
                if not words:
                    if token.value in _RESERVED:
                        raise NotSupported(_RESERVED[token.value])
                    if self.at_op("("):
                        raise NotSupported("a function definition")
                    if token.assignment:
                        raise NotSupported(f"variable assignment ({token.value.split('=', 1)[0]}=...)")
                assert token.word is not None
                words.append(token.word)
            elif token.kind == _IO or (token.kind == _OP and token.value in _REDIRECTIONS):
                redirects.append(self.redirect())
            elif token.kind == _OP and token.value in _UNSUPPORTED_OPERATORS:
                raise NotSupported(_UNSUPPORTED_OPERATORS[token.value])
            else:
                break
        if not words and not redirects:
            raise self.unexpected(self.peek())
        return Command(words, redirects)

    def redirect(self) -> Redirect:
        token = self.take()
        fd = -1
        if token.kind == _IO:
            fd = token.fd
            token = self.take()  # the tokenizer makes an IO number only right before `<` or `>`
        op = token.value
        if op in _UNSUPPORTED_OPERATORS:
            raise NotSupported(_UNSUPPORTED_OPERATORS[op])
        if op not in _REDIRECTIONS:
            raise self.unexpected(token)
        if fd < 0:
            fd = 0 if op == "<" else 1
        if fd > 2:
            raise NotSupported(f"file descriptor {fd}")
        if (fd == 0) != (op == "<"):
            raise NotSupported(f"the redirection {fd}{op}")
        target = self.peek()
        if target is None:
            raise ShellSyntaxError("syntax error near unexpected token `newline'")
        if target.kind != _WORD:
            if target.value in _UNSUPPORTED_OPERATORS:
                raise NotSupported(_UNSUPPORTED_OPERATORS[target.value])
            raise self.unexpected(target)
        self.take()
        assert target.word is not None
        if op in (">|",):
            op = ">"
        if op == ">&":
            text = target.word.literal()
            if text in ("0", "1", "2"):
                return Redirect(fd, ">&", int(text))
            if text == "-":
                raise NotSupported("closing file descriptors (>&-)")
            if text is not None and text.isdecimal():
                raise NotSupported(f"file descriptor {text}")
            if fd != 1:
                raise ShellSyntaxError(f"{text}: ambiguous redirect")
            op = "&>"  # `>& FILE` is `&> FILE`
        if op in ("&>", "&>>") and fd != 1:
            raise self.unexpected(token)
        return Redirect(fd, op, target.word)

    def unexpected(self, token: _Token | None) -> ShellSyntaxError:
        if token is None:
            return ShellSyntaxError("syntax error: unexpected end of line")
        shown = "newline" if token.value == "\n" else token.value
        return ShellSyntaxError(f"syntax error near unexpected token `{shown}'")


# History expansion ------------------------------------------------------------------------------
_EVENT_END = frozenset(" \t\n;&|()<>'\"`:")


def expand_history(line: str, history: list[str]) -> tuple[str, bool]:
    """Expand bash's history references in `line`: `!!`, `!N`, `!-N`, `!prefix`, `!$`, `!^`, `!*`, and an
    event followed by a word designator (`!!:1`, `!-2:$`). Returns (line, whether anything was expanded);
    HistoryError (`!9: event not found`) when a reference matches nothing. As in bash, nothing is expanded
    inside single quotes or after a backslash, and a `!` before a blank, `=`, `(` or the end stays.
    """
    if "!" not in line:
        return line, False
    out: list[str] = []
    i, n = 0, len(line)
    in_single = in_double = False
    changed = False
    while i < n:
        c = line[i]
        if c == "\\" and not in_single and i + 1 < n:
            out.append(line[i:i + 2])
            i += 2
            continue
        if c == "'" and not in_double:
            in_single = not in_single
        elif c == '"' and not in_single:
            in_double = not in_double
        elif c == "!" and not in_single:
            nxt = line[i + 1] if i + 1 < n else ""
            if nxt and nxt not in " \t\n=(" and not (in_double and nxt == '"'):
                text, i = _history_reference(line, i, history)
                out.append(text)
                changed = True
                continue
        out.append(c)
        i += 1
    return "".join(out), changed


def _history_reference(line: str, i: int, history: list[str]) -> tuple[str, int]:
    """Expand the reference at `line[i]` (a `!`); returns its text and the index after it."""
    j = i + 1
    nxt = line[j]
    designator: str | None = None
    if nxt == "!":
        event, j = _event(history, len(history) - 1, "!!"), j + 1
    elif nxt in "$^*":
        event, designator, j = _event(history, len(history) - 1, "!" + nxt), nxt, j + 1
    elif nxt == "-" or nxt in _DIGITS:
        k = j + 1 if nxt == "-" else j
        while k < len(line) and line[k] in _DIGITS:
            k += 1
        number = line[j:k]
        if number == "-" or len(number) > 18:
            raise HistoryError(f"!{number}: event not found")
        index = int(number) if number[0] != "-" else len(history) + int(number) + 1
        event = _event(history, index - 1 if 0 < index <= len(history) else len(history), "!" + number)
        j = k
    else:
        k = j
        while k < len(line) and line[k] not in _EVENT_END:
            k += 1
        prefix = line[j:k]
        matches = [entry for entry in reversed(history) if entry.startswith(prefix)]
        if not matches:
            raise HistoryError(f"!{prefix}: event not found")
        event, j = matches[0], k
    if designator is None and j < len(line) and line[j] == ":" and j + 1 < len(line):
        mark = line[j + 1]
        if mark in "$^*" or mark in _DIGITS:
            k = j + 2
            while mark in _DIGITS and k < len(line) and line[k] in _DIGITS:
                k += 1
            designator, j = line[j + 1:k], k
    if designator is None:
        return event, j
    return _designate(event, designator, line[i:j]), j


def _event(history: list[str], index: int, shown: str) -> str:
    if not 0 <= index < len(history):
        raise HistoryError(f"{shown}: event not found")
    return history[index]


def _designate(event: str, designator: str, shown: str) -> str:
    """A word of `event` by bash's designators: `$` last, `^` first argument, `*` all arguments, `N` word N."""
    words = _history_words(event)
    if designator == "*":
        return " ".join(words[1:])
    index = {"$": len(words) - 1, "^": 1}.get(designator)
    if index is None:
        index = int(designator) if len(designator) <= 18 else len(words)  # a huge N is past the last word
    if not 0 <= index < len(words):
        raise HistoryError(f"{shown}: bad word specifier")
    return words[index]


def _history_words(event: str) -> list[str]:
    """`event` split into words as history sees them: quotes kept, operators as words of their own."""
    words: list[str] = []
    i, n = 0, len(event)
    while i < n:
        c = event[i]
        if c in _BLANKS:
            i += 1
            continue
        start = i
        if c in _METACHARS:
            op = next(o for o in _OPERATORS if event.startswith(o, i))
            i += len(op)
        else:
            while i < n and event[i] not in _METACHARS:
                if event[i] in "'\"":
                    end = event.find(event[i], i + 1)
                    i = n if end < 0 else end + 1
                elif event[i] == "\\":
                    i += 2
                else:
                    i += 1
        words.append(event[start:i])
    return words
