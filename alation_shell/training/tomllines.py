"""Where each key and array element of a TOML text is: line numbers for the mistakes `--check` reports.

`tomllib` gives values without positions, so a light scan of the same text (already parsed by tomllib, so
known to be valid TOML) maps every path to the line it starts on. A path is a tuple of keys and array
indexes as the parsed value is indexed: `("steps", 1, "check", "all", 0, "parameter")`.
"""

from __future__ import annotations

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

Path = tuple


class KeyLines:
    """Line numbers (1-based) of the keys, tables and array elements of one TOML text."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        _Scanner(text, self.lines).scan()

    def line(self, path: Path) -> int:
        """The line of `path`, else of its nearest ancestor that has one (1 for the document)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


class _Scanner:
    def __init__(self, text: str, found: dict[Path, int]) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.found = found
        self.arrays_of_tables: dict[tuple[str, ...], int] = {}

    # Characters -------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.text[j] if j < len(self.text) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.text):
                if self.text[self.i] == "\n":
                    self.line += 1
                self.i += 1

    def skip_blank(self, newlines: bool) -> None:
        """Spaces, tabs, comments, and with `newlines` line ends too."""
        while self.i < len(self.text):
            c = self.text[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.advance()
            else:
                return

    # Document ---------------------------------------------------------------------------------
    def scan(self) -> None:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)

    def header(self) -> Path:
        line = self.line
        double = self.peek(1) == "["
        self.advance(2 if double else 1)
        names = self.key()
        self.skip_blank(newlines=False)
        self.advance(2 if double else 1)
        concrete: list = []
        for n, name in enumerate(names):
            concrete.append(name)
            prefix = tuple(names[: n + 1])
            last = n == len(names) - 1
            if double and last:
                index = self.arrays_of_tables.get(prefix, 0)
                self.arrays_of_tables[prefix] = index + 1
                self.found.setdefault(tuple(concrete), line)
                concrete.append(index)
            elif prefix in self.arrays_of_tables:
                concrete.append(self.arrays_of_tables[prefix] - 1)
            self.found.setdefault(tuple(concrete), line)
        return tuple(concrete)

    def key(self) -> list[str]:
        """A (possibly dotted, possibly quoted) key; stops before `=` or `]`."""
        names = []
        while True:
            self.skip_blank(newlines=False)
            c = self.peek()
            if c in ('"', "'"):
                names.append(self.string())
            else:
                start = self.i
                while self.peek() in _BARE and self.peek():
                    self.advance()
                names.append(self.text[start:self.i])
            self.skip_blank(newlines=False)
            if self.peek() == ".":
                self.advance()
                continue
            return names

    def key_value(self, table: Path) -> None:
        line = self.line
        names = self.key()
        for n in range(len(names)):
            self.found.setdefault((*table, *names[: n + 1]), line)
        self.skip_blank(newlines=False)
        self.advance()  # "="
        self.skip_blank(newlines=False)
        self.value((*table, *names))

    # Values -----------------------------------------------------------------------------------
    def value(self, path: Path) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.peek() and self.peek() not in ",]}\n#" and not (
                self.peek() in " \t" and self.rest_is_blank()
            ):
                self.advance()

    def rest_is_blank(self) -> bool:
        """From here to the next `,`, `]`, `}`, newline or comment there are only spaces (a scalar ended)."""
        j = self.i
        while j < len(self.text) and self.text[j] in " \t\r":
            j += 1
        return j >= len(self.text) or self.text[j] in ",]}\n#"

    def array(self, path: Path) -> None:
        self.advance()  # "["
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() in ("]", ""):
                self.advance()
                return
            self.found.setdefault((*path, index), self.line)
            self.value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()

    def inline_table(self, path: Path) -> None:
        self.advance()  # "{"
        while True:
            self.skip_blank(newlines=True)
            if self.peek() in ("}", ""):
                self.advance()
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()

    def string(self) -> str:
        """A basic or literal string, single- or multi-line; returns its text (escapes left as written,
        which is enough for keys, the only strings whose text is used)."""
        quote = self.peek()
        if self.peek(1) == quote and self.peek(2) == quote:
            self.advance(3)
            start = self.i
            while self.i < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                    continue
                if self.text.startswith(quote * 3, self.i) and self.peek(3) != quote:
                    end = self.i
                    self.advance(3)
                    return self.text[start:end]
                self.advance()
            return self.text[start:]
        self.advance()
        start = self.i
        while self.i < len(self.text) and self.peek() != quote:
            if quote == '"' and self.peek() == "\\":
                self.advance()
            self.advance()
        end = self.i
        self.advance()
        return self.text[start:end]
