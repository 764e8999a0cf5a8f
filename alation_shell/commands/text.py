"""The small text tools procedures pipe through: `echo`, `cut`, `tr`, `wc`, `head`, `tail` (and `tail -f`),
`sort`, `uniq`, `tee`.

Each behaves as GNU coreutils (and bash's `echo`) in the C locale: same output, same exit status; messages
keep GNU's words on one line. Files are read inside the instance (`Instance.resolve`, as the file commands);
`-` or no FILE reads what is piped in. A command with nothing piped in does not read the terminal: it says
so (an emulator's limit), instead of waiting.
"""

from __future__ import annotations

import getopt
import os
import time
from collections.abc import Callable

from alation_shell.commands.base import Context, whole_number
from alation_shell.commands.files import _expand, _open_file
from alation_shell.display import clipped, printable, quote_always
from alation_shell.errors import ShellError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

STDIN_NAME = "standard input"
CHUNK = 1 << 16
FOLLOW_INTERVAL = 1.0  # GNU tail's default for -s


class NoInput(ShellError):
    """Nothing is piped in and no FILE is named: the emulator does not read the terminal."""


# Shared: options, input, lines -----------------------------------------------------------------
def options(
    args: list[str], short: str, long: list[str], *, status: int = 1
) -> tuple[list[tuple[str, str]], list[str]]:
    """GNU getopt_long (options may follow operands; `--` ends them); errors in GNU's words, exit `status`."""
    try:
        return getopt.gnu_getopt(args, short, long)
    except getopt.GetoptError as exc:
        name = exc.opt
        if len(name) > 1 or "--" in exc.msg:
            if "requires" in exc.msg:
                message = f"option '--{name}' requires an argument"
            elif "must not" in exc.msg:
                message = f"option '--{name}' doesn't allow an argument"
            elif "unique" in exc.msg:
                message = f"option '--{name}' is ambiguous"
            else:
                message = f"unrecognized option '--{name}'"
        elif "requires" in exc.msg:
            message = f"option requires an argument -- '{name}'"
        else:
            message = f"invalid option -- '{name}'"
        raise UsageError(message, exit_code=status) from None


def _no_input(prog: str) -> NoInput:
    return NoInput(f"nothing is piped in and no FILE is given (this emulator does not read the terminal: "
                   f"pipe text in, e.g. `cat FILE | {prog}`, or give a FILE)")


def read_stdin(ctx: Context, prog: str) -> str:
    """What is piped into the command; NoInput when nothing is."""
    if ctx.stdin is None:
        raise _no_input(prog)
    return ctx.stdin


def read_operand(ctx: Context, operand: str) -> tuple[bytes | None, str]:
    """A FILE operand's bytes (`-`: what is piped in), or None and why not (`No such file or directory`)."""
    if operand == "-":
        if ctx.stdin is None:
            return None, "nothing is piped in"
        return ctx.stdin.encode("utf-8", errors="replace"), ""
    real, reason = _open_file(ctx, operand)
    if real is None:
        return None, reason
    try:
        with open(real, "rb") as f:
            return f.read(), ""
    except OSError as exc:
        return None, exc.strerror or str(exc)


def inputs(ctx: Context, prog: str, operands: list[str]) -> list[str]:
    """The inputs a tool reads: its FILE operands (globs expanded in the instance), else `-` (what is piped in)."""
    if not operands:
        if ctx.stdin is None:
            raise _no_input(prog)
        return ["-"]
    if "-" in operands and ctx.stdin is None:
        raise _no_input(prog)
    return _expand(ctx, operands)


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """Lines without their newlines; a last line without one still counts, as coreutils read it."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def lines_kept(data: bytes) -> list[bytes]:
    """Lines with their newlines (only `\\n` ends a line, as in coreutils; bytes.splitlines also splits at `\\r`)."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def shown_name(operand: str) -> str:
    return STDIN_NAME if operand == "-" else printable(operand)


def _count(text: str, what: str, prog: str, *, signed: bool = False) -> int:
    """A count option's value (`-n 5`, `-n -5` when `signed`); GNU's message otherwise."""
    body = text[1:] if signed and text[:1] in "+-" else text
    number = whole_number(body)
    if number is None:
        too_large = body.isascii() and body.isdecimal()
        raise UsageError(f"invalid number of {what}: {quote_always(clipped(text, 40))}"
                         + (": Value too large for defined data type" if too_large else ""), exit_code=1)
    return number


# echo -------------------------------------------------------------------------------------------
_ECHO_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                 "v": "\v", "\\": "\\"}


def echo(ctx: Context, args: list[str]) -> int:
    """bash's echo: arguments joined by spaces; `-n` no newline, `-e` backslash escapes, `-E` none."""
    newline, escapes = True, False
    while args and len(args[0]) > 1 and args[0][0] == "-" and set(args[0][1:]) <= set("neE"):
        for flag in args[0][1:]:
            if flag == "n":
                newline = False
            else:
                escapes = flag == "e"
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stopped = _echo_escapes(text)
        if stopped:
            ctx.stdout.write(text)
            return 0
    ctx.stdout.write(text + ("\n" if newline else ""))
    return 0


def _echo_escapes(text: str) -> tuple[str, bool]:
    """Interpret echo -e's escapes; (text, whether `\\c` stopped the output)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        i += 2
        if e in _ECHO_ESCAPES:
            out.append(_ECHO_ESCAPES[e])
        elif e == "c":
            return "".join(out), True
        elif e == "0":
            digits = _take(text, i, "01234567", 3)
            out.append(chr(int(digits or "0", 8) & 0xFF))
            i += len(digits)
        elif e in "xuU":
            digits = _take(text, i, "0123456789abcdefABCDEF", {"x": 2, "u": 4, "U": 8}[e])
            if not digits:
                out.append("\\" + e)
                continue
            value = int(digits, 16)
            out.append(chr(value) if value < 0x110000 else "\ufffd")
            i += len(digits)
        else:
            out.append("\\" + e)
    return "".join(out), False


def _take(text: str, i: int, allowed: str, most: int) -> str:
    j = i
    while j < len(text) and j - i < most and text[j] in allowed:
        j += 1
    return text[i:j]


# cut --------------------------------------------------------------------------------------------
def cut(ctx: Context, args: list[str]) -> int:
    """Print selected fields (-f, with -d), characters (-c) or bytes (-b) of each line."""
    opts, operands = options(args, "b:c:d:f:ns", ["bytes=", "characters=", "fields=", "delimiter=",
                                                    "only-delimited", "complement", "output-delimiter="])
    mode = spec = None
    delimiter: str | None = None
    only_delimited = complement = False
    out_delimiter: str | None = None
    for flag, value in opts:
        if flag in ("-b", "--bytes", "-c", "--characters", "-f", "--fields"):
            if mode is not None:
                raise UsageError("only one list may be specified", exit_code=1)
            mode, spec = flag.lstrip("-")[0], value
        elif flag in ("-d", "--delimiter"):
            if len(value) != 1:
                raise UsageError("the delimiter must be a single character", exit_code=1)
            delimiter = value
        elif flag in ("-s", "--only-delimited"):
            only_delimited = True
        elif flag == "--complement":
            complement = True
        elif flag == "--output-delimiter":
            out_delimiter = value
    if mode is None or spec is None:
        raise UsageError("you must specify a list of bytes, characters, or fields", exit_code=1)
    if mode != "f" and delimiter is not None:
        raise UsageError("an input delimiter may be specified only when operating on fields", exit_code=1)
    if mode != "f" and only_delimited:
        raise UsageError("suppressing non-delimited lines makes sense only when operating on fields", exit_code=1)
    ranges = _cut_ranges(spec, "fields" if mode == "f" else "byte/character positions")
    delimiter = "\t" if delimiter is None else delimiter
    status = 0
    for operand in inputs(ctx, "cut", operands):
        data, reason = read_operand(ctx, operand)
        if data is None:
            ctx.err(f"cut: {operand}: {reason}")
            status = 1
            continue
        for line in split_lines(decode(data)):
            if mode == "f":
                if delimiter not in line:
                    if not only_delimited:
                        ctx.out(line)
                    continue
                parts = line.split(delimiter)
                chosen = [p for i, p in enumerate(parts, 1) if _selected(ranges, i) != complement]
                ctx.out((delimiter if out_delimiter is None else out_delimiter).join(chosen))
            else:
                ctx.out(_cut_positions(line, ranges, complement, out_delimiter))
    return status


def _cut_ranges(spec: str, what: str) -> list[tuple[int, int]]:
    """`1,3-4,6-` as sorted (first, last) pairs, 1-based and inclusive (last 0: to the end of the line)."""
    ranges = []
    for item in spec.replace(" ", ",").split(","):
        if not item:
            raise UsageError(f"{what} are numbered from 1", exit_code=1)
        first_text, dash, last_text = item.partition("-")
        for text in (first_text, last_text):
            if text and not text.isdecimal():
                raise UsageError(f"invalid {'field value' if what == 'fields' else 'byte/character position'} "
                                 f"'{item}'", exit_code=1)
        if not dash:
            first = last = int(first_text)
        else:
            if not first_text and not last_text:
                raise UsageError("invalid range with no endpoint: -", exit_code=1)
            first = int(first_text) if first_text else 1
            last = int(last_text) if last_text else 0
        if first == 0 or (dash and last_text and last == 0):
            raise UsageError(f"{what} are numbered from 1", exit_code=1)
        if last and last < first:
            raise UsageError("invalid decreasing range", exit_code=1)
        ranges.append((first, last))
    return sorted(ranges)


def _selected(ranges: list[tuple[int, int]], i: int) -> bool:
    return any(first <= i and (last == 0 or i <= last) for first, last in ranges)


def _cut_positions(line: str, ranges: list[tuple[int, int]], complement: bool, out_delimiter: str | None) -> str:
    keep = [_selected(ranges, i) != complement for i in range(1, len(line) + 1)]
    pieces: list[str] = []
    run: list[str] = []
    for char, kept in zip(line, keep, strict=True):
        if kept:
            run.append(char)
        elif run:
            pieces.append("".join(run))
            run = []
    if run:
        pieces.append("".join(run))
    return ("" if out_delimiter is None else out_delimiter).join(pieces)


# tr ---------------------------------------------------------------------------------------------
_CLASSES = {
    "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "blank": "\t ",
    "cntrl": "".join(map(chr, range(32))) + "\x7f",
    "digit": "0123456789",
    "graph": "".join(map(chr, range(33, 127))),
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "print": "".join(map(chr, range(32, 127))),
    "punct": "".join(c for c in map(chr, range(33, 127)) if not c.isalnum()),
    "space": "\t\n\v\f\r ",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "xdigit": "0123456789ABCDEFabcdef",
}
_TR_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def tr(ctx: Context, args: list[str]) -> int:
    """Translate, squeeze (-s) or delete (-d) characters of what is piped in (-c: the complement of SET1)."""
    opts, operands = options(args, "cCdst", ["complement", "delete", "squeeze-repeats", "truncate-set1"])
    flags = {f.lstrip("-")[0] for f, _ in opts}
    complement, delete, squeeze, truncate = ("c" in flags or "C" in flags), "d" in flags, "s" in flags, "t" in flags
    wanted = 2 if (not delete and not squeeze) or (delete and squeeze) else 1
    if not operands:
        raise UsageError("missing operand", exit_code=1)
    if len(operands) < wanted:
        why = ("two strings must be given when translating" if not delete and not squeeze
               else "two strings must be given when both deleting and squeezing repeats")
        raise UsageError(f"missing operand after '{operands[-1]}': {why}", exit_code=1)
    if len(operands) > 2 or (len(operands) == 2 and delete and not squeeze):
        extra = operands[2] if len(operands) > 2 else operands[1]
        hint = ": only one string may be given when deleting without squeezing repeats" if delete else ""
        raise UsageError(f"extra operand '{extra}'{hint}", exit_code=1)
    set1 = _tr_set(operands[0], first=True)
    set2 = _tr_set(operands[1], first=False) if len(operands) > 1 else None
    text = read_stdin(ctx, "tr")
    member = set("".join(c for c, _ in set1))
    in_set1: Callable[[str], bool] = (lambda ch: ch not in member) if complement else member.__contains__
    if delete:
        text = "".join(ch for ch in text if not in_set1(ch))
        if squeeze and set2 is not None:
            text = _squeeze(text, set("".join(c for c, _ in set2)).__contains__)
    elif squeeze and set2 is None:
        text = _squeeze(text, in_set1)
    else:
        assert set2 is not None
        translate = _translator(set1, set2, complement, truncate)
        text = "".join(map(translate, text))
        if squeeze:
            text = _squeeze(text, set("".join(c for c, _ in _fill(set1, set2, complement))).__contains__)
    ctx.stdout.write(text)
    return 0


def _squeeze(text: str, squeezed: Callable[[str], bool]) -> str:
    out: list[str] = []
    for ch in text:
        if out and out[-1] == ch and squeezed(ch):
            continue
        out.append(ch)
    return "".join(out)


def _tr_set(spec: str, *, first: bool) -> list[tuple[str, str]]:
    """A SET as (characters, kind) items: kind "" for literals and ranges, a class name, or "*N" / "*" repeats."""
    items: list[tuple[str, str]] = []
    chars = _tr_unescape(spec)
    i, n = 0, len(chars)
    while i < n:
        c, literal = chars[i]
        if c == "[" and not literal and i + 1 < n:
            close = _tr_bracket(chars, i)
            if close is not None:
                inner = "".join(ch for ch, _ in chars[i + 1:close])
                if inner.startswith(":") and inner.endswith(":") and len(inner) > 2:
                    name = inner[1:-1]
                    if name not in _CLASSES:
                        raise ShellError(f"invalid character class '{name}'")
                    items.append((_CLASSES[name], name))
                elif inner.startswith("=") and inner.endswith("=") and len(inner) == 3:
                    items.append((inner[1], ""))
                elif len(inner) >= 2 and inner[1] == "*":
                    if first:
                        raise ShellError("the [c*] repeat construct may not appear in string1")
                    count = inner[2:]
                    if count and not count.isdecimal():
                        raise ShellError(f"invalid repeat count '{count}' in [c*n] construct")
                    number = int(count, 8 if count.startswith("0") else 10) if count else 0
                    items.append((inner[0], "*") if number == 0 else (inner[0] * number, f"*{number}"))
                else:
                    close = None
                if close is not None:
                    i = close + 1
                    continue
        if i + 2 < n and chars[i + 1] == ("-", False):
            low, high = c, chars[i + 2][0]
            if ord(high) < ord(low):
                raise ShellError(f"range-endpoints of '{low}-{high}' are in reverse collating sequence order")
            items.append(("".join(map(chr, range(ord(low), ord(high) + 1))), ""))
            i += 3
            continue
        items.append((c, ""))
        i += 1
    return items


def _tr_bracket(chars: list[tuple[str, bool]], i: int) -> int | None:
    """Index of the `]` closing a `[:class:]`, `[=c=]` or `[c*n]` opened at `i`, if any."""
    for j in range(i + 2, min(len(chars), i + 64)):
        if chars[j] == ("]", False):
            return j
    return None


def _tr_unescape(spec: str) -> list[tuple[str, bool]]:
    """The SET's characters, each with whether it was escaped (an escaped `-` or `[` is literal)."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(spec)
    while i < n:
        c = spec[i]
        if c != "\\" or i + 1 >= n:
            out.append((c, False))
            i += 1
            continue
        e = spec[i + 1]
        if e in "01234567":
            digits = _take(spec, i + 1, "01234567", 3)
            out.append((chr(int(digits, 8) & 0xFF), True))
            i += 1 + len(digits)
        else:
            out.append((_TR_ESCAPES.get(e, e), True))
            i += 2
    return out


def _fill(set1: list[tuple[str, str]], set2: list[tuple[str, str]], complement: bool) -> list[tuple[str, str]]:
    """SET2 with its `[c*]` repeats filled to SET1's length."""
    length = 256 - len(set("".join(c for c, _ in set1))) if complement else sum(len(c) for c, _ in set1)
    fixed = sum(len(c) for c, kind in set2 if kind != "*")
    return [((c[:1] * max(length - fixed, 0)) if kind == "*" else c, kind) for c, kind in set2]


def _translator(set1: list[tuple[str, str]], set2: list[tuple[str, str]], complement: bool,
                truncate: bool) -> Callable[[str], str]:
    """What each character becomes: SET1's n-th character becomes SET2's n-th (SET2 padded with its last)."""
    for i, (_, kind) in enumerate(set2):
        if kind in _CLASSES and not (i < len(set1) and {kind, set1[i][1]} == {"upper", "lower"}):
            raise ShellError("when translating, the only character classes that may appear in string2 are "
                             "'upper' and 'lower'")
    target = "".join(c for c, _ in _fill(set1, set2, complement))
    member = set("".join(c for c, _ in set1))
    listed = "".join(c for c, _ in set1)
    source = "".join(chr(b) for b in range(256) if chr(b) not in member) if complement else listed
    if not target:
        if truncate:
            return lambda ch: ch
        raise ShellError("when not truncating set1, string2 must be non-empty")
    if truncate:
        source = source[:len(target)]
    elif len(target) < len(source):
        target += target[-1] * (len(source) - len(target))
    table = dict(zip(source, target, strict=False))  # a character given twice in SET1 takes its last mapping
    if not complement or truncate:
        return lambda ch: table.get(ch, ch)
    beyond = target[len(source) - 1]  # characters past the C locale's 256 are in the complement, last in it
    return lambda ch: table.get(ch, ch if ch in member else beyond)


# wc ---------------------------------------------------------------------------------------------
def wc(ctx: Context, args: list[str]) -> int:
    """Count lines (-l), words (-w), characters (-m), bytes (-c), the longest line (-L); a total for several."""
    opts, operands = options(args, "clmwL", ["bytes", "chars", "lines", "words", "max-line-length"])
    names = {"-c": "c", "--bytes": "c", "-m": "m", "--chars": "m", "-l": "l", "--lines": "l", "-w": "w",
             "--words": "w", "-L": "L", "--max-line-length": "L"}
    chosen = {names[f] for f, _ in opts} or {"l", "w", "c"}
    order = [k for k in "lwmcL" if k in chosen]
    sources = inputs(ctx, "wc", operands)
    status = 0
    rows: list[tuple[list[int], str]] = []
    # GNU's column width: the digits of the regular files' total size, at least 7 with a pipe or a
    # directory among the inputs; 1 for a single count of a single input.
    regular_total, minimum = 0, 1
    for operand in sources:
        data, reason = read_operand(ctx, operand)
        if data is None:
            ctx.err(f"wc: {operand}: {reason}")
            status = 1
            if reason != "Is a directory":
                continue
            data, minimum = b"", 7
        elif operand == "-":
            minimum = 7
        else:
            regular_total += len(data)
        rows.append((_wc_counts(data, order), operand if operands else ""))
    single = len(order) == 1 and len(sources) == 1
    width = 1 if single else max(len(str(regular_total)), minimum)
    for counts, name in rows:
        ctx.out(" ".join(f"{n:>{width}}" for n in counts) + (f" {name}" if name else ""))
    if len(sources) > 1:
        totals = [max((counts[i] for counts, _ in rows), default=0) if kind == "L"
                  else sum(counts[i] for counts, _ in rows) for i, kind in enumerate(order)]
        ctx.out(" ".join(f"{n:>{width}}" for n in totals) + " total")
    return status


def _wc_counts(data: bytes, order: list[str]) -> list[int]:
    text = decode(data)
    counts = {
        "l": data.count(b"\n"),
        "w": len(data.split()),
        "c": len(data),
        "m": len(text),
        "L": max((len(line.expandtabs(8)) for line in text.split("\n")), default=0),
    }
    return [counts[k] for k in order]


# head and tail ----------------------------------------------------------------------------------
def head(ctx: Context, args: list[str]) -> int:
    """The first N lines (-n N, default 10; -n -N: all but the last N) or bytes (-c) of each input."""
    if args and len(args[0]) > 1 and args[0][0] == "-" and args[0][1:].isdecimal():
        args = ["-n", args[0][1:], *args[1:]]  # the obsolete `head -5`
    opts, operands = options(args, "c:n:qv", ["bytes=", "lines=", "quiet", "silent", "verbose"])
    count, unit, headers = 10, "lines", None
    for flag, value in opts:
        if flag in ("-n", "--lines", "-c", "--bytes"):
            unit = "lines" if flag in ("-n", "--lines") else "bytes"
            sign = value[:1] == "-"
            count = -_count(value, unit, "head", signed=True) if sign else _count(value, unit, "head", signed=True)
        elif flag in ("-q", "--quiet", "--silent"):
            headers = False
        else:
            headers = True
    sources = inputs(ctx, "head", operands)
    headers = len(sources) > 1 if headers is None else headers
    status = 0
    first = True
    for operand in sources:
        data, reason = read_operand(ctx, operand)
        if data is None:
            if reason == "Is a directory":
                ctx.err(f"head: error reading {quote_always(operand)}: {reason}")
            else:
                ctx.err(f"head: cannot open {quote_always(operand)} for reading: {reason}")
            status = 1
            continue
        if headers:
            ctx.stdout.write(("" if first else "\n") + f"==> {shown_name(operand)} <==\n")
        first = False
        if unit == "bytes":
            part = data[:count] if count >= 0 else data[:max(len(data) + count, 0)]
        else:
            lines = lines_kept(data)
            part = b"".join(lines[:count] if count >= 0 else lines[:max(len(lines) + count, 0)])
        ctx.stdout.write(decode(part))
    return status


def tail(ctx: Context, args: list[str]) -> int:
    """The last N lines (-n N, default 10; -n +K: from line K) or bytes (-c) of each input; -f follows the
    files as they grow until Ctrl-C."""
    if args and len(args[0]) > 1 and args[0][0] in "-+" and args[0][1:].isdecimal() and len(args) <= 2:
        args = ["-n", args[0] if args[0][0] == "+" else args[0][1:], *args[1:]]  # `tail -5`, `tail +2`
    opts, operands = options(args, "c:n:fFqvs:", ["bytes=", "lines=", "follow", "retry", "quiet", "silent",
                                                  "verbose", "sleep-interval="])
    count, unit, from_start, follow, headers, interval = 10, "lines", False, False, None, FOLLOW_INTERVAL
    for flag, value in opts:
        if flag in ("-n", "--lines", "-c", "--bytes"):
            unit = "lines" if flag in ("-n", "--lines") else "bytes"
            from_start = value.startswith("+")
            count = _count(value, unit, "tail", signed=True)
        elif flag in ("-f", "-F", "--follow"):
            follow = True
        elif flag in ("-q", "--quiet", "--silent"):
            headers = False
        elif flag in ("-v", "--verbose"):
            headers = True
        elif flag in ("-s", "--sleep-interval"):
            try:
                interval = float(value)
            except ValueError:
                raise UsageError(f"invalid number of seconds: '{value}'", exit_code=1) from None
            if not 0 <= interval <= 86400:
                raise UsageError(f"invalid number of seconds: '{value}'", exit_code=1)
    sources = inputs(ctx, "tail", operands)
    headers = len(sources) > 1 if headers is None else headers
    status = 0
    followed: list[tuple[str, BinaryIO]] = []
    first = True
    for operand in sources:
        if operand == "-":
            data = read_stdin(ctx, "tail").encode("utf-8", errors="replace")
            part = _tail_bytes(data, count, unit, from_start)
            handle = None
        else:
            real, reason = _open_file(ctx, operand)
            if real is None:
                what = "error reading {}" if reason == "Is a directory" else "cannot open {} for reading"
                ctx.err(f"tail: {what.format(quote_always(operand))}: {reason}")
                status = 1
                continue
            handle = open(real, "rb")  # noqa: SIM115 - kept open to follow it
            part = b""
        if headers:
            ctx.stdout.write(("" if first else "\n") + f"==> {shown_name(operand)} <==\n")
        first = False
        if handle is None:
            ctx.stdout.write(decode(part))
        else:
            _copy_out(ctx, handle, _tail_start(handle, count, unit, from_start))  # streamed: leaves it at its end
            if follow:
                followed.append((operand, handle))
            else:
                handle.close()
    if follow and followed:
        return _follow(ctx, followed, interval, headers)
    return status


def _tail_bytes(data: bytes, count: int, unit: str, from_start: bool) -> bytes:
    if unit == "bytes":
        return data[max(count - 1, 0):] if from_start else (data[-count:] if count else b"")
    lines = lines_kept(data)
    return b"".join(lines[max(count - 1, 0):] if from_start else (lines[-count:] if count else []))


def _tail_start(f: BinaryIO, count: int, unit: str, from_start: bool) -> int:
    """Where the tail of an open file starts (`-n`/`-c`, `+N` from the start), found without keeping any of it."""
    if unit == "bytes":
        return max(count - 1, 0) if from_start else max(f.seek(0, os.SEEK_END) - count, 0)
    return _line_offset(f, count) if from_start else _last_lines_offset(f, count)


def _last_lines_offset(f, count: int) -> int:  # noqa: ANN001 - a binary file
    """Where the last `count` lines start: found by reading backwards from the end in blocks, keeping none of
    them, so a big log costs only its tail (and a file without newlines one pass, not one per block)."""
    end = f.seek(0, os.SEEK_END)
    if count == 0:
        return end
    pos, newlines = end, 0
    while pos > 0:
        step = min(CHUNK, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        stop = len(block) - 1 if pos + step == end else len(block)  # a final newline ends the last line
        while (stop := block.rfind(b"\n", 0, stop)) >= 0:
            newlines += 1
            if newlines == count:
                return pos + stop + 1
    return 0


def _line_offset(f, first: int) -> int:  # noqa: ANN001 - a binary file
    """Where line `first` (1-based; 0 counts as 1) starts, or the end of the file; read in blocks."""
    skip = max(first - 1, 0)
    pos = 0
    while skip:
        block = f.read(CHUNK)
        if not block:
            return pos
        start = 0
        while skip and (found := block.find(b"\n", start)) >= 0:
            skip -= 1
            start = found + 1
        pos += start if not skip else len(block)
    return pos


def _copy_out(ctx: Context, f, start: int) -> None:  # noqa: ANN001 - a binary file
    """The file from `start` to its end, block by block; bytes that are not UTF-8 print as U+FFFD."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    f.seek(start)
    while block := f.read(CHUNK):
        ctx.stdout.write(decoder.decode(block))
    ctx.stdout.write(decoder.decode(b"", final=True))



def _follow(ctx: Context, files: list[tuple[str, BinaryIO]], interval: float, headers: bool) -> int:
    """Print what is appended to the open files until Ctrl-C (GNU's `tail -f`: it follows the file it opened,
    even if renamed); a file that shrinks is read again from its start. Ends with 130, as bash reports it."""
    last = files[-1][0]
    try:
        while not ctx.cancel.cancelled:  # Ctrl-C in the REPL, over SSH, or a client gone
            for name, f in files:
                position = f.tell()
                size = os.fstat(f.fileno()).st_size
                if size < position:
                    ctx.err(f"tail: {name}: file truncated")
                    f.seek(0)
                data = f.read()
                if not data:
                    continue
                if headers and name != last:
                    ctx.stdout.write(f"\n==> {name} <==\n")
                    last = name
                ctx.stdout.write(decode(data))
            time.sleep(interval)
        return 130
    except KeyboardInterrupt:
        return 130
    finally:
        for _, f in files:
            f.close()


# sort -------------------------------------------------------------------------------------------
class _Key:
    """A sort key (`-k F[.C][OPTS][,F[.C][OPTS]]`), GNU's fields: start/end word and char, options."""

    __slots__ = ("sword", "schar", "eword", "echar", "opts")

    def __init__(self, sword: int | None, schar: int, eword: int | None, echar: int, opts: set[str]) -> None:
        self.sword = sword  # None: from the start of the line
        self.schar = schar
        self.eword = eword  # None: to the end of the line
        self.echar = echar
        self.opts = opts


_SORT_OPTIONS = frozenset("bdfnr")


def sort(ctx: Context, args: list[str]) -> int:
    """Sort lines (bytewise, the C locale): -n numbers, -r reversed, -u unique, -f fold case, -b, -d,
    -k keys and -t the field separator, -s stable."""
    opts, operands = options(args, "bdfnrsuk:t:", ["ignore-leading-blanks", "dictionary-order", "ignore-case",
                                                   "numeric-sort", "reverse", "stable", "unique", "key=",
                                                   "field-separator="], status=2)
    flags: set[str] = set()
    keys: list[_Key] = []
    separator: str | None = None
    longs = {"--ignore-leading-blanks": "b", "--dictionary-order": "d", "--ignore-case": "f",
             "--numeric-sort": "n", "--reverse": "r", "--stable": "s", "--unique": "u"}
    for flag, value in opts:
        if flag in ("-k", "--key"):
            keys.append(_sort_key(value))
        elif flag in ("-t", "--field-separator"):
            if len(value) != 1:
                raise UsageError(f"multi-character tab '{value}'" if value else "empty tab", exit_code=2)
            separator = value
        else:
            flags.add(longs.get(flag, flag[1:]))
    global_opts = flags & _SORT_OPTIONS
    for key in keys:
        if not key.opts:
            key.opts = set(global_opts)
    if not keys and global_opts - {"r"}:
        keys = [_Key(None, 0, None, 0, set(global_opts))]
    lines: list[str] = []
    for operand in inputs(ctx, "sort", operands):
        data, reason = read_operand(ctx, operand)
        if data is None:
            raise ShellError(f"cannot read: {operand}: {reason}" if reason != "Is a directory"
                             else f"read failed: {operand}: {reason}", exit_code=2)
        lines.extend(split_lines(decode(data)))
    import functools

    reverse, unique, stable = "r" in flags, "u" in flags, "s" in flags

    def compare(a: str, b: str) -> int:
        if keys:
            diff = _key_compare(a, b, keys, separator)
            if diff or unique or stable:
                return diff
        diff = (a > b) - (a < b)
        return -diff if reverse else diff

    ordered = sorted(lines, key=functools.cmp_to_key(compare))
    if unique:
        kept: list[str] = []
        for line in ordered:
            if not kept or compare(kept[-1], line) != 0:
                kept.append(line)
        ordered = kept
    if ordered:
        ctx.stdout.write("\n".join(ordered) + "\n")
    return 0


def _sort_key(spec: str) -> _Key:
    def bad(why: str) -> UsageError:
        return UsageError(f"{why}: invalid field specification '{spec}'", exit_code=2)

    def position(text: str, *, start: bool) -> tuple[int, int, set[str], str]:
        digits = _take(text, 0, "0123456789", 20)
        if not digits:
            raise bad("invalid number at field start" if start else "invalid number after ','")
        word, rest = int(digits), text[len(digits):]
        char = 0
        if rest.startswith("."):
            cdigits = _take(rest, 1, "0123456789", 20)
            if not cdigits:
                raise bad("invalid number after '.'")
            char, rest = int(cdigits), rest[1 + len(cdigits):]
            if start and char == 0:
                raise bad("character offset is zero")
        opts = set()
        while rest and rest[0] in "bdfgiMhnRrV":
            if rest[0] not in _SORT_OPTIONS:
                raise UsageError(f"key option '{rest[0]}' is not supported in this emulator", exit_code=2)
            opts.add(rest[0])
            rest = rest[1:]
        if word == 0:
            raise bad("field number is zero")
        return word, char, opts, rest

    first, _, second = spec.partition(",")
    sword, schar, opts, rest = position(first, start=True)
    if rest:
        raise bad("stray character in field spec")
    key = _Key(sword - 1, max(schar - 1, 0), None, 0, opts)
    if key.sword == 0 and key.schar == 0:
        key.sword = None
    if second:
        eword, echar, eopts, rest = position(second, start=False)
        if rest:
            raise bad("stray character in field spec")
        key.eword, key.echar = eword - 1, echar
        key.opts |= eopts
    return key


def _begfield(line: str, key: _Key, sep: str | None) -> int:
    ptr, lim = 0, len(line)
    if key.sword is None:
        if "b" in key.opts:
            while ptr < lim and line[ptr] in " \t":
                ptr += 1
        return ptr
    ptr = _skip_fields(line, key.sword, sep, end=False, keep_going=True)
    if "b" in key.opts:
        while ptr < lim and line[ptr] in " \t":
            ptr += 1
    return min(lim, ptr + key.schar)


def _limfield(line: str, key: _Key, sep: str | None) -> int:
    lim = len(line)
    if key.eword is None:
        return lim
    eword = key.eword + (1 if key.echar == 0 else 0)
    ptr = _skip_fields(line, eword, sep, end=True, keep_going=key.echar != 0)
    if key.echar:
        if "b" in key.opts:
            while ptr < lim and line[ptr] in " \t":
                ptr += 1
        ptr = min(lim, ptr + key.echar)
    return ptr


def _skip_fields(line: str, count: int, sep: str | None, *, end: bool, keep_going: bool) -> int:
    """Skip `count` fields as GNU sort does (begfield / limfield); the index reached."""
    ptr, lim = 0, len(line)
    while ptr < lim and count > 0:
        count -= 1
        if sep is not None:
            while ptr < lim and line[ptr] != sep:
                ptr += 1
            if ptr < lim and (not end or count or keep_going):
                ptr += 1
        else:
            while ptr < lim and line[ptr] in " \t":
                ptr += 1
            while ptr < lim and line[ptr] not in " \t":
                ptr += 1
    return ptr


def _key_compare(a: str, b: str, keys: list[_Key], sep: str | None) -> int:
    for key in keys:
        ka = a[_begfield(a, key, sep):max(_limfield(a, key, sep), _begfield(a, key, sep))]
        kb = b[_begfield(b, key, sep):max(_limfield(b, key, sep), _begfield(b, key, sep))]
        if "n" in key.opts:
            na, nb = _number(ka), _number(kb)
            diff = (na > nb) - (na < nb)
        else:
            if "d" in key.opts:
                ka = "".join(c for c in ka if c.isalnum() and c.isascii() or c in " \t")
                kb = "".join(c for c in kb if c.isalnum() and c.isascii() or c in " \t")
            if "f" in key.opts:
                ka, kb = _fold(ka), _fold(kb)
            diff = (ka > kb) - (ka < kb)
        if diff:
            return -diff if "r" in key.opts else diff
    return 0


def _fold(text: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in text)


def _number(text: str):  # noqa: ANN202 - a Decimal
    """The number a -n key starts with (blanks skipped; none is 0), as GNU's C-locale numeric compare."""
    from decimal import Decimal

    text = text.lstrip(" \t")
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    whole = _take(text, 0, "0123456789", len(text))
    fraction = ""
    if text[len(whole):len(whole) + 1] == ".":
        fraction = _take(text, len(whole) + 1, "0123456789", len(text))
    if not whole and not fraction:
        return Decimal(0)
    return Decimal(f"{sign}{whole or '0'}.{fraction or '0'}")


# uniq -------------------------------------------------------------------------------------------
def uniq(ctx: Context, args: list[str]) -> int:
    """Collapse adjacent equal lines: -c counts, -d only repeated, -u only unique, -i ignore case,
    -f N skip fields, -s N skip characters, -w N compare at most N characters."""
    opts, operands = options(args, "cdiuf:s:w:", ["count", "repeated", "ignore-case", "unique", "skip-fields=",
                                                  "skip-chars=", "check-chars="])
    flags: set[str] = set()
    skip_fields = skip_chars = 0
    width: int | None = None
    for flag, value in opts:
        if flag in ("-f", "--skip-fields"):
            skip_fields = _count(value, "fields to skip", "uniq")
        elif flag in ("-s", "--skip-chars"):
            skip_chars = _count(value, "bytes to skip", "uniq")
        elif flag in ("-w", "--check-chars"):
            width = _count(value, "bytes to compare", "uniq")
        else:
            flags.add({"--count": "c", "--repeated": "d", "--ignore-case": "i", "--unique": "u"}.get(flag, flag[1:]))
    if len(operands) > 1:
        raise UsageError("writing an OUTPUT file is not supported in this emulator: redirect instead "
                         "(uniq INPUT > OUTPUT)", exit_code=1)
    source = operands[0] if operands else "-"
    if source == "-":
        text = read_stdin(ctx, "uniq")
    else:
        source = _expand(ctx, [source])[0]
        data, reason = read_operand(ctx, source)
        if data is None:
            raise ShellError(f"{source}: {reason}")
        text = decode(data)

    def compared(line: str) -> str:
        i = 0
        for _ in range(skip_fields):
            while i < len(line) and line[i] in " \t":
                i += 1
            while i < len(line) and line[i] not in " \t":
                i += 1
        part = line[i + skip_chars:]
        if width is not None:
            part = part[:width]
        return part.lower() if "i" in flags else part

    groups: list[tuple[str, int]] = []
    previous: str | None = None
    for line in split_lines(text):
        key = compared(line)
        if groups and key == previous:
            groups[-1] = (groups[-1][0], groups[-1][1] + 1)
        else:
            groups.append((line, 1))
            previous = key
    for line, count in groups:
        if ("d" in flags and count == 1) or ("u" in flags and count > 1):
            continue
        ctx.out(f"{count:7d} {line}" if "c" in flags else line)
    return 0


# tee --------------------------------------------------------------------------------------------
def tee(ctx: Context, args: list[str]) -> int:
    """Copy what is piped in to standard output and to each FILE (in the instance); -a appends."""
    from alation_shell.pipeline import OutputFile

    opts, operands = options(args, "ai", ["append", "ignore-interrupts"])
    append = any(f in ("-a", "--append") for f, _ in opts)
    text = read_stdin(ctx, "tee")
    status = 0
    for operand in operands:
        try:
            target = OutputFile(ctx.session, operand, append=append)
            target.commit(text)
        except ShellError as exc:
            ctx.err(f"tee: {exc.message}")
            status = 1
        except OSError as exc:
            ctx.err(f"tee: {operand}: {exc.strerror or exc}")
            status = 1
    ctx.stdout.write(text)
    return status
