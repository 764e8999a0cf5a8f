"""A walkthrough step's check: conditions on the state a command left, not on the text typed.

A condition is a TOML table with one subject key (what it looks at) and a few comparison keys:

    { parameter = "alation.backup_v2.incr_backup", equals = true }      also min, max, changed
    { backups = "incr", min = 2 }                                       full|incr|any; count, min, max, at
    { file = "/data2/backup/*_incr_backup.tar.gz" }                     exists (default true); globs allowed
    { rows = "rosemeta_article", equals = "baseline" }                  equals, min, max: a number or "baseline"
    { clock_after = "2026-03-09 01:00" }                                the virtual clock is past a time (UTC)
    { clock_advanced = "7d" }                                           ... moved this much since the step began
    { pending_restart = "supervisord", present = false }                a restart kind, or "any"
    { exit_status = 0 }                                                 of the last command typed in the step
    { ran = "sim clock" }                                               the last command began with these words
    { all = [ ... ] }, { any = [ ... ] }

Every condition may carry `message`, the explanation shown when it is not met (like Instruqt's `FAIL:`
lines); without one a plain sentence is made from the condition. Parsing checks each condition for what no
command could ever satisfy, and reports it with the condition's path (the loader turns paths into lines).
"""

from __future__ import annotations

import fnmatch
import os
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alation_shell.config.catalog import Catalog, Parameter
from alation_shell.errors import InvalidValue
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.node.layout import CATALOG_DB

KINDS = ("full", "incr", "any")
# Backups a scenario's text (and a path parameter's `equals`) may name; the walkthrough fills them in.
PLACEHOLDERS = ("latest_full", "latest_incr", "latest_full_eb", "latest_incr_eb")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class Mistake:
    """A fault in a scenario: where (a path into the parsed TOML) and what."""

    __slots__ = ("path", "message")

    def __init__(self, path: tuple, message: str) -> None:
        self.path = tuple(path)
        self.message = message

    def __repr__(self) -> str:
        return f"Mistake({self.path!r}, {self.message!r})"


class LastCommand:
    """The last command typed in the current step: its words and exit status."""

    __slots__ = ("words", "exit_code")

    def __init__(self, words: list[str], exit_code: int) -> None:
        self.words = words
        self.exit_code = exit_code


class State:
    """What checks look at, read lazily and at most once per check (a check runs after every command)."""

    def __init__(
        self,
        instance: Instance,
        registry,  # noqa: ANN001 - config.registry.Registry
        *,
        baseline: dict[str, int] | None = None,
        step_clock: datetime | None = None,
        last: LastCommand | None = None,
        expand: Callable[[str], str] | None = None,
    ) -> None:
        self.instance = instance
        self.registry = registry
        self.baseline = baseline or {}
        self.step_clock = step_clock
        self.last = last
        self.expand = expand or (lambda text: text)  # fills in {latest_incr} and the like
        self._values: dict | None = None
        self._backups: list | None = None
        self._now: datetime | None = None
        self._rows: dict[str, int] = {}

    def value(self, param: Parameter) -> object:
        if self._values is None:
            self._values = self.registry.changed()
        return self._values.get(param.name, param.default)

    def backups(self) -> list:
        if self._backups is None:
            from alation_shell.backup.records import list_backups

            self._backups = list_backups(self.instance)
        return self._backups

    def now(self) -> datetime:
        if self._now is None:
            self._now = clock.now(self.instance)
        return self._now

    def pending(self) -> dict[str, list[str]]:
        from alation_shell.node import supervisord

        return supervisord.pending_restarts(self.instance)

    def rows(self, table: str) -> int:
        if table not in self._rows:
            self._rows[table] = count_rows(self.instance, table)
        return self._rows[table]


def count_rows(instance: Instance, table: str) -> int:
    """Rows of a catalog table, read-only (`table` is one of the catalog's own, checked when parsed)."""
    path = instance.root / CATALOG_DB
    if not path.is_file():
        return 0
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return int(con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    except sqlite3.DatabaseError:
        return 0  # a table a restore has not brought back yet counts as empty
    finally:
        con.close()


class Condition:
    """One condition; `unmet(state)` is None when it holds, else why not (one line)."""

    kind = ""

    def __init__(self, path: tuple, message: str | None) -> None:
        self.path = path
        self.message = message

    def unmet(self, state: State) -> str | None:
        reason = self.why_not(state)
        if reason is None:
            return None
        return self.message or reason

    def why_not(self, state: State) -> str | None:
        raise NotImplementedError

    def parameters(self) -> list[tuple[Parameter, object]]:
        """(parameter, value) pairs this condition requires exactly (to find contradictions in `all`)."""
        return []


class ParameterIs(Condition):
    kind = "parameter"

    def __init__(self, path: tuple, message: str | None, param: Parameter, equals: object, low: int | None,
                 high: int | None, changed: bool | None, template: str | None = None) -> None:
        super().__init__(path, message)
        self.param, self.equals, self.low, self.high, self.changed = param, equals, low, high, changed
        self.template = template  # an `equals` naming a backup, e.g. "{latest_incr}", filled in when checked

    def why_not(self, state: State) -> str | None:
        p = self.param
        value = state.value(p)
        shown = p.format(value) if value != "" else "''"
        equals = self.equals
        if self.template is not None:
            try:
                equals = p.parse(state.expand(self.template))
            except InvalidValue:
                return f"{p.name} should name a backup, and there is none of that kind in /data2/backup"
        if equals is not None and value != equals:
            return f"{p.name} is {shown}; the step wants {p.format(equals)}"
        if self.low is not None and isinstance(value, int) and value < self.low:
            return f"{p.name} is {shown}; the step wants {self.low} or more"
        if self.high is not None and isinstance(value, int) and value > self.high:
            return f"{p.name} is {shown}; the step wants {self.high} or less"
        if self.changed is not None and (value != p.default) != self.changed:
            return (f"{p.name} still has its default value {shown}" if self.changed
                    else f"{p.name} is {shown}; the step wants its default {p.format(p.default)}")
        return None

    def parameters(self) -> list[tuple[Parameter, object]]:
        return [(self.param, self.equals)] if self.equals is not None else []


class BackupsPresent(Condition):
    kind = "backups"

    def __init__(self, path: tuple, message: str | None, which: str, low: int | None, high: int | None,
                 at: str | None) -> None:
        super().__init__(path, message)
        self.which, self.low, self.high, self.at = which, low, high, at

    def why_not(self, state: State) -> str | None:
        found = [r for r in state.backups() if self.which == "any" or r.kind == self.which]
        if self.at is not None:
            found = [r for r in found if r.created.astimezone(UTC).strftime("%H:%M") == self.at]
        n = len(found)
        what = {"full": "full backups", "incr": "incremental backups", "any": "backups"}[self.which]
        if self.at is not None:
            what += f" taken at {self.at} UTC"
        if self.low is not None and n < self.low:
            return f"{n} {what} in /data2/backup; the step wants {self.low} or more"
        if self.high is not None and n > self.high:
            return f"{n} {what} in /data2/backup; the step wants {self.high} at most"
        return None


class FileExists(Condition):
    kind = "file"

    def __init__(self, path: tuple, message: str | None, pattern: str, exists: bool) -> None:
        super().__init__(path, message)
        self.pattern, self.exists = pattern, exists

    def why_not(self, state: State) -> str | None:
        found = bool(matching_files(state.instance, self.pattern))
        if found == self.exists:
            return None
        return f"{self.pattern}: no such file" if self.exists else f"{self.pattern} is still there"


def matching_files(instance: Instance, pattern: str) -> list[str]:
    """Shell paths matching `pattern` (a glob in its last part only), resolved inside the instance."""
    directory, _, name = pattern.rpartition("/")
    where = instance.resolve(directory or "/")
    if not any(c in name for c in "*?["):
        target = instance.resolve(pattern)
        return [target.shell] if os.path.lexists(target.real) else []
    try:
        names = os.listdir(where.real)
    except OSError:
        return []
    return [f"{where.shell.rstrip('/')}/{n}" for n in sorted(fnmatch.filter(names, name))]


class RowsCount(Condition):
    kind = "rows"

    def __init__(self, path: tuple, message: str | None, table: str, equals: int | str | None,
                 low: int | str | None, high: int | str | None) -> None:
        super().__init__(path, message)
        self.table, self.equals, self.low, self.high = table, equals, low, high

    def _bound(self, state: State, bound: int | str) -> int:
        return state.baseline.get(self.table, 0) if bound == "baseline" else int(bound)

    def why_not(self, state: State) -> str | None:
        n = state.rows(self.table)

        def said(bound: int | str) -> str:
            value = self._bound(state, bound)
            return f"{value} (as at the last backup)" if bound == "baseline" else str(value)

        if self.equals is not None and n != self._bound(state, self.equals):
            return f"the catalog table {self.table} has {n} rows; the step wants {said(self.equals)}"
        if self.low is not None and n < self._bound(state, self.low):
            return f"the catalog table {self.table} has {n} rows; the step wants at least {said(self.low)}"
        if self.high is not None and n > self._bound(state, self.high):
            return f"the catalog table {self.table} has {n} rows; the step wants at most {said(self.high)}"
        return None


class ClockAfter(Condition):
    kind = "clock_after"

    def __init__(self, path: tuple, message: str | None, after: datetime) -> None:
        super().__init__(path, message)
        self.after = after

    def why_not(self, state: State) -> str | None:
        now = state.now()
        if now >= self.after:
            return None
        return (f"the virtual clock is at {clock.format_time(now)} UTC; the step wants it at "
                f"{clock.format_time(self.after)} UTC or later")


class ClockAdvanced(Condition):
    kind = "clock_advanced"

    def __init__(self, path: tuple, message: str | None, by: timedelta, text: str) -> None:
        super().__init__(path, message)
        self.by, self.text = by, text

    def why_not(self, state: State) -> str | None:
        start = state.step_clock or clock.START
        if state.now() - start >= self.by:
            return None
        return f"the virtual clock has moved less than {self.text} since the step began"


class PendingRestart(Condition):
    kind = "pending_restart"

    def __init__(self, path: tuple, message: str | None, restart: str, present: bool, hint: str) -> None:
        super().__init__(path, message)
        self.restart, self.present, self.hint = restart, present, hint

    def why_not(self, state: State) -> str | None:
        pending = state.pending()
        waiting = [n for k, names in pending.items() if self.restart in ("any", k) for n in names]
        if bool(waiting) == self.present:
            return None
        if self.present:
            return f"no {'' if self.restart == 'any' else self.restart + ' '}restart is pending"
        return f"{', '.join(waiting)} still waits for {self.hint}"


class ExitStatus(Condition):
    kind = "exit_status"

    def __init__(self, path: tuple, message: str | None, status: int) -> None:
        super().__init__(path, message)
        self.status = status

    def why_not(self, state: State) -> str | None:
        if state.last is None:
            return "no command typed in this step yet"
        if state.last.exit_code == self.status:
            return None
        return f"the last command exited with status {state.last.exit_code}; the step wants {self.status}"


class Ran(Condition):
    kind = "ran"

    def __init__(self, path: tuple, message: str | None, words: list[str]) -> None:
        super().__init__(path, message)
        self.words = words

    def why_not(self, state: State) -> str | None:
        last = state.last
        if last is not None and last.words[: len(self.words)] == self.words:
            return None
        return f"the step wants you to run `{' '.join(self.words)}`"


class AllOf(Condition):
    kind = "all"

    def __init__(self, path: tuple, message: str | None, parts: list[Condition]) -> None:
        super().__init__(path, message)
        self.parts = parts

    def unmet(self, state: State) -> str | None:
        for part in self.parts:
            reason = part.unmet(state)
            if reason is not None:
                return self.message or reason
        return None

    def parameters(self) -> list[tuple[Parameter, object]]:
        return [pair for part in self.parts for pair in part.parameters()]


class AnyOf(Condition):
    kind = "any"

    def __init__(self, path: tuple, message: str | None, parts: list[Condition]) -> None:
        super().__init__(path, message)
        self.parts = parts

    def unmet(self, state: State) -> str | None:
        reasons = []
        for part in self.parts:
            reason = part.unmet(state)
            if reason is None:
                return None
            reasons.append(reason)
        return self.message or "; or ".join(reasons)


# Parsing ----------------------------------------------------------------------------------------
SUBJECTS = {
    "parameter": {"equals", "min", "max", "changed"},
    "backups": {"count", "min", "max", "at"},
    "file": {"exists"},
    "rows": {"equals", "min", "max"},
    "clock_after": set(),
    "clock_advanced": set(),
    "pending_restart": {"present"},
    "exit_status": set(),
    "ran": set(),
    "all": set(),
    "any": set(),
}


class _Parser:
    def __init__(self, catalog: Catalog, restarts: dict, commands: set[str], tables: tuple[str, ...],
                 mistakes: list[Mistake]) -> None:
        self.catalog = catalog
        self.restarts = restarts
        self.commands = commands
        self.tables = tables
        self.mistakes = mistakes

    def fail(self, path: tuple, message: str) -> None:
        self.mistakes.append(Mistake(path, message))

    def condition(self, data: object, path: tuple) -> Condition | None:
        if isinstance(data, list):
            return self.group("all", data, path, None)
        if not isinstance(data, dict):
            self.fail(path, "a condition is a table such as { parameter = \"NAME\", equals = VALUE }")
            return None
        subjects = [key for key in data if key in SUBJECTS]
        if len(subjects) != 1:
            what = f"several ({', '.join(subjects)})" if subjects else "none"
            self.fail(path, f"a condition names exactly one of {', '.join(SUBJECTS)}; this one names {what}")
            return None
        subject = subjects[0]
        allowed = SUBJECTS[subject] | {subject, "message"}
        for key in data:
            if key not in allowed:
                self.fail((*path, key), f"unknown key {key!r} in a {subject} condition; allowed: "
                          + ", ".join(sorted(allowed)))
        message = data.get("message")
        if message is not None and not isinstance(message, str):
            self.fail((*path, "message"), "message must be a string")
            message = None
        where = (*path, subject)
        value = data[subject]
        if subject in ("all", "any"):
            return self.group(subject, value, where, message)
        return getattr(self, subject)(data, value, path, where, message)

    def group(self, kind: str, items: object, path: tuple, message: str | None) -> Condition | None:
        if not isinstance(items, list) or not items:
            self.fail(path, f"{kind} takes a non-empty list of conditions")
            return None
        parts = [self.condition(item, (*path, i)) for i, item in enumerate(items)]
        good = [p for p in parts if p is not None]
        if kind == "all":
            wanted: dict[str, tuple[object, tuple]] = {}
            for part in good:
                for param, value in part.parameters():
                    if param.name in wanted and wanted[param.name][0] != value:
                        self.fail(part.path, f"no command could satisfy this check: it wants {param.name} to be "
                                  f"both {param.format(wanted[param.name][0])} and {param.format(value)}")
                    wanted.setdefault(param.name, (value, part.path))
            return AllOf(path, message, good)
        return AnyOf(path, message, good)

    def _int(self, data: dict, key: str, path: tuple, *, low: int = 0, baseline: bool = False) -> int | str | None:
        if key not in data:
            return None
        value = data[key]
        if baseline and value == "baseline":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            also = ' or "baseline"' if baseline else ""
            self.fail((*path, key), f"{key} must be a whole number ({low} or more){also}, not {value!r}")
            return None
        return value

    def _range(self, low: int | str | None, high: int | str | None, path: tuple) -> None:
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.fail(path, f"no command could satisfy this check: min {low} is above max {high}")

    def parameter(self, data: dict, name: object, path: tuple, where: tuple, message: str | None) -> Condition | None:
        if not isinstance(name, str) or name not in self.catalog:
            self.fail(where, self.catalog.unknown_message(str(name)).replace("no parameter matches",
                                                                              "unknown parameter"))
            return None
        param = self.catalog.lookup(name)
        equals = template = None
        if isinstance(data.get("equals"), str) and PLACEHOLDER.search(data["equals"]):
            template = data["equals"]
            unknown = [n for n in PLACEHOLDER.findall(template) if n not in PLACEHOLDERS]
            if unknown:
                self.fail((*path, "equals"), f"unknown placeholder {{{unknown[0]}}}; known: "
                          + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
            elif param.type != "path":
                self.fail((*path, "equals"), f"{{...}} names a backup file: it fits path parameters, not {param.name}")
        elif "equals" in data:
            try:
                equals = param.parse(toml_text(data["equals"]))
            except InvalidValue:
                self.fail((*path, "equals"), f"no command could satisfy this check: {param.name} cannot be "
                          f"{data['equals']!r} (it takes {param.expected()})")
        bounds = []
        for key in ("min", "max"):
            bound = None
            if key in data:
                if param.type != "int":
                    self.fail((*path, key), f"{key} needs a whole-number parameter; {param.name} takes "
                              f"{param.expected()}")
                else:
                    bound = self._int(data, key, path, low=-(1 << 62))
                    if isinstance(bound, int) and ((key == "min" and param.max is not None and bound > param.max)
                                                   or (key == "max" and param.min is not None and bound < param.min)):
                        self.fail((*path, key), f"no command could satisfy this check: {param.name} takes "
                                  f"{param.expected()}")
            bounds.append(bound)
        self._range(bounds[0], bounds[1], path)
        changed = data.get("changed")
        if changed is not None and not isinstance(changed, bool):
            self.fail((*path, "changed"), "changed must be true or false")
            changed = None
        if equals is not None and changed is not None and (equals != param.default) != changed:
            self.fail(path, f"no command could satisfy this check: equals {param.format(equals)} and changed "
                      f"= {str(changed).lower()} contradict each other")
        if equals is None and bounds == [None, None] and changed is None and "equals" not in data:
            self.fail(path, "a parameter condition needs equals, min, max or changed")
            return None
        return ParameterIs(path, message, param, equals, bounds[0], bounds[1], changed, template)

    def backups(self, data: dict, which: object, path: tuple, where: tuple, message: str | None) -> Condition | None:
        if which not in KINDS:
            self.fail(where, f"backups is one of {', '.join(KINDS)}, not {which!r}")
            return None
        count = self._int(data, "count", path)
        low, high = self._int(data, "min", path), self._int(data, "max", path)
        if count is not None:
            if low is not None or high is not None:
                self.fail(path, "give count, or min and/or max, not both")
            low = high = count
        if low is None and high is None:
            low = 1
        self._range(low, high, path)
        at = data.get("at")
        if at is not None and (not isinstance(at, str) or not _HHMM.fullmatch(at)):
            self.fail((*path, "at"), f"at is a time of day HH:MM (UTC), not {at!r}")
            at = None
        return BackupsPresent(path, message, str(which), low, high, at)  # type: ignore[arg-type]

    def file(self, data: dict, pattern: object, path: tuple, where: tuple, message: str | None) -> Condition | None:
        if not isinstance(pattern, str) or not pattern.startswith("/") or "\0" in pattern:
            self.fail(where, f"file is an absolute path inside the shell (e.g. /data2/backup/NAME), not {pattern!r}")
            return None
        if any(c in pattern.rpartition("/")[0] for c in "*?["):
            self.fail(where, "only the last part of a file path may hold * ? [ ] patterns")
            return None
        exists = data.get("exists", True)
        if not isinstance(exists, bool):
            self.fail((*path, "exists"), "exists must be true or false")
            exists = True
        return FileExists(path, message, pattern, exists)

    def rows(self, data: dict, table: object, path: tuple, where: tuple, message: str | None) -> Condition | None:
        if table not in self.tables:
            self.fail(where, f"no command could satisfy this check: the catalog has no table {table!r} "
                      f"(tables: {', '.join(self.tables)})")
            return None
        equals = self._int(data, "equals", path, baseline=True)
        low = self._int(data, "min", path, baseline=True)
        high = self._int(data, "max", path, baseline=True)
        if equals is None and low is None and high is None:
            self.fail(path, "a rows condition needs equals, min or max")
            return None
        self._range(low, high, path)
        return RowsCount(path, message, str(table), equals, low, high)

    def clock_after(self, data: dict, text: object, path: tuple, where: tuple, message: str | None,
                    ) -> Condition | None:
        when = parse_time(text)
        if when is None:
            self.fail(where, f"clock_after is a UTC time such as \"2026-03-09 01:00\", not {text!r}")
            return None
        return ClockAfter(path, message, when)

    def clock_advanced(self, data: dict, text: object, path: tuple, where: tuple, message: str | None,
                       ) -> Condition | None:
        try:
            by = clock.parse_duration(str(text))
        except InvalidValue as exc:
            self.fail(where, exc.message)
            return None
        return ClockAdvanced(path, message, by, str(text))

    def pending_restart(self, data: dict, kind: object, path: tuple, where: tuple, message: str | None,
                        ) -> Condition | None:
        if kind != "any" and kind not in self.restarts:
            self.fail(where, f"no command could satisfy this check: no restart kind {kind!r} (one of any, "
                      f"{', '.join(self.restarts)})")
            return None
        present = data.get("present", True)
        if not isinstance(present, bool):
            self.fail((*path, "present"), "present must be true or false")
            present = True
        hint = self.restarts.get(kind, {}).get("hint", "a restart")
        return PendingRestart(path, message, str(kind), present, hint)

    def exit_status(self, data: dict, status: object, path: tuple, where: tuple, message: str | None,
                    ) -> Condition | None:
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 255:
            self.fail(where, f"no command could satisfy this check: an exit status is 0 to 255, not {status!r}")
            return None
        return ExitStatus(path, message, status)

    def ran(self, data: dict, text: object, path: tuple, where: tuple, message: str | None) -> Condition | None:
        words = text.split() if isinstance(text, str) else []
        if not words:
            self.fail(where, "ran names a command, e.g. \"sim clock\"")
            return None
        if os.path.basename(words[0]) not in self.commands:
            self.fail(where, f"no command could satisfy this check: {words[0]!r} is not a command of the shell")
            return None
        return Ran(path, message, words)


def parse_condition(data: object, path: tuple, mistakes: list[Mistake], catalog: Catalog) -> Condition | None:
    """A condition (or a list of them, meaning all) from parsed TOML; faults are added to `mistakes`."""
    from alation_shell.commands import COMMANDS
    from alation_shell.node.catalog import CATALOG_TABLES

    parser = _Parser(catalog, catalog.restarts, set(COMMANDS), CATALOG_TABLES, mistakes)
    return parser.condition(data, path)


def toml_text(value: object) -> str:
    """A TOML value as an operator would type it after `-s` (true -> True, 6 -> 6)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_time(text: object) -> datetime | None:
    """'2026-03-09 01:00' or an ISO time (UTC unless it says otherwise); a TOML datetime as is."""
    if isinstance(text, datetime):
        when = text
    elif isinstance(text, str):
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
