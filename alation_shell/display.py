"""Names and messages as the operator sees them: nothing shown can drive their terminal.

File names are quoted as GNU coreutils quotes them (gnulib's quotearg, `--quoting-style=shell-escape`): as is
when a shell would read them back so, else in single quotes, with control characters written `$'\\n'`,
`$'\\033'`, so that a name holding ESC or a newline shows as text on one line and can be pasted back.
"""

from __future__ import annotations

# Characters a shell treats specially anywhere in a word: a name holding one is quoted.
_SPECIAL = frozenset(" !\"$&'()*;<=>?[\\^`|")
# Characters that rule out writing a name holding a single quote as "..." (gnulib: not C-and-shell compatible).
_NOT_IN_DOUBLE = frozenset("!\"$&()*;<=>?[\\^`|{}")
_LETTER_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(name: str) -> str:
    """`name` as GNU ls shows it on a terminal: `a.txt`, `'a b'`, `"it's"`, `'a'$'\\033''b'`."""
    return _quote(name, always=False)


def quote_always(name: str) -> str:
    """`name` as GNU tools name a file in a message: always quoted, `'a.txt'`, `"it's"`, `'a'$'\\n''b'`."""
    return _quote(name, always=True)


def printable(name: str) -> str:
    """`name` as is when every character of it is printable, else quoted (`quote`): for output that GNU tools
    print raw (`du`, `tail` headers, `ls` on a pipe), made safe for a terminal."""
    return name if name.isprintable() else quote(name)


def one_line(text: str) -> str:
    """`text` with every character that is not printable written as an escape (`\\n`, `\\033`): a message
    stays one line and cannot drive the terminal, whatever it quotes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def clipped(text: str, most: int = 100) -> str:
    """`text`, or its start and end around an ellipsis when it is longer than `most` characters: a 4 KB path or
    a 5,000-digit number in a message stays readable."""
    if len(text) <= most:
        return text
    head = (most - 3) * 2 // 3
    return f"{text[:head]}...{text[len(text) - (most - 3 - head):]}"


def _quote(name: str, *, always: bool) -> str:
    plain = bool(name)
    double = "'" in name  # "it's" reads better than 'it'\''s' when nothing else needs escaping
    for i, c in enumerate(name):
        if not c.isprintable():
            plain = double = False
        elif c in _SPECIAL or (i == 0 and c in "#~") or (c in "{}" and len(name) == 1):
            plain = False
        if c in _NOT_IN_DOUBLE or (i and c in "#~"):
            double = False
    if plain and not always:
        return name
    if double:
        return f'"{name}"'
    out = ["'"]
    escaping = False  # inside a $'...' part
    for c in name:
        if c == "'":
            out.append("'\\''")
            escaping = False
        elif not c.isprintable():
            if not escaping:
                out.append("'$'")
                escaping = True
            out.append(_escape(c))
        else:
            if escaping:
                out.append("''")
                escaping = False
            out.append(c)
    out.append("'")
    return "".join(out)


def _escape(c: str) -> str:
    """`\\n` for the C escapes, else the octal of each byte (`\\033`, `\\302\\205`, `\\377` for a byte of a
    name that is not UTF-8, which Python holds as a surrogate)."""
    letter = _LETTER_ESCAPES.get(c)
    if letter is not None:
        return letter
    try:
        data = c.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = c.encode("utf-8", "surrogatepass")
    return "".join(f"\\{byte:03o}" for byte in data)
