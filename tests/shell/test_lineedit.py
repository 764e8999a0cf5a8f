"""The SSH sessions' line editor (shell/lineedit.py): what it sends is fed to a VT100 emulator (pyte) and the screen
must show the line as it is, the cursor on the cell of the editor's cursor, after every read, for any keys; with
escapes off, no escape byte ever leaves it; and the keys do what they do in bash's readline."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from random import Random

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prompt_toolkit.history import FileHistory
from wcwidth import wcwidth

from alation_shell.shell.lineedit import (
    MAX_LINE,
    MAX_PASTE,
    MAX_TYPEAHEAD,
    Completions,
    HistoryFile,
    KeyParser,
    LineEditor,
    Outcome,
)

ENTER, BACKSPACE, TAB = "\r", "\x7f", "\t"
UP, DOWN, RIGHT, LEFT, HOME, END, DELETE = "\x1b[A", "\x1b[B", "\x1b[C", "\x1b[D", "\x1b[H", "\x1b[F", "\x1b[3~"
ALT_B, ALT_F, ALT_D = "\x1bb", "\x1bf", "\x1bd"
WIDE, COMBINING = "日", "\u0301"


def ctrl(letter: str) -> str:
    return chr(ord(letter) - 96)


def paste(text: str) -> str:
    return "\x1b[200~" + text + "\x1b[201~"


WORDS = ["status", "start", "stop", "set", "show", "open", "option", "日本"]


def complete(text: str, cursor: int) -> Completions:
    """A small completer: the words starting as the word at the cursor does."""
    start = text.rfind(" ", 0, cursor) + 1
    return Completions(start, [(w, "") for w in WORDS if w.startswith(text[start:cursor])])


def highlight(text: str) -> list[tuple[str, str]]:
    """Known words blue, digits bold red, the rest plain: typing a letter can recolour the word before it."""
    runs: list[tuple[str, str]] = []
    for part in re.split(r"(\s+|\d+)", text):
        style = "34" if part in WORDS else "31;1" if part.isdigit() else ""
        if runs and runs[-1][0] == style:
            runs[-1] = (style, runs[-1][1] + part)
        elif part:
            runs.append((style, part))
    return runs


def shown(text: str) -> str:
    """`text` as the editor shows it: a control character as ^X."""
    return "".join("^" + chr(ord(c) ^ 0x40) if ord(c) < 0x20 or c == "\x7f" else c for c in text)


class Screen:
    """A VT100 screen (pyte), tall enough that nothing scrolls."""

    def __init__(self, width: int, lines: int = 400) -> None:
        self.width = width
        self.screen = pyte.Screen(width, lines)
        self.stream = pyte.Stream(self.screen)

    def feed(self, data: str) -> None:
        self.stream.feed(data)

    @property
    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.y, self.screen.cursor.x

    def cells(self, row: int) -> list[tuple[str, object, bool]]:
        """A row's cells: character, colour, bold (the colour of a blank cell does not show)."""
        line = self.screen.buffer[row]
        return [(c.data, "default", False) if c.data == " " else (c.data, c.fg, c.bold)
                for c in (line[x] for x in range(self.width))]

    def text(self, row: int) -> str:
        return "".join(c for c, _, _ in self.cells(row))


def expected(width: int, lead: str, text: str, cursor: int, runs: list[tuple[str, str]] | None = None,
             after: str = "") -> tuple[Screen, tuple[int, int], int]:
    """`lead` and `text` drawn from the top left of a blank screen as a terminal shows a line, a wide character
    that does not fit on a row going to the next (as xterm does), each character in the colour of its run; `after`
    drawn after the text. The screen, the cell of `cursor` (an index in `text`) and the rows the line takes."""
    screen = Screen(width, 40)
    last_row = 0  # (pyte moves to the next row for a combining mark after a full row: that row is not the line's)

    def draw(char: str, style: str = "") -> None:
        nonlocal last_row
        if wcwidth(char) == 2 and screen.cursor[1] == width - 1:
            screen.feed(" ")
        screen.feed(f"\x1b[{style}m{char}\x1b[0m" if style else char)
        if wcwidth(char) > 0:
            last_row = screen.cursor[0]

    for part in re.split(r"(\x1b\[[0-9;]*m)", lead):
        if part.startswith("\x1b"):
            screen.feed(part)
        else:
            for char in part:
                draw(char)
    visible = shown(text)
    styles = [style for style, run in (runs or [("", visible)]) for _ in run]
    assert len(styles) == len(visible)
    at = len(shown(text[:cursor]))
    place = None
    for i, (char, style) in enumerate(zip(visible, styles, strict=True)):
        if i == at:
            y, x = screen.cursor
            place = (y + 1, 0) if x == width or (x == width - 1 and wcwidth(char) == 2) else (y, x)
        draw(char, style)
    if place is None:
        y, x = screen.cursor
        place = (y + 1, 0) if x == width else (y, x)  # after a full row: the cursor waits on the next one
    rows = last_row + 1
    screen.feed(after)
    return screen, place, rows


class Run:
    """An editor and the screen it draws on; `check` compares the screen with what the editor holds."""

    def __init__(self, width: int, prompt: str, *, history: list[str] | None = None,
                 completer: object = complete) -> None:
        self.width = width
        self.prompt = prompt
        self.screen = Screen(width)
        self.history = [] if history is None else history
        self.editor = LineEditor(lambda: self.width, history=self.history, complete=completer, highlight=highlight)
        self.top = 0  # the row of the prompt
        self.bottom = 0  # the lowest row drawn on
        self.searching = False
        self.query = ""
        self.last = ""  # the last query that matched: Ctrl-R on an empty query searches it again
        self.outcomes: list[Outcome] = []
        self.screen.feed(self.editor.start(prompt))
        self.check("")

    def feed(self, data: str, keys: list[str] | None = None) -> str:
        """Send `data` (completing `keys`, by default `data` as one key) to the editor, its answer to the screen."""
        out, outcome = self.editor.feed(data)
        self.screen.feed(out)
        for key in [data] if keys is None else keys:
            self.key(key)
        if outcome is not None:
            self.ended(outcome, out)
        else:
            self.check(out)
        return out

    def resize(self, width: int) -> None:
        """The terminal gets `width` columns (keeping its rows as they are, as xterm does) and the line is drawn
        again."""
        self.width = self.screen.width = width
        self.screen.screen.resize(self.screen.screen.lines, width)
        out = self.editor.redraw()
        self.screen.feed(out)
        self.check(out)

    def key(self, key: str) -> None:
        """Follow what the key does to a search (the model the lead shown is checked against)."""
        if not self.searching:
            self.searching = key == ctrl("r")
            self.query = ""  # (the last search found is kept: Ctrl-R Ctrl-R looks for it again)
        elif key == ctrl("r"):
            self.query = self.query or self.last
        elif key in (BACKSPACE, "\x08"):
            self.query = self.query[:-1]
        elif key.startswith("\x1b[200~"):
            self.query += key[6:-6].replace("\r", "").replace("\n", " ")
        elif len(key) == 1 and key >= " " and key != "\x7f":
            self.query += key
        else:
            self.searching = False

    def leads(self) -> list[str]:
        if not self.searching:
            return [self.prompt]
        return [f"({failed}reverse-i-search)`{shown(self.query)}': " for failed in ("", "failed ")]

    def check(self, out: str) -> None:
        """The screen shows the lead and the line wrapped at the width, colours included, nothing after it, and
        the cursor on the cell of the editor's cursor."""
        editor = self.editor
        failures = []
        for lead in self.leads():
            want, (row, col), rows = expected(self.width, lead, editor.text, editor.cursor,
                                              highlight(shown(editor.text)) if editor.text.strip() else None)
            y, x = self.screen.cursor
            top = y - row
            problems = []
            if x != col or top < 0:
                problems.append(f"cursor at {(y, x)}, the editor's cursor is at {(row, col)} of the line")
            elif "\n" not in out and "\x1b[2J" not in out and top != self.top:
                problems.append(f"the line moved from row {self.top} to row {top}")
            else:
                for r in range(rows):
                    if self.screen.cells(top + r) != want.cells(r):
                        problems.append(f"row {r}: {self.screen.text(top + r)!r} != {want.text(r)!r}")
                for r in range(top + rows, max(self.bottom, top + rows) + 1):
                    if self.screen.text(r).strip():
                        problems.append(f"left over below the line: {self.screen.text(r)!r}")
            if not problems:
                self.top, self.bottom = top, max(self.bottom, top + rows)
                if lead.startswith("(reverse") and self.query:
                    self.last = self.query
                    assert editor.text[editor.cursor:].startswith(self.query)  # the match, at the cursor
                return
            failures.append(f"with lead {lead!r}: " + "; ".join(problems))
        raise AssertionError(f"text {editor.text!r} cursor {editor.cursor}, sent {out!r}\n" + "\n".join(failures))

    def ended(self, outcome: Outcome, out: str) -> None:
        """The line ended: it stays on the screen as it ended, the cursor at the start of the row below it (a
        line filling its last row exactly included: no blank row between); then the next prompt."""
        self.outcomes.append(outcome)
        text = self.editor.text
        after = "^C" if outcome.kind == "interrupt" else ""
        want, _, rows = expected(self.width, self.prompt, text, len(text),
                                 highlight(shown(text)) if text.strip() else None, after)
        if after:
            rows = want.cursor[0] + 1
        for r in range(rows):
            assert self.screen.cells(self.top + r) == want.cells(r), (text, out, r)
        assert self.screen.cursor == (self.top + rows, 0), (text, out)
        self.searching = False
        self.screen.feed(self.editor.start(self.prompt))
        self.top = self.bottom = self.screen.cursor[0]
        self.check("\n")


NAMED = [BACKSPACE, DELETE, LEFT, RIGHT, HOME, END, UP, DOWN, ALT_B, ALT_F, ALT_D, "\x1b<", "\x1b>", TAB, ENTER,
         *(ctrl(c) for c in "aekuwytrgcdl"), "\x1f", "\x1b."]  # (Ctrl-_ undo, Alt-. last word)
CHARS = "sta op1 " + WIDE + COMBINING
TYPED = st.text(alphabet=CHARS, min_size=1, max_size=4)
PASTE = st.builds(paste, st.text(alphabet=CHARS + "\n\t", max_size=12))
RESIZE = "resize"  # not a key: the terminal's width changes (or not) and the line is drawn again
KEY = st.one_of(TYPED, st.sampled_from([*NAMED, RESIZE]), PASTE)
# A search: Ctrl-R, a query typed (Ctrl-R again for an older match, Backspace), and the key that ends it.
SEARCH = st.builds(
    lambda query, end: [ctrl("r"), *query, end],
    st.lists(st.one_of(st.sampled_from(["s", "t", "o", "1", " ", WIDE, ctrl("r"), BACKSPACE]), PASTE),
             max_size=6),
    st.sampled_from([ctrl("g"), ENTER, ctrl("e"), LEFT, ctrl("c"), TAB, UP, "\x1bx"]),
)
KEYS = st.lists(st.one_of(KEY.map(lambda key: [key]), SEARCH), max_size=16).map(lambda keys: sum(keys, []))
HISTORY = ["status", "set 1", "stop " + WIDE * 9 + " the longest line, wrapped on several rows", "se" + COMBINING]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([10, 20, 80]),
    st.sampled_from(["$ ", "\x1b[34malation\x1b[0m> ", "[trainee@alation-demo ~]$ "]),
    KEYS,
    st.randoms(use_true_random=False),
)
def test_the_screen_shows_the_line_and_the_cursor_after_every_read(width: int, prompt: str, keys: list[str],
                                                                    random: Random) -> None:
    run = Run(width, prompt, history=list(HISTORY))
    for key in keys:
        if key == RESIZE:
            run.resize(random.choice([10, 20, 80]))
        elif key[0] == "\x1b":  # a sequence split across two reads: nothing happens at the first
            cut = random.randrange(len(key))
            if cut:
                assert run.feed(key[:cut], []) == ""
            run.feed(key[cut:], [key])
        else:  # typed text, read in one go; while searching, one key a read (each may match or not)
            for part in (key if run.searching else [key]):
                run.feed(part, list(part))


def test_a_line_filling_its_last_row_exactly_has_the_cursor_at_the_start_of_the_next_and_no_blank_row_after() -> None:
    run = Run(10, "$ ")
    run.feed("abcdefg")
    assert run.screen.cursor == (0, 9)
    run.feed("h")  # the row is full: the cursor goes to the next row, as readline puts it, not past the edge
    assert run.screen.cursor == (1, 0) and run.screen.text(0) == "$ abcdefgh"
    run.feed("i")
    assert run.screen.cursor == (1, 1) and run.screen.text(1).rstrip() == "i"
    run.feed(BACKSPACE)
    assert run.screen.cursor == (1, 0) and not run.screen.text(1).strip()
    run.feed(LEFT)
    assert run.screen.cursor == (0, 9)
    run.feed(ENTER)
    assert run.outcomes[-1].text == "abcdefgh"
    assert run.screen.cursor == (1, 2)  # the next prompt, right under the line



def test_a_line_shrinking_from_three_rows_to_one_leaves_nothing_below_it() -> None:
    run = Run(10, "$ ", history=["x" * 25])
    run.feed(UP)
    assert run.screen.text(2).rstrip() == "xxxxxxx" and run.screen.cursor == (2, 7)
    run.feed(DOWN)
    assert [run.screen.text(r).rstrip() for r in range(3)] == ["$", "", ""] and run.screen.cursor == (0, 2)
    run.feed("y" * 25)
    run.feed(HOME)
    assert run.screen.cursor == (0, 2)
    run.feed(ctrl("k"))
    assert [run.screen.text(r).rstrip() for r in range(3)] == ["$", "", ""] and run.screen.cursor == (0, 2)


def test_a_wide_character_that_does_not_fit_on_a_row_starts_the_next_one() -> None:
    run = Run(10, "$ ", history=["abcdefg" + WIDE + "z"])
    run.feed("abcdefg" + WIDE + "z")
    assert run.screen.text(0) == "$ abcdefg " and run.screen.cursor == (1, 3)
    run.feed(LEFT + LEFT)  # on the wide character: the first cell of the next row
    assert run.screen.cursor == (1, 0)
    run.feed(HOME + END)
    assert run.screen.cursor == (1, 3)
    run.feed(ctrl("r"))
    run.feed(WIDE)  # the search's lead is placed alike: "(reverse-i-search)`" ends at the last cell of a row
    assert run.screen.text(1) == "-search)` " and run.screen.text(2).startswith(WIDE + "': ")
    assert run.editor.cursor == 7


def test_after_a_resize_the_line_is_drawn_again_at_the_new_width() -> None:
    run = Run(20, "$ ")
    run.feed("x" * 25 + LEFT * 3)
    assert run.screen.cursor == (1, 4)
    run.resize(10)  # (`resize` checks the screen)
    assert run.screen.cursor == (2, 4) and run.screen.text(2).rstrip() == "xxxxxxx"
    run.resize(30)
    assert run.screen.cursor == (0, 24) and not run.screen.text(1).strip() and not run.screen.text(2).strip()


def test_a_prompt_longer_than_the_width_wraps_and_the_cursor_follows_it() -> None:
    prompt = "[trainee@alation-demo ~]$ "
    run = Run(10, prompt)
    assert run.screen.cursor == (2, 6)
    run.feed("abcdef")
    assert run.screen.cursor == (3, 2)
    run.feed(HOME)
    assert run.screen.cursor == (2, 6)
    run.feed(ENTER)
    assert run.screen.cursor == (6, 6)  # the line's three rows, then the next prompt's


class Dumb:
    """A terminal that knows no escape code: it moves for \\r, \\n and \\b and writes printable characters (a wide
    one takes two cells, a combining mark joins the cell before); any other control character is an error."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = [[]]
        self.col = 0

    def feed(self, data: str) -> None:
        for char in data:
            row = self.rows[-1]
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.rows.append([])
            elif char == "\b":
                self.col = max(self.col - 1, 0)
            elif char == "\x07":
                pass  # the bell
            else:
                assert char.isprintable(), f"{char!r} sent to a dumb terminal"
                if unicodedata.combining(char):
                    row[self.col - 1] += char
                    continue
                row.extend([""] * (self.col + wcwidth(char) - len(row)))
                row[self.col] = char
                if wcwidth(char) == 2:
                    row[self.col + 1] = ""
                self.col += wcwidth(char)

    @property
    def row(self) -> str:
        return "".join(self.rows[-1])

    def cells(self, text: str) -> int:
        return sum(max(wcwidth(c), 0) for c in text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["$ ", "\x1b[34malation\x1b[0m> "]), KEYS)
def test_with_escapes_off_no_escape_is_sent_and_the_row_shows_the_line_the_cursor_in_it(prompt: str,
                                                                                       keys: list[str]) -> None:
    editor = LineEditor(lambda: 20, history=list(HISTORY), complete=complete, highlight=highlight, escapes=False)
    dumb = Dumb()
    plain = prompt.replace("\x1b[34m", "").replace("\x1b[0m", "")

    def send(out: str) -> None:
        assert "\x1b" not in out
        dumb.feed(out)

    send(editor.start(prompt))
    for key in keys:
        out, outcome = editor.feed(key)
        send(out)
        if outcome is not None:
            if outcome.kind == "line":  # the row the line was on shows what Enter returns
                assert "".join(dumb.rows[-2]).rstrip().endswith(shown(outcome.text).rstrip())
                assert dumb.row == "" and dumb.col == 0
            send(editor.start(prompt))
            continue
        lead = plain if dumb.row.startswith(plain) else re.match(r"\((failed )?reverse-i-search\)`[^']*': ",
                                                                   dumb.row)[0]
        assert dumb.row[len(lead):].startswith(shown(editor.text)), (dumb.row, editor.text)
        assert not dumb.row[len(lead) + len(shown(editor.text)):].strip(" ")  # (blanks where a longer line was)
        assert dumb.col == dumb.cells(lead + shown(editor.text[: editor.cursor])), (dumb.row, editor.cursor)


# Keys ---------------------------------------------------------------------------------------------------------
SEQUENCES = [
    ("\x1b[A", "up"), ("\x1b[B", "down"), ("\x1b[C", "right"), ("\x1b[D", "left"), ("\x1bOA", "up"),
    ("\x1bOD", "left"), ("\x1b[H", "home"), ("\x1b[F", "end"), ("\x1bOH", "home"), ("\x1bOF", "end"),
    ("\x1b[1~", "home"), ("\x1b[4~", "end"), ("\x1b[7~", "home"), ("\x1b[8~", "end"), ("\x1b[3~", "delete"),
    ("\x1b[1;5C", "word-right"), ("\x1b[1;5D", "word-left"), ("\x1b[1;3C", "word-right"),
    ("\x1bb", "word-left"), ("\x1bf", "word-right"), ("\x1bd", "kill-word"), ("\x1b\x7f", "kill-word-back"),
    ("\x1b<", "history-first"), ("\x1b>", "history-last"), ("\x1bx", ("alt", "x")),
    (paste("one\ntwo"), ("paste", "one\ntwo")),
    (paste("a\x1b[20b\x1b[201"), ("paste", "a\x1b[20b\x1b[201")),  # the end marker's start, inside the paste
]


def splits(data: str) -> list[list[str]]:
    """`data` read in two parts at every boundary, and a byte at a time."""
    return [[data[:i], data[i:]] for i in range(len(data) + 1)] + [list(data)]


@pytest.mark.parametrize(("data", "key"), SEQUENCES, ids=[repr(d) for d, _ in SEQUENCES])
def test_a_key_split_across_reads_at_any_byte_is_read_once_whole(data: str, key: object) -> None:
    for reads in splits("a" + data + "z"):
        parser = KeyParser()
        assert sum((parser.feed(part) for part in reads), []) == ["a", key, "z"], reads


def test_an_unknown_sequence_is_dropped_whole_never_typed_in() -> None:
    for data in ("\x1b[15~", "\x1b[1;2P", "\x1b[?1;2c", "\x1bOP", "\x1b[200;1~"):
        for reads in splits("a" + data + "z"):
            parser = KeyParser()
            assert sum((parser.feed(part) for part in reads), []) == ["a", "z"], reads


def test_a_lone_escape_waits_for_what_it_starts() -> None:
    parser = KeyParser()
    assert parser.feed("ab\x1b") == ["a", "b"]
    assert parser.feed("b") == ["word-left"]
    assert parser.feed("\x1b") == []
    assert parser.feed("[A") == ["up"]


def editor(**kw: object) -> LineEditor:
    e = LineEditor(lambda: 80, **kw)
    e.start("$ ")
    return e


def test_enter_returns_the_line_and_keeps_what_was_typed_after_it_for_the_next() -> None:
    e = editor(history=[])
    out, outcome = e.feed("ls -l\rpwd\rwho")
    assert outcome is not None and (outcome.kind, outcome.text) == ("line", "ls -l")
    assert out.endswith("\r\n") and "pwd" not in out
    assert e.feed("ami") == ("", None)  # typed while the command runs: kept for the next prompt
    e.start("$ ")
    assert e.step()[1].text == "pwd"
    e.start("$ ")
    out, outcome = e.step()
    assert outcome is None and e.text == "whoami" and out.endswith("whoami")


def test_ctrl_c_drops_the_line_and_ctrl_d_ends_the_input_only_on_an_empty_line() -> None:
    e = editor()
    out, outcome = e.feed("abc" + LEFT + ctrl("c"))
    assert (outcome.kind, outcome.text) == ("interrupt", "abc") and out.endswith("^C\r\n")
    e.start("$ ")
    out, outcome = e.feed("abc" + HOME + ctrl("d"))
    assert outcome is None and e.text == "bc"  # Ctrl-D on a line deletes the character under the cursor
    e.feed(END)
    assert e.feed(ctrl("d")) == ("", None)  # at its end: nothing
    e.feed(ctrl("u"))
    assert e.feed(ctrl("d"))[1].kind == "eof"


def test_the_end_of_the_input_ends_the_line_as_ctrl_d_on_an_empty_line_after_the_keys_before_it() -> None:
    e = editor()
    e.feed("ls\rrm -rf")
    e.end_of_input()
    e.start("$ ")
    assert e.step()[1].kind == "eof"  # a half-typed line is not run when the client goes away
    e = editor()
    e.feed("abc")
    assert e.end_of_input()[1].kind == "eof"


def test_history_keeps_consecutive_duplicates_once_tells_remember_and_forgets_edits_after_enter() -> None:
    history = ["one", "two"]
    told = []
    e = editor(history=history, remember=told.append)
    e.feed("new")
    e.feed(UP)
    assert e.text == "two"
    e.feed("X" + UP)
    assert e.text == "one"
    e.feed(DOWN)
    assert e.text == "twoX"  # an edit is kept while browsing
    e.feed(DOWN)
    assert e.text == "new"  # and so is the line being typed
    e.feed(UP + UP + ENTER)
    assert history == ["one", "two", "one"] and told == ["one"]
    e.start("$ ")
    e.feed(UP + UP)
    assert e.text == "two"  # the edit is gone
    e.feed(DOWN + ENTER)
    assert history == ["one", "two", "one"] and told == ["one"]  # the same as the last: kept once
    for line in ("  ", ""):
        e.start("$ ")
        e.feed(line + ENTER)
    assert history == ["one", "two", "one"] and told == ["one"]


def test_history_first_and_last() -> None:
    e = editor(history=["one", "two", "three"])
    e.feed("\x1b<")
    assert e.text == "one"
    e.feed("\x1b>")
    assert e.text == ""


HISTORY_R = ["alation_conf a", "sim backups", "alation_conf b conf"]


def test_ctrl_r_finds_the_newest_match_first_then_older_ones_and_says_when_it_fails() -> None:
    e = editor(history=list(HISTORY_R))
    e.feed("xy" + LEFT)
    out, _ = e.feed(ctrl("r"))
    assert "(reverse-i-search)`': " in out and e.text == "xy"
    out, _ = e.feed("conf")
    assert "(reverse-i-search)`conf': " in out and (e.text, e.cursor) == ("alation_conf b conf", 15)
    e.feed(ctrl("r"))
    assert (e.text, e.cursor) == ("alation_conf b conf", 8)  # an older match in the same line
    e.feed(ctrl("r"))
    assert (e.text, e.cursor) == ("alation_conf a", 8)
    out, _ = e.feed(ctrl("r"))
    assert "(failed reverse-i-search)`conf': " in out and e.text == "alation_conf a"  # the line stays
    out, _ = e.feed("x")
    assert "(failed reverse-i-search)`confx': " in out
    out, _ = e.feed(BACKSPACE + BACKSPACE)
    assert "(reverse-i-search)`con': " in out and "failed" not in out
    assert (e.text, e.cursor) == ("alation_conf b conf", 15)  # searched again from where the search began
    out, _ = e.feed(ctrl("g"))
    assert out.startswith("\r$ ") and (e.text, e.cursor) == ("xy", 1)  # the line and the cursor as they were


def test_ctrl_r_then_enter_runs_the_line_found_and_another_key_ends_the_search_keeping_it() -> None:
    e = editor(history=list(HISTORY_R))
    out, outcome = e.feed(ctrl("r") + "sim" + ENTER)
    assert (outcome.kind, outcome.text) == ("line", "sim backups")
    assert "\r$ sim backups" in out  # the prompt back before the line is run
    e.start("$ ")
    out, outcome = e.feed("xy" + ctrl("r") + "b " + ctrl("e"))
    assert outcome is None and (e.text, e.cursor) == ("alation_conf b conf", 19)
    assert out.endswith("\r$ alation_conf b conf\x1b[J")  # the search's lead gone, the cursor at the end


def test_a_key_that_ends_the_search_and_does_nothing_else_brings_the_prompt_back() -> None:
    run = Run(20, "$ ", history=list(HISTORY_R))
    run.feed(ctrl("r"), [ctrl("r")])
    run.feed("s", ["s"])
    assert run.screen.text(0) == "(reverse-i-search)`s"
    run.feed("\x1b[2~")  # Insert: bound to nothing
    assert run.screen.text(0).rstrip() == "$ sim backups" and run.screen.cursor == (0, 12)


def test_a_line_found_by_ctrl_r_then_down_comes_back_to_the_line_being_typed() -> None:
    e = editor(history=list(HISTORY_R))
    e.feed("xy" + ctrl("r") + "sim" + ctrl("e"))
    assert e.text == "sim backups"
    e.feed(DOWN)
    assert e.text == "alation_conf b conf"
    e.feed(DOWN)
    assert e.text == "xy"


def test_ctrl_r_searches_a_recalled_line_as_edited_and_keeps_the_edit() -> None:
    e = editor(history=["sim backups", "alation_conf a"])
    e.feed(UP + " X")
    e.feed(ctrl("r") + "X")
    assert (e.text, e.cursor) == ("alation_conf a X", 15)
    e.feed(ctrl("e") + ctrl("r") + "sim" + ctrl("e"))
    assert e.text == "sim backups"
    e.feed(DOWN)
    assert e.text == "alation_conf a X"


def test_ctrl_r_with_no_history_does_nothing() -> None:
    e = editor()
    assert e.feed(ctrl("r") + "a") == ("a", None)


# Tab ----------------------------------------------------------------------------------------------------------
def test_tab_finishes_a_unique_word_with_a_blank_and_a_directory_without() -> None:
    e = editor(complete=complete)
    out, _ = e.feed("sto" + TAB)
    assert e.text == "stop " and out.endswith("p ")
    e = editor(complete=lambda text, cursor: Completions(0, [("/data2/", "")]))
    e.feed("/da" + TAB)
    assert e.text == "/data2/"


def test_tab_with_several_candidates_gives_their_common_part_then_the_list() -> None:
    run = Run(80, "$ ")
    run.feed("o")
    run.feed(TAB)
    assert run.editor.text == "op"
    out = run.feed(TAB)
    assert "\r\n" in out and run.editor.text == "op"
    assert [run.screen.text(r).rstrip() for r in range(3)] == ["$ op", "open    option", "$ op"]
    e = editor(complete=complete)
    e.feed("x")
    assert e.feed(TAB)[0] == "\x07"  # nothing: the bell


def test_the_list_of_candidates_is_in_columns_wide_characters_too() -> None:
    run = Run(30, "$ ")
    run.feed(TAB)
    rows = [run.screen.text(r).rstrip() for r in range(5)]
    # 8 candidates at most 6 cells wide: columns of 8 cells, 3 a row, down then across.
    assert rows == ["$", "status  set     option", "start   show    日本", "stop    open", "$"]
    wide = [("日本", ""), ("ab", ""), ("cd", ""), ("ef", "")]
    run = Run(20, "$ ", completer=lambda text, cursor: Completions(0, wide))
    run.feed(TAB)
    assert [run.screen.text(r).rstrip() for r in range(4)] == ["$", "日本  cd", "ab    ef", "$"]
    described = [("日本", "Japan"), ("ab", "letters and more letters than a row holds")]
    run = Run(30, "$ ", completer=lambda text, cursor: Completions(0, described))
    run.feed(TAB)
    assert [run.screen.text(r).rstrip() for r in range(4)] == ["$", "日本  Japan", "ab    letters and more lette…",
                                                                "$"]


def test_more_than_a_hundred_candidates_are_listed_only_if_the_user_says_y() -> None:
    many = [(f"{n:03}", "") for n in range(101)]
    e = LineEditor(lambda: 80, complete=lambda text, cursor: Completions(0, many))
    screen = Screen(80)
    screen.feed(e.start("$ "))
    screen.feed(e.feed(TAB)[0])
    assert screen.text(1).rstrip() == "Display all 101 possibilities? (y or n)"
    screen.feed(e.feed("n")[0])
    assert screen.text(2).rstrip() == "$" and screen.cursor == (2, 2) and e.text == ""  # no list, the prompt
    screen.feed(e.feed(TAB)[0])
    screen.feed(e.feed("y")[0])
    rows = [screen.text(r).rstrip() for r in range(3, 12)]
    assert rows[0] == "Display all 101 possibilities? (y or n)"  # then 7 rows of 16, down then across
    assert rows[1] == "  ".join(f"{n:03}" for n in range(0, 101, 7))
    assert rows[7] == "  ".join(f"{n:03}" for n in range(6, 101, 7))
    assert rows[8] == "$" and screen.cursor == (11, 2)


def test_a_dumb_terminal_is_asked_too_before_a_hundred_candidates_are_listed() -> None:
    many = [(f"{n:03}", "") for n in range(101)]
    e = LineEditor(lambda: 80, complete=lambda text, cursor: Completions(0, many), escapes=False)
    shown = e.start("$ ") + e.feed(TAB)[0]
    assert shown.endswith("\r\nDisplay all 101 possibilities? (y or n)")
    shown = e.feed("y")[0]
    assert "\x1b" not in shown and "000  007" in shown and shown.endswith("\r\n$ ")


# Paste --------------------------------------------------------------------------------------------------------
def test_a_paste_of_several_lines_gives_the_first_the_next_ones_and_the_unfinished_last() -> None:
    e = editor()
    e.feed("echo ")
    out, outcome = e.feed(paste("one\r\ntwo\nthree\rfour"))
    assert (outcome.kind, outcome.text, outcome.pasted, outcome.unfinished) == ("line", "echo one", ["two", "three"],
                                                                                "four")
    e.start("$ ", default=outcome.unfinished)
    assert e.text == "four" and e.cursor == 4
    out, outcome = e.feed(paste("x\n"))
    assert (outcome.text, outcome.pasted, outcome.unfinished) == ("fourx", [], "")
    e.start("$ ")
    assert e.feed(paste("a\tb")) == ("a^Ib", None) and e.text == "a\tb"  # one line: typed in, not run


# Emacs keys ---------------------------------------------------------------------------------------------------
def test_emacs_keys_move_kill_and_yank_as_readline() -> None:
    e = editor()
    e.feed("alation_conf foo.bar x")
    e.feed(ALT_B)
    assert e.cursor == 21
    e.feed(ALT_B)
    assert e.cursor == 17  # words are letters and digits
    e.feed(ALT_B)
    assert e.cursor == 13
    e.feed(ALT_F)
    assert e.cursor == 16
    e.feed(ALT_F)
    assert e.cursor == 20
    e.feed(ctrl("w"))
    assert (e.text, e.cursor) == ("alation_conf  x", 13)
    e.feed(ctrl("y"))
    assert e.text == "alation_conf foo.bar x"
    e.feed(ctrl("a") + ALT_D)
    assert e.text == "_conf foo.bar x"
    e.feed(ctrl("e") + "\x1b\x7f")
    assert e.text == "_conf foo.bar "
    e.feed(LEFT + LEFT + ctrl("k"))
    assert e.text == "_conf foo.ba"
    e.feed(ctrl("t"))
    assert (e.text, e.cursor) == ("_conf foo.ab", 12)  # at the end: the two characters before the cursor
    e.feed(LEFT + LEFT + ctrl("u"))
    assert (e.text, e.cursor) == ("ab", 0)
    e.feed(ctrl("y") + DELETE)
    assert (e.text, e.cursor) == ("_conf foo.b", 10)


# Escapes off --------------------------------------------------------------------------------------------------
def test_with_escapes_off_the_cursor_moves_by_backspace_and_writing_again() -> None:
    e = LineEditor(lambda: 80, escapes=False, history=["sim backups"])
    dumb = Dumb()
    dumb.feed(e.start("\x1b[34malation\x1b[0m> "))
    steps = [("abc", "alation> abc", 12), (HOME, "alation> abc", 9), (END + "z", "alation> abcz", 13),
             (LEFT + LEFT + BACKSPACE, "alation> acz", 10),
             (ctrl("r") + "sim", "(reverse-i-search)`sim': sim backups", 25), (ctrl("g"), "alation> acz", 10)]
    for keys, row, col in steps:
        out = e.feed(keys)[0]
        assert "\x1b" not in out and "\n" not in out  # all on the one row
        dumb.feed(out)
        assert (dumb.row.rstrip(), dumb.col) == (row, col)  # (blanks where a longer row was)
    out, outcome = e.feed(ENTER)
    assert outcome.text == "acz"


# History file -------------------------------------------------------------------------------------------------
ENTRIES = ["alation_conf a", "two\nlines", "+plus and # hash", "with \x0c form feed, \r and \u2028 separator", "é 日"]


def test_the_history_file_is_prompt_toolkits_both_ways(tmp_path: Path) -> None:
    ours = HistoryFile(tmp_path / "ours")
    for entry in ENTRIES:
        ours.append(entry)
    assert list(reversed(list(FileHistory(str(tmp_path / "ours")).load_history_strings()))) == ENTRIES
    theirs = FileHistory(str(tmp_path / "theirs"))
    for entry in ENTRIES:
        theirs.store_string(entry)
    assert HistoryFile(tmp_path / "theirs").load() == ENTRIES
    assert (tmp_path / "ours").stat().st_mode & 0o777 == 0o600


def test_the_history_file_keeps_consecutive_duplicates_once_and_the_newest_entries(tmp_path: Path) -> None:
    saved = HistoryFile(tmp_path / "h")
    for entry in ("a", "a", "b", "a"):
        saved.append(entry)
    assert saved.load() == ["a", "b", "a"]
    saved.LIMIT = 2
    assert saved.load() == ["b", "a"]


def test_the_history_file_is_not_written_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    (tmp_path / "history").symlink_to(target)
    HistoryFile(tmp_path / "history").append("rm -rf")  # no error: the history is lost, not the session
    assert target.read_text() == "precious\n"


def test_a_history_file_that_cannot_be_read_or_written_costs_the_history_only(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert HistoryFile(tmp_path / "dir").load() == []
    HistoryFile(tmp_path / "dir").append("x")
    HistoryFile(tmp_path / "missing" / "h").append("x")
    assert HistoryFile(tmp_path / "missing" / "h").load() == []
    (tmp_path / "bad").write_bytes(b"\n# x\n+caf\xe9\n")
    assert HistoryFile(tmp_path / "bad").load() == ["caf\ufffd"]


def test_a_terminal_that_gives_no_width_is_taken_as_80_wide() -> None:
    # A pty request may give 0 columns (RFC 4254: the size in pixels instead); readline then assumes 80.
    screen = Screen(80)
    e = LineEditor(lambda: 0)
    screen.feed(e.start("$ "))
    screen.feed(e.feed("x" * 100 + HOME)[0])
    assert [screen.text(r).rstrip() for r in range(3)] == ["$ " + "x" * 78, "x" * 22, ""]
    assert screen.cursor == (0, 2)


def test_ctrl_r_twice_at_a_new_search_looks_for_the_last_search_again_as_bash_does() -> None:
    e = editor(history=list(HISTORY_R))
    e.feed(ctrl("r") + "sim" + ENTER)
    e.start("$ ")
    out, _ = e.feed(ctrl("r") + ctrl("r"))
    assert "(reverse-i-search)`sim': " in out and e.text == "sim backups"


# A hostile client: what it sends is bounded ------------------------------------------------------------
def test_a_line_is_at_most_max_line_long_and_more_rings_the_bell() -> None:
    e = editor()
    e.feed("x" * (MAX_LINE - 1))
    out, _ = e.feed("yz")
    assert len(e.text) == MAX_LINE and e.text.endswith("xy")
    assert e.feed("w")[0] == "\x07" and len(e.text) == MAX_LINE
    e.feed(ctrl("a"))
    e.feed(paste("more"))
    assert len(e.text) == MAX_LINE


def test_keys_typed_ahead_and_a_paste_without_its_end_are_bounded() -> None:
    e = LineEditor(lambda: 80)  # no prompt yet: a command is running
    e.feed("a" * (MAX_TYPEAHEAD + 1000))
    assert len(e.keys) == MAX_TYPEAHEAD
    parser = KeyParser()
    parser.feed("\x1b[200~")
    for _ in range(3):
        parser.feed("p" * MAX_PASTE)  # never ended: kept up to MAX_PASTE only
    (key,) = parser.feed("\x1b[201~")
    assert key == ("paste", "p" * MAX_PASTE)


def test_a_character_and_its_combining_marks_are_moved_over_and_deleted_whole() -> None:
    e = editor()
    e.feed("ae" + COMBINING + "z")
    e.feed(LEFT + LEFT)
    assert e.cursor == 1  # before the e, never between the e and its accent
    e.feed(RIGHT)
    assert e.cursor == 3
    e.feed(BACKSPACE)
    assert (e.text, e.cursor) == ("az", 1)
    e.feed("e" + COMBINING + LEFT + DELETE)
    assert (e.text, e.cursor) == ("az", 1)


def test_an_escape_inside_a_sequence_cuts_it_short_and_starts_the_next() -> None:
    assert KeyParser().feed("\x1b[1\x1b[A" + "x") == ["up", "x"]
    parser = KeyParser()
    assert parser.feed("\x1b[") == [] and parser.feed("\x1b[B") == ["down"]


def test_ctrl_underscore_undoes_the_changes_of_the_line_one_by_one() -> None:
    e = editor(history=["sim backups"])
    e.feed("ab" + BACKSPACE + "c" + ctrl("a") + ctrl("k"))
    assert e.text == ""
    for expected_text in ("ac", "a", "ab", "a", ""):
        e.feed("\x1f")
        assert e.text == expected_text
    assert e.feed("\x1f") == ("", None)  # nothing left to undo
    e.feed(UP + "x\x1f")
    assert e.text == "sim backups"  # a recalled line: undo takes back the edit, not the recall's line


def test_alt_dot_puts_in_the_last_word_of_the_line_before_and_again_of_older_ones() -> None:
    e = editor(history=["ls /data2/backup", "cat /opt/alation/site/logs/alation_backup.log"])
    e.feed("tail ")
    e.feed("\x1b.")
    assert e.text == "tail /opt/alation/site/logs/alation_backup.log" and e.cursor == len(e.text)
    e.feed("\x1b.")  # again: the one before, in its place
    assert e.text == "tail /data2/backup"
    assert e.feed("\x1b.")[0] == "\x07"  # no older line: the bell, the line as it was
    assert e.text == "tail /data2/backup"
    e.feed(" \x1b.")  # another key between: the newest again
    assert e.text == "tail /data2/backup /opt/alation/site/logs/alation_backup.log"
