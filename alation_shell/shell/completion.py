"""Completion for the interactive shell, shaped like pgcli's.

`suggest(text, table)` says what kind of word is expected at the cursor; it is pure (it reads only the text,
what the command table declares of each command's arguments, and the parameter catalog). `ShellCompleter`
finds the candidates of that kind on the live instance and ranks them: prefix matches first, then matches at
a segment of a dotted name, then fuzzy subsequences (`incvers` finds `alation.backup_v2.incr_backup_versions`).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from alation_shell import commands
from alation_shell.commands import COMMANDS, Arg, Command, CommandTable, Flag
from alation_shell.config.catalog import DAYS, Parameter, catalog
from alation_shell.errors import ShellError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.session import Session

# The kinds of word `suggest` can ask for.
COMMAND = "command"
PARAMETER = "parameter"
VALUE = "value"
FLAG = "flag"
ACTION = "action"
VERB = "verb"
GROUP = "group"
SUBCOMMAND = "subcommand"
PATH = "path"
TOPIC = "topic"
WORD = "word"  # one of the words an argument allows here (`restart`, `status`)

# What is suggested for a positional argument of each kind the command table declares.
_SUGGESTED = {
    commands.PARAMETER: PARAMETER,
    commands.ACTION: ACTION,
    commands.VERB: VERB,
    commands.GROUP: GROUP,
    commands.PATH: PATH,
    commands.COMMAND: TOPIC,
}
_NEEDS_QUOTES = re.compile(r"[\s'\"\\#]")
META_WIDTH = 40  # at 80 columns; a wider terminal shows more of each description
BACKUP_DIR = "/data2/backup"


class Suggestion:
    """One kind of word expected at the cursor, and where that word starts in the line.

    `parameter`: the parameter whose value is expected (VALUE). `value`: for `-s VALUE NAME`, the value the
    NAME must accept (PARAMETER). `command` and `only`: whose flags, and which of them (FLAG; empty: all);
    `command` also names whose subcommands (SUBCOMMAND), and `only` holds the words allowed (WORD).
    """

    __slots__ = ("kind", "word", "start", "parameter", "value", "command", "only")

    def __init__(
        self,
        kind: str,
        word: str,
        start: int,
        *,
        parameter: str | None = None,
        value: str | None = None,
        command: str | None = None,
        only: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.word = word  # the word as the shell will see it (quotes removed)
        self.start = start  # index in the line where the typed word (quotes included) begins
        self.parameter = parameter
        self.value = value
        self.command = command
        self.only = only

    def _key(self) -> tuple:
        return (self.kind, self.word, self.start, self.parameter, self.value, self.command, self.only)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Suggestion) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("parameter", "value", "command", "only")
            if getattr(self, name)
        )
        return f"Suggestion({self.kind!r}, {self.word!r}, {self.start}{extra})"


def split_words(text: str) -> tuple[list[str], str, int] | None:
    """Split a line as the session's shlex does: (finished words, the word at the cursor, where it starts).

    None when the cursor is inside a comment (an unquoted `#` ends the line for shlex, even mid-word).
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    start = len(text)
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and i + 1 < len(text) and text[i + 1] in '"\\':
                i += 1
                current.append(text[i])
            else:
                current.append(ch)
        elif ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        elif ch == "#":
            return None
        else:
            if not in_word:
                in_word, start = True, i
            if ch in "'\"":
                quote = ch
            elif ch == "\\":
                if i + 1 < len(text):
                    i += 1
                    current.append(text[i])
            else:
                current.append(ch)
        i += 1
    if not in_word:
        return words, "", len(text)
    return words, "".join(current), start


def suggest(text_before_cursor: str, table: CommandTable = COMMANDS) -> list[Suggestion]:
    """What kinds of word may come at the end of `text_before_cursor`, most likely first, for a session that
    runs the commands of `table`."""
    split = split_words(text_before_cursor)
    if split is None:
        return []
    words, word, start = split
    return _for_words(table, words, word, start)


def _for_words(table: CommandTable, words: list[str], word: str, start: int) -> list[Suggestion]:
    if not words:
        return [Suggestion(COMMAND, word, start)]
    command = table.find(words[0])
    if command is None:
        return []
    args = words[1:]
    if _set_flag(command) is not None:
        return _for_conf(command, args, word, start)
    if word.startswith("-") and command.flags:
        return [Suggestion(FLAG, word, start, command=command.name)]
    specs = command.args
    if command.subcommands:
        if not args:
            return [Suggestion(SUBCOMMAND, word, start, command=command.name)]
        sub = command.subcommand(args[0])
        if sub is None:
            return []
        specs, args = sub.args, args[1:]
    position = 0  # how many positional arguments come before the word
    i = 0
    while i < len(args):
        flag = command.flag(args[i]) if args[i].startswith("-") else None
        if flag is not None and flag.value is not None:
            if i + 1 == len(args):
                return _for_arg(table, flag.value, [], word, start)  # the flag's value is the word
            i += 1
        elif flag is None:
            if position < len(specs) and specs[position].kind == commands.LINE:
                return _for_arg(table, specs[position], args[i:], word, start)
            position += 1
        i += 1
    if position < len(specs):
        return _for_arg(table, specs[position], [], word, start)
    if specs and specs[-1].many:
        return _for_arg(table, specs[-1], [], word, start)
    return []


def _for_arg(table: CommandTable, arg: Arg, rest: list[str], word: str, start: int) -> list[Suggestion]:
    """The suggestions for the word as the argument `arg` (`rest`: the words of a LINE typed so far)."""
    if arg.kind == commands.LINE:
        if rest:
            return _for_words(table, rest, word, start)
        # The commands typed after sudo (`/etc/init.d/supervisord`, `service`), then any command.
        firsts = tuple(dict.fromkeys(c.typed_as for c in table.values() if c.sudo))
        return [Suggestion(WORD, word, start, only=firsts), Suggestion(COMMAND, word, start)]
    if arg.kind == commands.WORD:
        return [Suggestion(WORD, word, start, only=arg.choices)]
    kind = _SUGGESTED.get(arg.kind)
    return [Suggestion(kind, word, start)] if kind is not None else []


def _set_flag(command: Command) -> Flag | None:
    """The flag that sets a parameter named before or after it (`alation_conf NAME -s VALUE`), if any."""
    for flag in command.flags:
        if flag.value is not None and flag.value.kind == commands.VALUE:
            return flag
    return None


def _for_conf(command: Command, args: list[str], word: str, start: int) -> list[Suggestion]:
    """`alation_conf`: names, `-s` values in either order, and the modes' flags (first word only)."""
    setter = _set_flag(command)
    assert setter is not None
    set_words = (*setter.names, *setter.aliases)
    if args and args[0].startswith("-") and args[0] not in set_words:
        mode = command.flag(args[0])  # a mode of its own: its value alone follows
        value = mode.value if mode is not None else None
        if value is None or value.kind != commands.PARAMETER:
            return []  # --help, --changed: nothing follows
        return [Suggestion(PARAMETER, word, start)] if value.many or len(args) == 1 else []
    name: str | None = None  # a NAME still waiting for its -s
    value: str | None = None  # a `-s VALUE` still waiting for its NAME
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in set_words:
            if i + 1 == len(args):
                return _for_value(name, word, start) if value is None else []
            if name is not None:
                name = None
            else:
                value = args[i + 1]
            i += 2
            continue
        if value is not None:
            value = None
        else:
            name = arg
        i += 1
    if word.startswith("-"):
        if not args:
            return [Suggestion(FLAG, word, start, command=command.name)]
        if value is None:
            return [Suggestion(FLAG, word, start, command=command.name, only=setter.names)]
        return []
    names = [Suggestion(PARAMETER, word, start, value=value)]
    if name is not None and not word:
        return [Suggestion(FLAG, word, start, command=command.name, only=setter.names), *names]
    return names


def _for_value(name: str | None, word: str, start: int) -> list[Suggestion]:
    param = catalog().get(name) if name is not None else None
    if param is None:
        return []
    if param.type == "path" and not param.name.endswith("restore_file"):
        return [Suggestion(PATH, word, start)]
    return [Suggestion(VALUE, word, start, parameter=param.name)]


# Matching and ranking ---------------------------------------------------------------------------
def match_rank(word: str, name: str) -> tuple[int, int, int] | None:
    """How well `name` matches the typed `word` (lower is better), or None if it does not.

    (0, ..) prefix; (1, position, ..) prefix of a later segment (after `.`, `_`, `-` or `/`);
    (2, span, start) fuzzy subsequence, tighter and earlier first. Case-insensitive.
    """
    if not word:
        return (0, 0, 0)
    w, n = word.lower(), name.lower()
    if n.startswith(w):
        return (0, 0, 0)
    pos = n.find(w, 1)
    while pos != -1:
        if n[pos - 1] in "._-/":
            return (1, pos, 0)
        pos = n.find(w, pos + 1)
    best: tuple[int, int, int] | None = None
    first = n.find(w[0])
    while first != -1:
        pos = first
        for ch in w[1:]:
            pos = n.find(ch, pos + 1)
            if pos == -1:
                return best  # a later start cannot match either
        if best is None or pos - first < best[1]:
            best = (2, pos - first, first)
        first = n.find(w[0], first + 1)
    return best


class Candidate:
    """A word that may be offered: the text inserted, what the menu shows, and its meta column."""

    __slots__ = ("text", "display", "meta")

    def __init__(self, text: str, display: str = "", meta: str = "") -> None:
        self.text = text
        self.display = display or text
        self.meta = meta


def ranked(word: str, candidates: Iterable[Candidate], *, fuzzy: bool = True) -> list[Candidate]:
    """The candidates matching `word`, best first; ties keep the sources' order."""
    scored = []
    for index, candidate in enumerate(candidates):
        rank = match_rank(word, candidate.text)
        if rank is not None and (fuzzy or rank[0] == 0):
            scored.append((rank, index, candidate))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [candidate for _, _, candidate in scored]


def _short(text: str, width: int = META_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def meta_width(columns: int) -> int:
    """How much of a description the menu shows on a terminal `columns` wide: META_WIDTH at 80 columns,
    more on a wider one, never less than 20."""
    return max(20, columns - 80 + META_WIDTH)


def _quoted(text: str) -> str:
    return shlex.quote(text) if _NEEDS_QUOTES.search(text) else text


# The completer --------------------------------------------------------------------------------
class ShellCompleter(Completer):
    """Candidates for each kind of word `suggest` asks for, from the sources of truth, ranked.

    Commands, their flags and subcommands come from the session's command table. Current parameter values
    are read by `refresh()`, once per prompt, not on every key.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.values: dict[str, bool | int | str] = {}

    def refresh(self) -> None:
        """Re-read the current parameter values (call before each prompt)."""
        try:
            self.values = dict(self.session.registry.changed())
        except ShellError:
            self.values = {}  # a corrupt alation_conf.toml: the command itself reports it; show defaults

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        width = meta_width(self.session.terminal.width)
        seen: set[str] = set()
        for suggestion in suggest(text, self.session.table):
            for candidate in self.candidates(suggestion):
                inserted = _quoted(candidate.text)
                if inserted in seen:
                    continue
                seen.add(inserted)
                yield Completion(
                    inserted,
                    start_position=suggestion.start - len(text),
                    display=candidate.display,
                    display_meta=_short(candidate.meta, width),
                )

    def candidates(self, suggestion: Suggestion) -> list[Candidate]:
        """The ranked candidates for one suggestion."""
        word = suggestion.word
        kind = suggestion.kind
        if kind == PATH:
            return list(self._paths(word))
        if kind == PARAMETER:
            return ranked(word, self._parameters(suggestion.value))
        if kind == VALUE:
            found = ranked(word, self._values(suggestion.parameter, word), fuzzy=False)
            # A restore file is offered from the backups; any other path typed is completed as a path.
            return found or (list(self._paths(word)) if word.startswith("/") else [])
        if kind == FLAG:
            return ranked(word, self._flags(suggestion.command, suggestion.only), fuzzy=False)
        if kind == WORD:
            return ranked(word, (Candidate(choice) for choice in suggestion.only))
        if kind in (COMMAND, TOPIC):
            return ranked(word, (Candidate(c.name, meta=c.summary) for c in self.session.table.visible()))
        if kind == SUBCOMMAND:
            command = self.session.table.get(suggestion.command or "")
            subs = command.subcommands if command is not None else ()
            return ranked(word, (Candidate(sub.name, meta=sub.about) for sub in subs))
        sources = {ACTION: _actions, VERB: _verbs, GROUP: _groups}
        return ranked(word, sources[kind]())

    def _parameters(self, value: str | None) -> list[Candidate]:
        params = catalog().parameters
        if value is not None:
            # `-s VALUE NAME`: offer the parameters that accept VALUE, unless none does.
            params = [p for p in params if _accepts(p, value)] or params
        return [Candidate(p.name, meta=self._meta(p)) for p in params]

    def _meta(self, param: Parameter) -> str:
        shown = param.format(self.values.get(param.name, param.default))
        return f"{param.type} = {shown or repr('')}"

    def _backup_files(self, name: str) -> list[Candidate]:
        """The tarballs a restore parameter can name, as absolute paths, newest first: the Event Bus ones
        (`_alation_eb_backup`) for `eb_restore_file`, the others (`_alation_backup`) for `restore_file`."""
        wanted = "_alation_eb_backup.tar.gz" if name.endswith("eb_restore_file") else "_alation_backup.tar.gz"
        try:
            where = self.session.instance.resolve(BACKUP_DIR)
            found = [e for e in os.scandir(where.real) if e.name.endswith(wanted) and e.is_file(follow_symlinks=False)]
        except (ShellError, OSError):
            return []
        found.sort(key=lambda e: (e.name, e.stat(follow_symlinks=False).st_mtime_ns), reverse=True)
        return [Candidate(f"{BACKUP_DIR}/{e.name}", display=e.name) for e in found]

    def _values(self, name: str | None, word: str = "") -> list[Candidate]:
        param = catalog().get(name) if name is not None else None
        if param is None:
            return []
        if param.type == "path" and param.name.endswith("restore_file"):
            return self._backup_files(param.name)
        current = param.format(self.values.get(param.name, param.default))
        default = param.format(param.default)
        out = []
        if param.type == "days" and "," in word:
            # `mon,` goes on with the days not named yet, each completing the whole value.
            named, _, _ = word.rpartition(",")
            taken = set(named.split(","))
            return [Candidate(f"{named},{day}", display=day) for day in DAYS if day not in taken]
        for value in param.value_suggestions():
            meta = "current" if value == current else "default" if value == default else ""
            out.append(Candidate(value, meta=meta))
        return out

    def _flags(self, name: str | None, only: tuple[str, ...]) -> list[Candidate]:
        command = self.session.table.get(name or "")
        if command is None:
            return []
        return [Candidate(flag_name, meta=flag.about) for flag in command.flags for flag_name in flag.names
                if not only or flag_name in only]

    def _paths(self, word: str) -> Iterator[Candidate]:
        """Entries of the directory named in `word`, resolved inside the instance (never outside it)."""
        head, slash, base = word.rpartition("/")
        directory = head + slash
        instance = self.session.instance
        try:
            where = instance.resolve(directory or ".", self.session.cwd)
            entries = sorted(os.scandir(where.real), key=lambda e: e.name)
        except (ShellError, OSError):
            return
        for entry in entries:
            if not entry.name.startswith(base) or (entry.name.startswith(".") and not base.startswith(".")):
                continue
            try:
                if entry.is_symlink():
                    # Followed with chroot semantics: a link to /etc means the instance's /etc.
                    is_dir = instance.resolve(f"{where.shell.rstrip('/')}/{entry.name}").real.is_dir()
                else:
                    is_dir = entry.is_dir(follow_symlinks=False)
            except (ShellError, OSError):
                continue
            name = entry.name + ("/" if is_dir else "")
            yield Candidate(directory + name, display=name, meta="directory" if is_dir else "")


def _accepts(param: Parameter, value: str) -> bool:
    try:
        param.parse(value)
    except ShellError:
        return False
    return True


# Tables owned by other modules, imported on first use. ------------------------------------------------
def _actions() -> list[Candidate]:
    from alation_shell.commands.actions import actions

    return [Candidate(a.name, meta=a.description) for a in actions()]


def _verbs() -> list[Candidate]:
    from alation_shell.node.supervisord import VERBS

    return [Candidate(verb) for verb in VERBS]


def _groups() -> list[Candidate]:
    from alation_shell.node.supervisord import GROUPS

    return [Candidate(group) for group in GROUPS]
