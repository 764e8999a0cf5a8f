"""Walkthrough scenarios: TOML data files a trainer writes without touching code (SPEC §8).

    title = "Enable incremental backups"
    summary = "One line for the list of scenarios."
    minutes = 5                                   # optional length estimate (else 2 per step)

    [setup]                                       # all optional, applied in this order before step 1
    settings = { "alation.backup_v2.incr_backup" = true }   # in effect as if services were restarted
    advance = "1d"                                # `sim advance`: activity and scheduled backups
    backups = 3                                   # take this many scheduled backups (the clock moves to each)
    delete_rows = [{ table = "rosemeta_article", count = 25 }]   # after a baseline of every table's rows

    [[steps]]
    title = "Turn incremental backups on"
    instruction = "..."                           # shown above the prompt
    check = { parameter = "alation.backup_v2.incr_backup", equals = true }   # or a list (all), see checks.py
    hints = ["a nudge", "the next part"]
    solution = ["alation_conf alation.backup_v2.incr_backup -s True"]   # lines as typed (YES answers too)

    [finish]
    advance = "7d"                                # fast-forward at the end ("" for none)
    message = "..."

Instruction, hints and solution lines may name backups in /data2/backup: `{latest_full}`, `{latest_incr}`
(the alation tarball, as a shell path) and `{latest_full_eb}`, `{latest_incr_eb}` (its event-bus partner).

`load` reports every mistake of a file at once, each with its line (tomllib gives no positions; a scan of
the same text does, tomllines.py).
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta

from alation_shell.config.catalog import Catalog, Parameter, catalog
from alation_shell.errors import InvalidValue, ShellError
from alation_shell.node import clock
from alation_shell.training.checks import (
    PLACEHOLDER,
    PLACEHOLDERS,
    Condition,
    Mistake,
    parse_condition,
    toml_text,
)
from alation_shell.training.tomllines import KeyLines

SCENARIO_DIR = os.path.join(os.path.dirname(__file__), "scenarios")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")

TOP_KEYS = ("title", "summary", "minutes", "setup", "steps", "finish")
SETUP_KEYS = ("settings", "advance", "backups", "delete_rows")
STEP_KEYS = ("title", "instruction", "check", "hints", "solution", "setup")
FINISH_KEYS = ("advance", "message")
MAX_SETUP_BACKUPS = 30


class ScenarioError(ShellError):
    """A scenario that cannot be used; the message names its first mistake and how to list them all."""


class Setup:
    """What is applied before a step: settings, a clock advance, scheduled backups, deleted rows."""

    __slots__ = ("settings", "advance", "backups", "delete_rows")

    def __init__(self) -> None:
        self.settings: list[tuple[Parameter, str]] = []  # (parameter, value as typed after -s)
        self.advance: str = ""
        self.backups = 0
        self.delete_rows: list[tuple[str, int]] = []

    def __bool__(self) -> bool:
        return bool(self.settings or self.advance or self.backups or self.delete_rows)


class Step:
    """One step: what to do, how it is checked, nudges, and the commands that do it."""

    __slots__ = ("number", "title", "instruction", "check", "hints", "solution", "setup")

    def __init__(self, number: int) -> None:
        self.number = number  # 1-based
        self.title = ""
        self.instruction = ""
        self.check: Condition | None = None
        self.hints: list[str] = []
        self.solution: list[str] = []
        self.setup = Setup()


class Scenario:
    """A parsed, validated scenario."""

    def __init__(self, name: str, source: str, lines: KeyLines) -> None:
        self.name = name
        self.source = source  # file it came from
        self.lines = lines
        self.title = ""
        self.summary = ""
        self.minutes = 0
        self.setup = Setup()
        self.steps: list[Step] = []
        self.finish_advance = "7d"
        self.finish_message = ""

    def line_of(self, path: tuple) -> int:
        return self.lines.line(path)


class Report:
    """Every mistake found in one scenario file, each with its line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mistakes: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.mistakes.append((line, message))

    def lines(self) -> list[str]:
        """`FILE:LINE: message`, in line order."""
        return [f"{self.source}:{line}: {message}" for line, message in sorted(self.mistakes, key=lambda m: m[0])]


def scenario_name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def parse(text: str, source: str, report: Report, cat: Catalog | None = None) -> Scenario | None:
    """Parse and validate a scenario's text; every mistake goes to `report`. None if it cannot be used."""
    cat = cat or catalog()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _AT_LINE.search(str(exc))
        report.add(int(m.group(1)) if m else 1, f"invalid TOML: {_AT_LINE.sub('', str(exc)).strip()}")
        return None
    lines = KeyLines(text)
    mistakes: list[Mistake] = []
    scenario = Scenario(scenario_name(source), source, lines)
    _unknown_keys(data, (), TOP_KEYS, "the scenario", mistakes)
    scenario.title = _text(data, "title", (), mistakes, required=True)
    scenario.summary = _text(data, "summary", (), mistakes, required=True)
    if "\n" in scenario.summary:
        mistakes.append(Mistake(("summary",), "summary is one line (it is shown in the list of scenarios)"))
    minutes = data.get("minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1):
        mistakes.append(Mistake(("minutes",), f"minutes is a whole number of minutes (1 or more), not {minutes!r}"))
        minutes = None
    scenario.setup = _setup(data.get("setup", {}), ("setup",), mistakes, cat)
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        mistakes.append(Mistake(("steps",), "a scenario needs at least one [[steps]] table"))
        steps = []
    for i, spec in enumerate(steps):
        scenario.steps.append(_step(spec, i, mistakes, cat))
    scenario.minutes = minutes if isinstance(minutes, int) else 1 + 2 * len(scenario.steps)
    finish = data.get("finish", {})
    if not isinstance(finish, dict):
        mistakes.append(Mistake(("finish",), "finish is a table ([finish])"))
        finish = {}
    _unknown_keys(finish, ("finish",), FINISH_KEYS, "[finish]", mistakes)
    scenario.finish_advance = _text(finish, "advance", ("finish",), mistakes) if "advance" in finish else "7d"
    if scenario.finish_advance:
        _duration(scenario.finish_advance, ("finish", "advance"), mistakes)
    scenario.finish_message = _text(finish, "message", ("finish",), mistakes)
    for mistake in mistakes:
        report.add(lines.line(mistake.path), mistake.message)
    return None if report.mistakes else scenario


def _unknown_keys(table: object, path: tuple, allowed: tuple[str, ...], what: str, mistakes: list[Mistake]) -> None:
    if not isinstance(table, dict):
        return
    for key in table:
        if key not in allowed:
            mistakes.append(Mistake((*path, key), f"unknown key {key!r} in {what}; allowed: {', '.join(allowed)}"))


def _text(table: dict, key: str, path: tuple, mistakes: list[Mistake], *, required: bool = False) -> str:
    value = table.get(key)
    if value is None:
        if required:
            mistakes.append(Mistake(path, f"{key} is missing"))
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        mistakes.append(Mistake((*path, key), f"{key} must be a non-empty string"))
        return ""
    return value


def _strings(table: dict, key: str, path: tuple, mistakes: list[Mistake]) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        mistakes.append(Mistake((*path, key), f"{key} is a list of non-empty strings"))
        return []
    for i, text in enumerate(value):
        for name in PLACEHOLDER.findall(text):
            if name not in PLACEHOLDERS:
                mistakes.append(Mistake((*path, key, i), f"unknown placeholder {{{name}}}; known: "
                                        + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)))
    return value


def _duration(text: str, path: tuple, mistakes: list[Mistake]) -> timedelta | None:
    try:
        return clock.parse_duration(text)
    except InvalidValue as exc:
        mistakes.append(Mistake(path, exc.message))
        return None


def _setup(spec: object, path: tuple, mistakes: list[Mistake], cat: Catalog) -> Setup:
    setup = Setup()
    if not isinstance(spec, dict):
        mistakes.append(Mistake(path, "setup is a table ([setup])"))
        return setup
    _unknown_keys(spec, path, SETUP_KEYS, "setup", mistakes)
    settings = spec.get("settings", {})
    if not isinstance(settings, dict):
        mistakes.append(Mistake((*path, "settings"), "settings is a table of parameter = value"))
        settings = {}
    for name, value in settings.items():
        where = (*path, "settings", name)
        param = cat.get(name)
        if param is None:
            mistakes.append(Mistake(where, cat.unknown_message(name).replace("no parameter matches",
                                                                           "unknown parameter")))
            continue
        try:
            param.parse(toml_text(value))
        except InvalidValue as exc:
            mistakes.append(Mistake(where, exc.message))
            continue
        setup.settings.append((param, toml_text(value)))
    if "advance" in spec:
        text = spec["advance"]
        if not isinstance(text, str):
            mistakes.append(Mistake((*path, "advance"), "advance is a duration such as \"1d\""))
        elif _duration(text, (*path, "advance"), mistakes) is not None:
            setup.advance = text
    backups = spec.get("backups", 0)
    if isinstance(backups, bool) or not isinstance(backups, int) or not 0 <= backups <= MAX_SETUP_BACKUPS:
        mistakes.append(Mistake((*path, "backups"), f"backups is a number of backups from 0 to {MAX_SETUP_BACKUPS}"))
    else:
        setup.backups = backups
    deletes = spec.get("delete_rows", [])
    if not isinstance(deletes, list):
        mistakes.append(Mistake((*path, "delete_rows"), "delete_rows is a list of { table = NAME, count = N }"))
        deletes = []
    from alation_shell.node.catalog import CATALOG_TABLES

    for i, item in enumerate(deletes):
        where = (*path, "delete_rows", i)
        if not isinstance(item, dict):
            mistakes.append(Mistake(where, "each delete_rows item is { table = NAME, count = N }"))
            continue
        _unknown_keys(item, where, ("table", "count"), "delete_rows", mistakes)
        table, count = item.get("table"), item.get("count")
        if table not in CATALOG_TABLES:
            mistakes.append(Mistake((*where, "table"), f"the catalog has no table {table!r} (tables: "
                                    f"{', '.join(CATALOG_TABLES)})"))
        elif isinstance(count, bool) or not isinstance(count, int) or count < 1:
            mistakes.append(Mistake((*where, "count"), f"count is a number of rows (1 or more), not {count!r}"))
        else:
            setup.delete_rows.append((table, count))
    return setup


def _step(spec: dict, i: int, mistakes: list[Mistake], cat: Catalog) -> Step:
    path = ("steps", i)
    step = Step(i + 1)
    _unknown_keys(spec, path, STEP_KEYS, f"step {i + 1}", mistakes)
    step.title = _text(spec, "title", path, mistakes) or f"Step {i + 1}"
    step.instruction = _text(spec, "instruction", path, mistakes, required=True)
    for name in PLACEHOLDER.findall(step.instruction):
        if name not in PLACEHOLDERS:
            mistakes.append(Mistake((*path, "instruction"), f"unknown placeholder {{{name}}}"))
    if "check" not in spec:
        mistakes.append(Mistake(path, f"step {i + 1} has no check: a step is judged by the state it leaves"))
    else:
        step.check = parse_condition(spec["check"], (*path, "check"), mistakes, cat)
    step.hints = _strings(spec, "hints", path, mistakes)
    step.solution = _strings(spec, "solution", path, mistakes)
    if not step.solution and isinstance(spec.get("solution", []), list):
        mistakes.append(Mistake((*path, "solution") if "solution" in spec else path,
                                f"step {i + 1} has no solution (the commands that do it, also used by skip)"))
    if "setup" in spec:
        step.setup = _setup(spec["setup"], (*path, "setup"), mistakes, cat)
    return step


def load(path: str) -> Scenario:
    """Load a scenario file; ScenarioError naming the first mistake if it has any."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    report = Report(path)
    scenario = parse(text, path, report)
    if scenario is None:
        first = report.lines()[0]
        more = len(report.mistakes) - 1
        also = f" (and {more} more: `alation-shell walkthrough --check {path}`)" if more else ""
        raise ScenarioError(f"{first}{also}")
    return scenario


def available(extra_dirs: list[str] | None = None) -> dict[str, str]:
    """Scenario name -> file, the shipped ones first; a trainer's `--dir` adds to (or replaces) them."""
    found: dict[str, str] = {}
    for directory in [SCENARIO_DIR, *(extra_dirs or [])]:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            if directory == SCENARIO_DIR:
                raise
            raise ScenarioError(f"cannot read scenario directory {directory}: {exc.strerror}") from exc
        for name in names:
            if name.endswith(".toml") and _NAME.fullmatch(name[:-5]):
                found[name[:-5]] = os.path.join(directory, name)
    return found


def find(name: str, extra_dirs: list[str] | None = None) -> Scenario:
    """The scenario called `name` (or at the path `name`); ScenarioError naming the known ones otherwise."""
    if name.endswith(".toml") and os.path.isfile(name):
        return load(name)
    known = available(extra_dirs)
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ScenarioError(f"no scenario {name!r}{hint} (known: {', '.join(known)})")
    return load(known[name])
