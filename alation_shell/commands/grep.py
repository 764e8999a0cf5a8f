"""`grep`: GNU grep in the C locale over files in the instance or what is piped in.

POSIX basic (default, -G) and extended (-E) regular expressions are translated to Python's `re` as GNU reads
them (a leading `*` is literal, `\\+`, `\\?`, `\\|` are GNU's extensions of basic ones, an ERE `{` that does not
start an interval is literal, bracket expressions with `[:class:]`), or fixed strings with -F. Exit status 0
when a line is selected, 1 when none is, 2 on an error, as GNU grep.
"""

from __future__ import annotations

import re

from alation_shell.commands.base import Context
from alation_shell.commands.text import decode, inputs, options, read_operand, shown_name
from alation_shell.errors import ShellError, UsageError

ERROR = 2
_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9",
    "graph": "\\x21-\\x7e", "lower": "a-z", "print": "\\x20-\\x7e",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), "space": " \\t\\n\\r\\f\\v", "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}
_WORD = "[0-9A-Za-z_]"


class BadPattern(ShellError):
    exit_code = ERROR


def grep(ctx: Context, args: list[str]) -> int:
    """Print the lines of each input that match PATTERN (see the module's docstring)."""
    opts, operands = options(
        args, "EFGHce:f:hilm:noqrRsvwx",
        ["extended-regexp", "fixed-strings", "basic-regexp", "with-filename", "no-filename", "count",
         "regexp=", "ignore-case", "files-with-matches", "max-count=", "line-number", "only-matching", "quiet",
         "silent", "no-messages", "invert-match", "word-regexp", "line-regexp", "color", "colour", "color=",
         "colour="],
        status=ERROR,
    )
    syntax = "G"
    patterns: list[str] = []
    flags: set[str] = set()
    names: bool | None = None
    most: int | None = None
    longs = {"--extended-regexp": "E", "--fixed-strings": "F", "--basic-regexp": "G", "--count": "c",
             "--ignore-case": "i", "--files-with-matches": "l", "--line-number": "n", "--only-matching": "o",
             "--quiet": "q", "--silent": "q", "--no-messages": "s", "--invert-match": "v", "--word-regexp": "w",
             "--line-regexp": "x"}
    for flag, value in opts:
        letter = longs.get(flag, flag[1:] if len(flag) == 2 else "")
        if letter in ("E", "F", "G"):
            syntax = letter
        elif flag in ("-e", "--regexp"):
            patterns.append(value)
        elif flag == "-f":
            raise UsageError("-f (patterns from a file) is not supported in this emulator", exit_code=ERROR)
        elif letter in ("r", "R"):
            raise UsageError(f"-{letter} (recursive search) is not supported in this emulator", exit_code=ERROR)
        elif letter in ("H", "h") or flag in ("--with-filename", "--no-filename"):
            names = letter == "H" or flag == "--with-filename"
        elif flag in ("-m", "--max-count"):
            if not value.lstrip("-").isdecimal():
                raise UsageError(f"invalid max count '{value}'", exit_code=ERROR)
            most = int(value)
        elif letter:
            flags.add(letter)
    if not patterns:
        if not operands:
            raise UsageError("a PATTERN is needed", exit_code=ERROR)
        patterns.append(operands.pop(0))
    matcher = compile_patterns([p for text in patterns for p in text.split("\n")], syntax, flags)
    sources = inputs(ctx, "grep", operands)
    if names is None:
        names = len(sources) > 1
    selected_any = error = False
    invert, count_only, list_only, quiet = "v" in flags, "c" in flags, "l" in flags, "q" in flags
    for operand in sources:
        data, reason = read_operand(ctx, operand)
        name = "(standard input)" if operand == "-" else operand
        if data is None:
            if "s" not in flags:
                ctx.err(f"grep: {name}: {reason}")
            error = True
            continue
        binary = b"\0" in data
        text = decode(data)
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        count = 0
        for number, line in enumerate(lines, 1):
            if most is not None and count >= most:
                break
            found = matcher.search(line) is not None
            if found == invert:
                continue
            count += 1
            selected_any = True
            if quiet:
                return 0
            if list_only:
                break
            if count_only or binary:
                continue
            prefix = (f"{name}:" if names else "") + (f"{number}:" if "n" in flags else "")
            if "o" in flags and not invert:
                for match in matcher.finditer(line):
                    if match.group():
                        ctx.out(prefix + match.group())
            elif "o" not in flags:
                ctx.out(prefix + line)
        if count_only:
            ctx.out((f"{name}:" if names else "") + str(count))
        elif list_only and count:
            ctx.out(name)
        elif binary and count and not quiet:
            ctx.err(f"grep: {shown_name(operand) if operand != '-' else name}: binary file matches")
    if error:
        return ERROR
    return 0 if selected_any else 1


def compile_patterns(patterns: list[str], syntax: str, flags: set[str]) -> re.Pattern[str]:
    """One Python regex for GNU grep's PATTERNS (any of them matches), with -i, -w and -x applied."""
    if syntax == "F":
        parts = [re.escape(p) for p in patterns]
    else:
        parts = [translate(p, extended=syntax == "E") for p in patterns]
    body = "|".join(f"(?:{p})" for p in parts)
    if "x" in flags:
        body = f"^(?:{body})$"
    elif "w" in flags:
        body = f"(?<!{_WORD})(?:{body})(?!{_WORD})"
    try:
        return re.compile(body, re.ASCII | (re.IGNORECASE if "i" in flags else 0))
    except re.error as exc:
        raise BadPattern(f"invalid regular expression: {exc}") from None


def translate(pattern: str, *, extended: bool) -> str:
    """A POSIX regular expression (basic, or extended with `extended`) as GNU grep reads it, in Python's syntax."""
    out: list[str] = []
    atom = -1  # where in `out` the last quantifiable atom starts (-1: none, a quantifier is literal there)
    quantified = False  # the last atom already has a quantifier (`a**` is `a*` in POSIX, an error in Python)
    groups: list[int] = []
    opened = 0
    i, n = 0, len(pattern)

    def add_atom(text: str) -> None:
        nonlocal atom, quantified
        atom = len(out)
        out.append(text)
        quantified = False

    def add_quantifier(text: str) -> None:
        nonlocal quantified
        if quantified:  # wrap the quantified atom so that Python accepts a second quantifier
            out[atom:] = ["(?:" + "".join(out[atom:]) + ")"]
        out.append(text)
        quantified = True

    def anchor_or_start(text: str) -> None:
        nonlocal atom, quantified
        out.append(text)
        atom, quantified = -1, False

    while i < n:
        c = pattern[i]
        if c == "[":
            text, i = _bracket(pattern, i)
            add_atom(text)
            continue
        if c == "\\":
            if i + 1 >= n:
                raise BadPattern("Trailing backslash")
            e = pattern[i + 1]
            i += 2
            if not extended and e in "(){}|+?":
                c, special = e, True
            else:
                if e in "123456789":
                    if int(e) > opened:
                        raise BadPattern("Invalid back reference")
                    add_atom("\\" + e)
                elif e == "<":
                    anchor_or_start(r"\b(?=\w)")
                elif e == ">":
                    anchor_or_start(r"\b(?<=\w)")
                elif e in "bB":
                    anchor_or_start("\\" + e)
                elif e in "wWsS":
                    add_atom("\\" + e)
                elif e == "`":
                    anchor_or_start(r"\A")
                elif e == "'":
                    anchor_or_start(r"\Z")
                else:
                    add_atom(re.escape(e))
                continue
        else:
            i += 1
            special = extended and c in "(){}|+?"
        if special and c == "(":
            groups.append(len(out))
            opened += 1
            anchor_or_start("(")
        elif special and c == ")":
            if not groups:
                if extended:
                    add_atom(r"\)")
                    continue
                raise BadPattern("Unmatched ) or \\)")
            start = groups.pop()
            out.append(")")
            atom, quantified = start, False
        elif special and c == "|":
            anchor_or_start("|")
        elif special and c == "{":
            interval, j = _interval(pattern, i, extended)
            if interval is None:
                add_atom(r"\{")
            elif atom >= 0:
                add_quantifier(interval)
                i = j
            else:
                i = j  # an interval at the start applies to nothing: GNU matches the empty string
        elif special and c in "+?" or c == "*":
            if atom < 0:
                add_atom(re.escape(c))
            else:
                add_quantifier(c)
        elif special and c == "}":
            add_atom(r"\}")
        elif c == "^" and (extended or atom < 0 and _at_start(out)):
            anchor_or_start("^")
        elif c == "$" and (extended or _at_end(pattern, i)):
            anchor_or_start("$")
        elif c == ".":
            add_atom(".")
        else:
            add_atom(re.escape(c))
    if groups:
        raise BadPattern("Unmatched ( or \\(")
    return "".join(out)


def _at_start(out: list[str]) -> bool:
    """A basic RE's `^` is an anchor at the start, after `\\(` or after `\\|`."""
    return not out or out[-1] in ("(", "|")


def _at_end(pattern: str, i: int) -> bool:
    """A basic RE's `$` (just read, `i` after it) is an anchor at the end, before `\\)` or before `\\|`."""
    return i == len(pattern) or pattern.startswith("\\)", i) or pattern.startswith("\\|", i)


def _interval(pattern: str, i: int, extended: bool) -> tuple[str | None, int]:
    """`{m,n}` starting after the `{` at `i - 1`: (Python's interval, index after it), or (None, i) for an ERE `{`
    that starts no interval (GNU reads it literally)."""
    close = "}" if extended else "\\}"
    end = pattern.find(close, i)
    body = pattern[i:end] if end >= 0 else ""
    low, comma, high = body.partition(",")
    valid = end >= 0 and (low.isdecimal() or (comma and not low)) and (not high or high.isdecimal())
    if not valid:
        if extended:
            return None, i
        raise BadPattern("Unmatched \\{" if end < 0 else "Invalid content of \\{\\}")
    if high and low and int(high) < int(low):
        raise BadPattern("Invalid content of \\{\\}")
    return "{" + body + "}", end + len(close)


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """The bracket expression starting at `i` as a Python class, and the index after it."""
    n = len(pattern)
    j = i + 1
    negate = j < n and pattern[j] == "^"
    if negate:
        j += 1
    items: list[str] = []
    first = True
    while True:
        if j >= n:
            raise BadPattern("Unmatched [, [^, [:, [., or [=")
        c = pattern[j]
        if c == "]" and not first:
            j += 1
            break
        first = False
        if c == "[" and j + 1 < n and pattern[j + 1] in ":=.":
            kind = pattern[j + 1]
            end = pattern.find(kind + "]", j + 2)
            if end < 0:
                raise BadPattern("Unmatched [, [^, [:, [., or [=")
            name = pattern[j + 2:end]
            j = end + 2
            if kind == ":":
                if name not in _CLASSES:
                    raise BadPattern("Invalid character class name")
                items.append(_CLASSES[name])
            else:
                items.append(re.escape(name))
            continue
        if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            low, high = c, pattern[j + 2]
            if ord(high) < ord(low):
                raise BadPattern("Invalid range end")
            items.append(re.escape(low) + "-" + re.escape(high))
            j += 3
            continue
        items.append(re.escape(c))
        j += 1
    return "[" + ("^" if negate else "") + "".join(items) + "]", j
