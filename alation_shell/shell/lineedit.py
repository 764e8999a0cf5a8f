"""A line editor as bash's readline is, for terminals reached through a byte stream (an SSH channel).

`LineEditor` owns no I/O: it is fed the client's keys as they arrive (`feed`) and answers with the bytes to
send back and, once a line is done, what ended it. It keeps only what a line needs (the text, the cursor, the
rows drawn), so a class of sessions costs a few kilobytes each, and a key costs one lexing of one line.

It does what readline does by default in bash: Emacs keys (Ctrl-A/E/B/F/K/U/W/Y/T/L, Alt-B/F/D, arrows,
Home/End, Delete, Ctrl-_ to undo, Alt-. for the last word of the line before), history (Up/Down, Ctrl-P/N)
and reverse incremental search (Ctrl-R; Enter runs the line found, Ctrl-G gives the search up), Tab
completion (a unique candidate is finished and followed by a blank; several: their common part, then the
list), bracketed paste (ESC[?2004h at each prompt, as bash 5.1 sends), Ctrl-C (the line is dropped), and
Ctrl-D on an empty line (end of input). With `escapes=False` (TERM=dumb) it writes no escape code at all:
what is typed is echoed, Backspace is "\\b \\b", and any other change is written again over the row from
where it starts, the cursor moved with "\\b".
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections import deque

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

PASTE_ON = "\x1b[?2004h"
PASTE_OFF = "\x1b[?2004l"
RESET = "\x1b[0m"
# What a client can make the editor hold (a client may be hostile, and each key costs a lexing of the line):
MAX_LINE = 65536  # characters in a line; more is refused with the bell
MAX_TYPEAHEAD = 65536  # keys read ahead of the prompt; more are dropped
MAX_PASTE = 1 << 20  # characters of one bracketed paste; the rest is dropped
UNDO_STEPS = 200  # changes of a line that Ctrl-_ can take back
QUERY_ITEMS = 100  # more candidates than this: "Display all N possibilities? (y or n)", as readline asks

# Escape sequences of the keys readline knows, as xterm, VT100 (application mode), rxvt and the Linux
# console send them.
_SEQUENCES = {
    "[A": "up", "[B": "down", "[C": "right", "[D": "left", "OA": "up", "OB": "down", "OC": "right", "OD": "left",
    "[H": "home", "[F": "end", "OH": "home", "OF": "end", "[1~": "home", "[4~": "end", "[7~": "home",
    "[8~": "end", "[3~": "delete", "[2~": "insert", "[5~": "page-up", "[6~": "page-down",
    "[1;5C": "word-right", "[1;5D": "word-left", "[1;3C": "word-right", "[1;3D": "word-left",
    "b": "word-left", "f": "word-right", "d": "kill-word", "\x7f": "kill-word-back", "\x08": "kill-word-back",
    "<": "history-first", ">": "history-last",
}
_PASTE_END = "\x1b[201~"

Key = str | tuple[str, str]  # a character, a named key ("up"), or ("paste", text)


class KeyParser:
    """Bytes from a terminal, as keys; a sequence split across reads is kept until it is whole."""

    def __init__(self) -> None:
        self._pending = ""
        self._paste: list[str] | None = None  # inside a bracketed paste: what came so far
        self._pasted = 0  # its length

    def feed(self, data: str) -> list[Key]:
        """The keys `data` completes."""
        text = self._pending + data
        self._pending = ""
        keys: list[Key] = []
        i = 0
        while i < len(text):
            if self._paste is not None:
                end = text.find(_PASTE_END, i)
                if end < 0:
                    # Keep a tail that may be the start of the end marker.
                    keep = next((n for n in range(min(len(_PASTE_END) - 1, len(text) - i), 0, -1)
                                 if _PASTE_END.startswith(text[len(text) - n:])), 0)
                    self._add_paste(text[i:len(text) - keep])
                    self._pending = text[len(text) - keep:]
                    return keys
                self._add_paste(text[i:end])
                keys.append(("paste", "".join(self._paste)))
                self._paste = None
                i = end + len(_PASTE_END)
                continue
            char = text[i]
            if char != "\x1b":
                keys.append(char)
                i += 1
                continue
            rest = text[i + 1:]
            if not rest:
                self._pending = char  # a lone ESC: the next read says what it starts
                return keys
            if rest[0] in "[O":
                end = _sequence_end(rest)
                if end is None:
                    self._pending = text[i:]
                    return keys
                body = rest[:end]
                i += 1 + end
                if body == "[200~":
                    self._paste = []
                    self._pasted = 0
                elif body in _SEQUENCES:
                    keys.append(_SEQUENCES[body])
                continue  # an unknown sequence is dropped whole, never typed in as text
            keys.append(_SEQUENCES[rest[0]] if rest[0] in _SEQUENCES else ("alt", rest[0]))
            i += 2
        return keys


    def _add_paste(self, text: str) -> None:
        assert self._paste is not None
        room = MAX_PASTE - self._pasted
        if room > 0:
            self._paste.append(text[:room])
            self._pasted += min(len(text), room)


def _sequence_end(rest: str) -> int | None:
    """The length of the CSI/SS3 sequence at the start of `rest` (`[` or `O` first), None if incomplete."""
    if rest[0] == "O":
        return 2 if len(rest) >= 2 else None
    for j in range(1, min(len(rest), 32)):
        if rest[j] == "\x1b":
            return j  # an ESC cuts the sequence short (ECMA-48): what came before it is dropped, the ESC starts anew
        if "\x40" <= rest[j] <= "\x7e":
            return j + 1
    return None if len(rest) < 32 else 1


def cell_width(char: str) -> int:
    """Columns `char` takes: 2 for East Asian wide, 0 for combining marks and controls, else 1."""
    if char < "\u0300":
        return 1 if char >= " " else 0
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def text_width(text: str) -> int:
    """Columns `text` takes (see cell_width)."""
    return len(text) if text.isascii() and text.isprintable() else sum(cell_width(c) for c in text)


def visible(text: str) -> str:
    """`text` with control characters shown as readline shows them (`^X`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else "^" + chr(ord(c) ^ 0x40) if ord(c) < 0x80 else "?"
                   for c in text)


class Outcome:
    """How a line ended: `line` (Enter; `text`, and any further lines of a paste in `pasted`, the unfinished
    last one in `unfinished`), `interrupt` (Ctrl-C) or `eof` (Ctrl-D on an empty line, or the input ended)."""

    __slots__ = ("kind", "text", "pasted", "unfinished")

    def __init__(self, kind: str, text: str = "", pasted: Sequence[str] = (), unfinished: str = "") -> None:
        self.kind = kind
        self.text = text
        self.pasted = list(pasted)
        self.unfinished = unfinished

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, {self.text!r})"


class Completions:
    """What a completer offers at the cursor: the replaced span [start, cursor) and the candidates, each a
    text to insert and a description (may be "")."""

    __slots__ = ("start", "items")

    def __init__(self, start: int, items: Sequence[tuple[str, str]]) -> None:
        self.start = start
        self.items = list(items)


class LineEditor:
    """One terminal's line editing. `width()` is the terminal's width now (0: unknown); `history` the lines entered
    before, oldest first (the editor appends what is entered; None: no history); `complete(text, cursor)` the
    candidates at the cursor; `highlight(text)` the line's coloured runs; `escapes`: the terminal takes
    escape codes (else plain echo); `remember(line)` is told each line added to the history."""

    def __init__(
        self,
        width: Callable[[], int],
        *,
        history: list[str] | None = None,
        complete: Callable[[str, int], Completions] | None = None,
        highlight: Callable[[str], list[tuple[str, str]]] | None = None,
        escapes: bool = True,
        remember: Callable[[str], None] | None = None,
    ) -> None:
        self.width = width
        self.history = history
        self.remember = remember  # told each line added to the history (to keep it in a file)
        self.complete = complete
        self.highlight = highlight
        self.escapes = escapes
        self.parser = KeyParser()
        self.keys: deque[Key] = deque()  # read but not yet used: typed ahead of the next prompt
        self.eof = False
        self.active = False
        self.prompt = ""
        self.prompt_width = 0
        self.text = ""
        self.cursor = 0
        self._row = 0  # the cursor's row, counted from the prompt's first row
        self._shown: _Shown | None = None  # what is on the screen
        self._plain_row = ""  # with escapes=False: the row as shown (the lead and the line)
        self._plain_at = 0  # and the character of it the terminal's cursor is at
        self._kill = ""
        self._index = 0  # in history + [line being typed]
        self._edits: dict[int, str] = {}  # history entries changed while browsing, until the line is done
        self._search: _Search | None = None
        self._last_search = ""
        self._undo: list[tuple[str, int]] = []  # (text, cursor) before each change of this line, for Ctrl-_
        self._yanked_arg: tuple[int, int, int] | None = None  # Alt-. just now: (history entry, start, end)
        self._query: list[tuple[str, str]] | None = None  # candidates waiting for "Display all N?" y/n
        self._done: Outcome | None = None

    # Reading a line ------------------------------------------------------------------------------
    def start(self, prompt: str, prompt_width: int | None = None, default: str = "") -> str:
        """Begin a line at `prompt` (its SGR codes included; `prompt_width` the columns it takes). What to send."""
        self.active = True
        self.prompt = prompt if self.escapes else _strip_sgr(prompt)
        self.prompt_width = text_width(_strip_sgr(prompt)) if prompt_width is None else prompt_width
        self.text = default
        self.cursor = len(default)
        self._row = 0
        self._shown = None
        self._plain_row, self._plain_at = "", 0
        self._index = len(self.history) if self.history is not None else 0
        self._edits = {}
        self._search = None
        self._query = None
        self._done = None
        self._undo = []
        self._yanked_arg = None
        return (PASTE_ON if self.escapes else "") + self._render()

    def feed(self, data: str) -> tuple[str, Outcome | None]:
        """Keys from the client: what to send back, and the outcome if they end the line (the keys after the
        Enter are kept for the next line)."""
        keys = self.parser.feed(data)
        room = MAX_TYPEAHEAD - len(self.keys)
        self.keys.extend(keys[:room] if len(keys) > room else keys)  # a flood of keys is cut, not queued
        return self.step()

    def end_of_input(self) -> tuple[str, Outcome | None]:
        """The client sent EOF or went away: the line in progress ends as Ctrl-D on an empty line does."""
        self.eof = True
        return self.step()

    def step(self) -> tuple[str, Outcome | None]:
        """Use the keys read so far, up to the end of the line."""
        if not self.active:
            return "", None
        out: list[str] = []
        while self.keys and self._done is None:
            key = self.keys.popleft()
            out.append(self._key(key))
        if self._done is None and self.eof and not self.keys:
            self._done = Outcome("eof")
            out.append(self._leave("\r\n"))
        done, self._done = self._done, None
        if done is not None:
            self.active = False
            if done.kind == "line" and self.history is not None:
                add_to_history(self.history, done.text, self.remember)
        return "".join(out), done

    def redraw(self) -> str:
        """The line drawn again (after a resize, or output that was not the editor's)."""
        if not self.active:
            return ""
        if not self.escapes:
            return ""
        return self._render(force=True)

    # Keys ----------------------------------------------------------------------------------------
    def _key(self, key: Key) -> str:
        """Do what `key` does, keeping what it changed for Ctrl-_ (undo)."""
        if key == "\x1f":  # Ctrl-_: undo the last change of this line
            self._yanked_arg = None
            if not self._undo:
                return ""
            self.text, self.cursor = self._undo.pop()
            return self._render()
        before = (self.text, self.cursor)
        yanking = key in (("alt", "."), ("alt", "_"))
        out = self._dispatch(key)
        if not yanking:
            self._yanked_arg = None
        if self.text != before[0] and self._done is None:
            if len(self._undo) >= UNDO_STEPS:
                del self._undo[0]
            self._undo.append(before)
        return out

    def _dispatch(self, key: Key) -> str:
        if self._query is not None:
            return self._answer_query(key)
        if self._search is not None:
            handled = self._search_key(key)
            if handled is not None:
                return handled
            # The search ended: the prompt comes back before the key does what it does (it may do nothing).
            return self._render() + self._dispatch(key)
        if isinstance(key, tuple):
            kind, value = key
            if kind == "paste":
                return self._pasted(value)
            return self._alt(value)
        if len(key) == 1 and (key >= " " and key != "\x7f"):
            return self._insert(key)
        action = _CONTROL_KEYS.get(key) if len(key) == 1 else key
        if action is None:
            return ""
        return getattr(self, "_do_" + action.replace("-", "_"))()

    def _alt(self, char: str) -> str:
        """Alt-. (or Alt-_): the last word of the line before, again and again older (readline's yank-last-arg);
        other Alt keys readline binds are named keys already (see _SEQUENCES)."""
        if char not in "._" or not self.history:
            return ""
        if self._yanked_arg is None:
            index, start = len(self.history) - 1, self.cursor
        else:  # again: the word of the line before that one, in the place of the one just put in
            index, start, end = self._yanked_arg
            if index <= 0:
                return "\x07"
            index -= 1
            self.text = self.text[:start] + self.text[end:]
            self.cursor = start
        words = self._entry(index).split()
        word = words[-1] if words else ""
        self.text = self.text[:start] + word + self.text[start:]
        self.cursor = start + len(word)
        self._yanked_arg = (index, start, self.cursor)
        return self._render()

    def _insert(self, text: str) -> str:
        room = MAX_LINE - len(self.text)
        if len(text) > room:
            if room <= 0:
                return "\x07"
            text = text[:room]
        self.text = self.text[: self.cursor] + text + self.text[self.cursor:]
        self.cursor += len(text)
        return self._render()

    def _pasted(self, text: str) -> str:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            return self._insert(text)
        first, *rest = text.split("\n")
        out = self._insert(first)
        return out + self._accept(pasted=rest[:-1], unfinished=rest[-1])

    def _do_accept(self) -> str:
        return self._accept()

    def _accept(self, pasted: Sequence[str] = (), unfinished: str = "") -> str:
        self._done = Outcome("line", self.text, pasted, unfinished)
        self.cursor = len(self.text)
        return self._leave("\r\n")

    def _leave(self, ending: str) -> str:
        """The line as it stands, the cursor after it, and `ending` (a newline)."""
        if not self.escapes:
            return ending
        out = self._render() + PASTE_OFF
        if self._at_fresh_row():
            return out  # the line fills its last row: the cursor is at the start of the next one already
        return out + ending

    def _at_fresh_row(self) -> bool:
        """The cursor, at the end of a line that fills its last row, waits at the start of the row below."""
        shown = self._shown
        return shown is not None and shown.at_end and shown.total > 0 and shown.total % shown.width == 0

    def _do_interrupt(self) -> str:
        self._done = Outcome("interrupt", self.text)
        self._search = None
        self.cursor = len(self.text)
        return self._render() + (PASTE_OFF if self.escapes else "") + "^C\r\n"  # as bash shows it

    def _do_eof_or_delete(self) -> str:
        if not self.text:
            self._done = Outcome("eof")
            return self._leave("\r\n")
        return self._do_delete()

    # A character and the combining marks after it are one: moved over and deleted whole, as readline does.
    def _next(self, i: int) -> int:
        i += 1
        while i < len(self.text) and unicodedata.combining(self.text[i]):
            i += 1
        return i

    def _previous(self, i: int) -> int:
        i -= 1
        while i > 0 and unicodedata.combining(self.text[i]):
            i -= 1
        return i

    def _do_delete(self) -> str:
        if self.cursor >= len(self.text):
            return ""
        self.text = self.text[: self.cursor] + self.text[self._next(self.cursor):]
        return self._render()

    def _do_backspace(self) -> str:
        if self.cursor == 0:
            return ""
        start = self._previous(self.cursor)
        self.text = self.text[:start] + self.text[self.cursor:]
        self.cursor = start
        return self._render()

    def _do_left(self) -> str:
        self.cursor = self._previous(self.cursor) if self.cursor else 0
        return self._render()

    def _do_right(self) -> str:
        self.cursor = self._next(self.cursor) if self.cursor < len(self.text) else self.cursor
        return self._render()

    def _do_home(self) -> str:
        self.cursor = 0
        return self._render()

    def _do_end(self) -> str:
        self.cursor = len(self.text)
        return self._render()

    def _do_word_left(self) -> str:
        self.cursor = _word_start(self.text, self.cursor)
        return self._render()

    def _do_word_right(self) -> str:
        self.cursor = _word_end(self.text, self.cursor)
        return self._render()

    def _do_kill_end(self) -> str:
        self._kill = self.text[self.cursor:]
        self.text = self.text[: self.cursor]
        return self._render()

    def _do_kill_start(self) -> str:
        self._kill = self.text[: self.cursor]
        self.text = self.text[self.cursor:]
        self.cursor = 0
        return self._render()

    def _do_kill_word_back(self) -> str:
        start = _word_start(self.text, self.cursor)
        return self._cut(start, self.cursor)

    def _do_unix_word_rubout(self) -> str:
        # Ctrl-W: back to the previous blank, as readline's unix-word-rubout.
        start = self.cursor
        while start > 0 and self.text[start - 1] == " ":
            start -= 1
        while start > 0 and self.text[start - 1] != " ":
            start -= 1
        return self._cut(start, self.cursor)

    def _do_kill_word(self) -> str:
        return self._cut(self.cursor, _word_end(self.text, self.cursor))

    def _cut(self, start: int, end: int) -> str:
        if start == end:
            return ""
        self._kill = self.text[start:end]
        self.text = self.text[:start] + self.text[end:]
        self.cursor = start
        return self._render()

    def _do_yank(self) -> str:
        return self._insert(self._kill) if self._kill else ""

    def _do_transpose(self) -> str:
        if len(self.text) < 2 or self.cursor == 0:
            return ""
        at = min(self.cursor, len(self.text) - 1)
        chars = list(self.text)
        chars[at - 1], chars[at] = chars[at], chars[at - 1]
        self.text = "".join(chars)
        self.cursor = at + 1
        return self._render()

    def _do_clear_screen(self) -> str:
        if not self.escapes:
            return ""
        self._row = 0
        self._shown = None
        return "\x1b[H\x1b[2J" + self._render()

    def _do_ignore(self) -> str:
        return ""

    # History -------------------------------------------------------------------------------------
    def _entry(self, index: int) -> str:
        assert self.history is not None
        if index in self._edits:
            return self._edits[index]
        return self.history[index] if index < len(self.history) else ""

    def _go(self, index: int) -> str:
        if self.history is None or index < 0 or index > len(self.history) or index == self._index:
            return ""
        self._switch(index)
        self.cursor = len(self.text)
        return self._render()

    def _switch(self, index: int) -> None:
        """Show history entry `index` (the line being typed past the last), keeping the edits of the one left."""
        self._keep_edits()
        self._index = index
        self.text = self._entry(index)

    def _keep_edits(self) -> None:
        """The line shown is what its history entry holds until the line is done (Up and Down come back to it)."""
        if self.text != self._entry(self._index):
            self._edits[self._index] = self.text

    def _do_up(self) -> str:
        return self._go(self._index - 1)

    def _do_down(self) -> str:
        return self._go(self._index + 1)

    def _do_history_first(self) -> str:
        return self._go(0)

    def _do_history_last(self) -> str:
        return self._go(len(self.history) if self.history is not None else 0)

    # Reverse incremental search (Ctrl-R) ----------------------------------------------------------
    def _do_search(self) -> str:
        if self.history is None:
            return ""
        self._keep_edits()  # (searched as it is now)
        self._search = _Search(self.text, self.cursor, self._index)
        self._search.last = self._last_search  # Ctrl-R Ctrl-R: the last search of this terminal, as bash does
        return self._render()

    def _search_key(self, key: Key) -> str | None:
        """A key while searching; None: the search ends and the key does what it does outside it."""
        search = self._search
        assert search is not None
        if key == "\x12":  # Ctrl-R again: the next older match (the last search's text, if none typed)
            self._find(search, search.query or search.last, older=search.index is not None)
            return self._render()
        if key == "\x07":  # Ctrl-G: give up, the line as it was
            self._search = None
            self.text, self.cursor, self._index = search.text, search.cursor, search.origin
            return self._render()
        if key == "\x03":
            self._search = None
            return self._do_interrupt()
        if key in ("\x7f", "\x08"):
            search.index = None  # a shorter text: look again from where the search began
            self._find(search, search.query[:-1])
            return self._render()
        typed = key[1].replace("\r", "").replace("\n", " ") if isinstance(key, tuple) and key[0] == "paste" else \
            key if isinstance(key, str) and len(key) == 1 and key >= " " and key != "\x7f" else None
        if typed is not None:
            self._find(search, search.query + typed)
            return self._render()
        # Any other key ends the search with the line found (Enter runs it, as in bash); an Alt key readline
        # does not bind (ESC and a letter) does only that.
        self._search = None
        return None

    def _find(self, search: _Search, query: str, *, older: bool = False) -> None:
        """Show the newest entry holding `query` at or before the current match (`older`: before it), the
        cursor at the match; if there is none, the search has failed and the line stays."""
        assert self.history is not None
        search.query = query
        search.failed = False
        if not query:
            return
        index = search.index if search.index is not None else min(search.origin, len(self.history) - 1)
        end = None if search.index is None else search.pos + len(query) - (1 if older else 0)
        while index >= 0:
            entry = self._entry(index)
            at = entry.rfind(query) if end is None else entry.rfind(query, 0, max(end, 0))
            if at >= 0:
                search.index, search.pos, search.last = index, at, query
                self._last_search = query
                self._switch(index)
                self.cursor = at
                return
            index -= 1
            end = None
        search.failed = True

    # Completion ----------------------------------------------------------------------------------
    def _do_complete(self) -> str:
        if self.complete is None:
            return ""
        found = self.complete(self.text, self.cursor)
        word = self.text[found.start: self.cursor]
        items = found.items
        if not items:
            return "\x07" if self.escapes else ""
        texts = [text for text, _ in items]
        if len(texts) == 1:
            text = texts[0]
            return self._replace(found.start, text if text.endswith("/") else text + " ")
        common = os.path.commonprefix(texts)
        if len(common) > len(word) and common.startswith(word):
            return self._replace(found.start, common)
        if len(items) > QUERY_ITEMS:
            self._query = items
            return (self._below() + f"Display all {len(items)} possibilities? (y or n)")
        return self._list(items)

    def _replace(self, start: int, text: str) -> str:
        self.text = self.text[:start] + text + self.text[self.cursor:]
        self.cursor = start + len(text)
        return self._render()

    def _answer_query(self, key: Key) -> str:
        items, self._query = self._query or [], None
        if key in ("y", "Y", " ", "\t"):
            return "\r\n" + self._list_text(items) + self._fresh()
        return "\r\n" + self._fresh()

    def _below(self) -> str:
        """Move to a fresh row below the line (for a list or a question)."""
        if not self.escapes:
            return "\r\n"
        out = self._render()  # make sure the cursor is where _row says
        shown = self._shown
        assert shown is not None
        if self._at_fresh_row():
            return out
        down = max(shown.total - 1, 0) // shown.width - self._row
        return out + (f"\x1b[{down}B" if down > 0 else "") + "\r\n"

    def _fresh(self) -> str:
        """The prompt and the line drawn anew on the current row."""
        self._row = 0
        self._shown = None
        self._plain_row, self._plain_at = "", 0
        return self._render()

    def _list(self, items: list[tuple[str, str]]) -> str:
        return self._below() + self._list_text(items) + self._fresh()

    def _list_text(self, items: list[tuple[str, str]]) -> str:
        """The candidates as readline lists them: in columns, down then across; with descriptions, one a row."""
        width = max(self._columns(), 10)
        if any(meta for _, meta in items):
            name_width = min(max(text_width(t) for t, _ in items), width // 2)
            rows = []
            for text, meta in items:
                row = _pad(text, name_width) + ("  " + meta if meta else "")
                rows.append(_clip(row, width - 1))
            return "".join(row + "\r\n" for row in rows)
        col = max(text_width(t) for t, _ in items) + 2
        per_row = max(1, width // col)
        nrows = -(-len(items) // per_row)
        lines = []
        for r in range(nrows):
            cells = [items[c * nrows + r][0] for c in range(per_row) if c * nrows + r < len(items)]
            lines.append("".join(_pad(cell, col) for cell in cells[:-1]) + cells[-1])
        return "".join(line + "\r\n" for line in lines)

    # Drawing -------------------------------------------------------------------------------------
    def _columns(self) -> int:
        """The terminal's width; 80 if it gives none (a pty request may say 0), as readline takes it."""
        width = self.width()
        return width if width > 1 else 80

    def _lead(self) -> tuple[str, int]:
        """What comes before the text: the prompt, or the search's, and the columns it takes."""
        if self._search is None:
            return self.prompt, self.prompt_width
        lead = f"({'failed ' if self._search.failed else ''}reverse-i-search)`{visible(self._search.query)}': "
        return lead, text_width(lead)

    def _runs(self, text: str) -> list[tuple[str, str]]:
        """The line as runs of (SGR parameters, text)."""
        shown = visible(text)
        if self.highlight is None or not shown.strip():
            return [("", shown)] if shown else []
        return self.highlight(shown)

    def _render(self, force: bool = False) -> str:
        """What makes the screen show the line, the cursor where it is. Typing at the end of the line sends
        only what was added; anything else draws the line again from its first row."""
        if not self.escapes:
            return self._render_plain()
        lead, lead_width = self._lead()
        width = self._columns()
        if self._search is not None:  # the search's lead is text of ours: placed as the line is
            lead, lead_width = _place(0, lead, width)
        runs = self._runs(self.text)
        total = _place(lead_width, "".join(t for _, t in runs), width)[1]
        cursor_cols = _place(lead_width, visible(self.text[: self.cursor]), width)[1]
        if self.cursor < len(self.text) and cell_width(visible(self.text[self.cursor])[0]) == 2 and \
                cursor_cols % width == width - 1:
            cursor_cols += 1  # on a wide character that did not fit on the row: it starts the next one
        shown = self._shown
        out: list[str] = []
        added = None
        if not force and shown is not None and shown.lead == lead and shown.width == width and shown.at_end \
                and cursor_cols == total:
            added = _added(shown.runs, runs)
        if added is not None:
            out.append(_paint(added, shown.total, width))
        else:
            if self._row:
                out.append(f"\x1b[{self._row}A")
            out.append("\r" + lead + _paint(runs, lead_width, width))
        if total and total % width == 0:
            out.append(" \r")  # out of the terminal's pending wrap: the cursor moves to the next row now
        if added is None:
            out.append("\x1b[J")  # what is left of a longer line drawn before
        end_row = total // width
        cursor_row = cursor_cols // width
        if end_row > cursor_row:
            out.append(f"\x1b[{end_row - cursor_row}A")
        if cursor_cols != total:
            col = cursor_cols % width
            out.append("\r" + (f"\x1b[{col}C" if col else ""))
        self._row = cursor_row
        self._shown = _Shown(lead, runs, width, cursor_cols == total, total)
        return "".join(out)

    def _render_plain(self) -> str:
        """With no escape codes, as readline moves on a terminal with no cursor motion: the cursor goes back
        ("\\b") to the first character that changed (or forward by writing again what is there), the row is
        written again from there, blanks wipe what is left of a longer one, and "\\b" brings the cursor where it
        is. Typing at the end is an echo, Backspace "\\b \\b"."""
        row = self._lead()[0] + visible(self.text)
        at = len(row) - len(visible(self.text[self.cursor:]))
        while _mark(row, at):
            at += 1  # (the same cell) so that a character written again to move right keeps its marks
        old, was = self._plain_row, self._plain_at
        if row == old:  # the cursor moved: back over what is shown, or forward by writing it again
            out = "\b" * text_width(row[at:was]) + row[was:at]
        else:
            same = len(os.path.commonprefix([old, row]))
            while same and (_mark(old, same) or _mark(row, same)):
                same -= 1  # a mark changed: its character is written again with it
            gone = max(text_width(old[same:]) - text_width(row[same:]), 0)
            out = ("\b" * text_width(old[same:was]) + row[was:same] + row[same:] + " " * gone
                   + "\b" * (gone + text_width(row[at:])))
        self._plain_row, self._plain_at = row, at
        return out


def add_to_history(history: list[str], line: str, remember: Callable[[str], None] | None = None) -> None:
    """`line` at the end of `history`, and told to `remember`, unless it is blank or the same as the line before
    it (consecutive duplicates are kept once, as bash's ignoredups keeps them)."""
    if line.strip() and (not history or history[-1] != line):
        history.append(line)
        if remember is not None:
            remember(line)


class _Search:
    """A reverse incremental search: where it began, what is looked for, the match shown."""

    __slots__ = ("text", "cursor", "origin", "index", "pos", "query", "failed", "last")

    def __init__(self, text: str, cursor: int, origin: int) -> None:
        self.text = text  # the line and cursor before the search (Ctrl-G brings them back)
        self.cursor = cursor
        self.origin = origin
        self.index: int | None = None  # the history entry matched, none yet
        self.pos = 0
        self.query = ""
        self.failed = False
        self.last = ""  # the text of the last successful search (Ctrl-R Ctrl-R searches it again)


class _Shown:
    """What the screen shows of the line: its lead, its runs, at which width, the cursor at its end or not, and
    the cells from the lead's first to the line's end (`total // width` is the row the line ends on)."""

    __slots__ = ("lead", "runs", "width", "at_end", "total")

    def __init__(self, lead: str, runs: list[tuple[str, str]], width: int, at_end: bool, total: int) -> None:
        self.lead = lead
        self.runs = runs
        self.width = width
        self.at_end = at_end
        self.total = total


def _added(old: list[tuple[str, str]], new: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The runs `new` adds at the end of `old`, if `new` is `old` with text added, in the same colours."""
    i = 0
    for i, (style, text) in enumerate(old):
        if i >= len(new) or new[i][0] != style or not new[i][1].startswith(text):
            return None
        if new[i][1] != text:
            if i != len(old) - 1:
                return None
            return [(style, new[i][1][len(text):]), *new[i + 1:]]
    return new[len(old):]


def _place(col: int, text: str, width: int) -> tuple[str, int]:
    """`text` written from cell `col` (counted from the line's first cell) of a terminal `width` wide: with a
    blank before each wide character that would not fit on its row (a terminal puts it on the next row, and the
    blank makes the last cell of the row sure), and the cell after it."""
    if text.isascii():
        return text, col + len(text)
    out = []
    for char in text:
        cells = cell_width(char)
        if cells == 2 and col % width == width - 1:
            out.append(" ")
            col += 1
        out.append(char)
        col += cells
    return "".join(out), col


def _paint(runs: list[tuple[str, str]], col: int, width: int) -> str:
    """The runs, in their colours, written from cell `col` (see _place)."""
    out = []
    for style, text in runs:
        text, col = _place(col, text, width)
        out.append(f"\x1b[{style}m{text}{RESET}" if style else text)
    return "".join(out)


_CONTROL_KEYS = {
    "\r": "accept", "\n": "accept", "\x7f": "backspace", "\x08": "backspace", "\x04": "eof-or-delete",
    "\x01": "home", "\x05": "end", "\x02": "left", "\x06": "right", "\x0b": "kill-end", "\x15": "kill-start",
    "\x17": "unix-word-rubout", "\x19": "yank", "\x14": "transpose", "\x0c": "clear-screen", "\x03": "interrupt",
    "\x10": "up", "\x0e": "down", "\x12": "search", "\t": "complete", "\x07": "ignore",
}
_NAMED = {"insert", "page-up", "page-down"}
for _name in _NAMED:
    setattr(LineEditor, "_do_" + _name.replace("-", "_"), LineEditor._do_ignore)


def _word_start(text: str, cursor: int) -> int:
    i = cursor
    while i > 0 and not text[i - 1].isalnum():
        i -= 1
    while i > 0 and text[i - 1].isalnum():
        i -= 1
    return i


def _word_end(text: str, cursor: int) -> int:
    i = cursor
    while i < len(text) and not text[i].isalnum():
        i += 1
    while i < len(text) and text[i].isalnum():
        i += 1
    return i


def _mark(text: str, index: int) -> bool:
    """The character at `index` of `text` is a combining mark (it goes with the one before)."""
    return index < len(text) and unicodedata.combining(text[index]) > 0


def _pad(text: str, width: int) -> str:
    """`text` and blanks up to `width` cells (str.ljust counts a wide character as one)."""
    return text + " " * (width - text_width(text))


def _clip(text: str, width: int) -> str:
    if text_width(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        used += cell_width(char)
        if used > width - 1:
            break
        out.append(char)
    return "".join(out) + "…"


def _strip_sgr(text: str) -> str:
    if "\x1b" not in text:
        return text
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# Colours ---------------------------------------------------------------------------------------------
_COLOURS = {"black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "gray": 7,
            "white": 7}
_ATTRS = {"bold": "1", "italic": "3", "underline": "4"}


def sgr(style: str) -> str:
    """SGR parameters of a prompt_toolkit-like style string (`ansiblue bold`): `34;1`."""
    codes = []
    for part in style.split():
        if part in _ATTRS:
            codes.append(_ATTRS[part])
        elif part.startswith("ansibright") and part[10:] in _COLOURS:
            codes.append(str(90 + _COLOURS[part[10:]]))
        elif part.startswith("ansi") and part[4:] in _COLOURS:
            codes.append(str(30 + _COLOURS[part[4:]]))
    return ";".join(codes)


def pygments_highlighter(lexer: object, rules: dict[str, str]) -> Callable[[str], list[tuple[str, str]]]:
    """A highlighter from a pygments lexer and style rules keyed `pygments.name.builtin`: the SGR of a token
    is that of its own type or its nearest parent's."""
    cache: dict[object, str] = {}

    def code(ttype: object) -> str:
        if ttype not in cache:
            found = ""
            t = ttype
            while t is not None and t:
                key = "pygments." + ".".join(t).lower()  # type: ignore[arg-type]
                if key in rules:
                    found = sgr(rules[key])
                    break
                t = t.parent  # type: ignore[attr-defined]
            cache[ttype] = found
        return cache[ttype]

    def highlight(text: str) -> list[tuple[str, str]]:
        runs: list[tuple[str, str]] = []
        for _, ttype, value in lexer.get_tokens_unprocessed(text):  # type: ignore[attr-defined]
            style = code(ttype)
            if runs and runs[-1][0] == style:
                runs[-1] = (style, runs[-1][1] + value)
            else:
                runs.append((style, value))
        if runs and runs[-1][1].endswith("\n") and not text.endswith("\n"):
            runs[-1] = (runs[-1][0], runs[-1][1][:-1])  # pygments ends every text with a newline
        return [run for run in runs if run[1]]

    return highlight


# History file ----------------------------------------------------------------------------------------
class HistoryFile:
    """A history kept in a file in prompt_toolkit's FileHistory format (the local shell's), so both read it.

    A disk that refuses it costs the history, never the session.
    """

    LIMIT = 5000  # entries read back (the newest)

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def load(self) -> list[str]:
        """The entries, oldest first."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return []
        entries: list[str] = []
        lines: list[str] = []
        for raw in data.decode("utf-8", "replace").split("\n"):  # only "\n" ends a line, as prompt_toolkit reads
            if raw.startswith("+"):
                lines.append(raw[1:])
            elif lines:
                entries.append("\n".join(lines))
                lines = []
        if lines:
            entries.append("\n".join(lines))
        kept: list[str] = []
        for entry in entries[-self.LIMIT:]:
            if not kept or kept[-1] != entry:
                kept.append(entry)
        return kept

    def append(self, entry: str) -> None:
        """Add `entry` at the end of the file."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        body = "".join("+" + line + "\n" for line in entry.split("\n"))
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            return
        try:
            os.write(fd, f"\n# {stamp}\n{body}".encode("utf-8", "replace"))
        except OSError:
            pass
        finally:
            os.close(fd)
