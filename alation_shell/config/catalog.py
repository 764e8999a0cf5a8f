"""The parameter catalog: every `alation_conf` parameter with its type, default, restart and description.

The catalog itself is data (`parameters.json`); this module gives it types and validation.
"""

from __future__ import annotations

import json
import os
import re

from alation_shell.errors import InvalidValue, UnknownParameter

CATALOG_FILE = os.path.join(os.path.dirname(__file__), "parameters.json")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = {
    d: d[:3] for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
MASK = "********"
PARTIAL_SHOWN = 5  # a partial name matching more is answered with the first few and a count
_INT = re.compile(r"[+-]?\d{1,18}")
_URL = re.compile(r"https?://[^\s/:]+(:\d+)?(/\S*)?", re.IGNORECASE)
TYPES = ("bool", "int", "enum", "days", "string", "secret", "path", "url")


class Parameter:
    """One `alation_conf` key."""

    __slots__ = (
        "name", "type", "default", "description", "restart", "source", "min", "max", "choices",
        "aliases", "emulator", "effect", "within", "excluding",
    )

    def __init__(self, spec: dict) -> None:
        self.name: str = spec["name"]
        self.type: str = spec["type"]
        if self.type not in TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        self.description: str = spec["description"]
        self.restart: str | None = spec.get("restart")
        self.source: str = spec.get("source", "")
        self.min: int | None = spec.get("min")
        self.max: int | None = spec.get("max")
        self.choices: tuple[str, ...] = tuple(spec.get("choices", ()))
        self.aliases: tuple[str, ...] = tuple(spec.get("aliases", ()))
        self.emulator: bool = bool(spec.get("emulator", False))
        self.effect: str | None = spec.get("effect")
        # A path that must name a directory inside `within`, and not be or lie in any of `excluding`.
        self.within: str | None = spec.get("within")
        self.excluding: tuple[str, ...] = tuple(spec.get("excluding", ()))
        self.default = self.parse(str(spec["default"])) if self.type != "bool" else spec["default"]

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"

    # Values -----------------------------------------------------------------------------------
    def expected(self) -> str:
        """What a valid value looks like, in words (used in error messages and --describe)."""
        t = self.type
        if t == "bool":
            return "True or False"
        if t == "int":
            if self.min is not None and self.max is not None:
                return f"a whole number from {self.min} to {self.max}"
            if self.min is not None:
                return f"a whole number ({self.min} or more)"
            return "a whole number"
        if t == "enum":
            return "one of " + ", ".join(self.choices)
        if t == "days":
            return "a comma list of days from " + ",".join(DAYS) + " (e.g. tue,sat)"
        if t == "path" and self.within:
            others = "".join(f", not {path} or anything in it" for path in self.excluding)
            return f"a directory inside {self.within}{others} (e.g. {self.default})"
        if t == "path":
            return "an absolute path (e.g. /data2/backup/FILE), or '' to unset"
        if t == "url":
            return "an http:// or https:// URL"
        return "a single line of text"

    def parse(self, raw: str) -> bool | int | str:
        """Turn the text an operator typed into this parameter's value; InvalidValue if it does not fit."""
        value = self._parse(raw)
        if self.within is not None:
            value = self._placed(value)
        return value

    def _placed(self, value: object) -> str:
        """A path parameter's value inside `within` and outside `excluding`, written plainly (no `//`, no
        trailing `/`); InvalidValue if it is not (`.` and `..` are refused: a link could make them mean
        anything)."""
        parts = [p for p in str(value).split("/") if p]
        inside = [p for p in str(self.within).split("/") if p]
        placed = (
            parts[: len(inside)] == inside and len(parts) > len(inside) and "." not in parts and ".." not in parts
            and not any(parts[: len(out)] == out for out in ([p for p in x.split("/") if p] for x in self.excluding))
        )
        if not placed:
            raise InvalidValue(f"invalid value {value!r} for {self.name}: expected {self.expected()}")
        return "/" + "/".join(parts)

    def _parse(self, raw: str) -> bool | int | str:
        t = self.type
        if t == "bool":
            low = raw.strip().lower()
            if low in ("true", "false"):
                return low == "true"
        elif t == "int":
            text = raw.strip()
            if _INT.fullmatch(text):
                n = int(text)
                if (self.min is None or n >= self.min) and (self.max is None or n <= self.max):
                    return n
        elif t == "enum":
            for choice in self.choices:
                if raw.strip().lower() == choice.lower():
                    return choice
        elif t == "days":
            days = set()
            for item in raw.split(","):
                day = item.strip().lower()
                day = _FULL_DAYS.get(day, day)
                if day not in DAYS:
                    break
                days.add(day)
            else:
                if days:
                    return ",".join(d for d in DAYS if d in days)
        elif raw.isprintable():
            if t == "path" and (raw == "" or raw.startswith("/")):
                return raw
            if t == "url" and (raw == "" or _URL.fullmatch(raw)):
                return raw
            if t in ("string", "secret"):
                return raw
        raise InvalidValue(f"invalid value {raw!r} for {self.name}: expected {self.expected()}")

    def format(self, value: object) -> str:
        """How the value prints after `NAME = ` (booleans as Python prints them: True/False)."""
        if self.type == "secret" and value:
            return MASK
        return str(value)

    def check_stored(self, value: object) -> bool | int | str:
        """Validate a value read from alation_conf.toml (typed TOML); InvalidValue if it does not fit.

        Where a path lies (`within`) is checked when it is set, not here: a value set before that rule, or
        by hand, is left to what uses it to refuse (the backup does), so the file stays readable.
        """
        if self.type == "bool":
            if isinstance(value, bool):
                return value
        elif self.type == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return self._parse(str(value))
        elif isinstance(value, str):
            return self._parse(value)
        raise InvalidValue(f"invalid value {value!r} for {self.name}: expected {self.expected()}")

    def value_suggestions(self) -> tuple[str, ...]:
        """Values worth offering after the name (completion): booleans, enum members, day names."""
        if self.type == "bool":
            return ("True", "False")
        if self.type == "enum":
            return self.choices
        if self.type == "days":
            return (",".join(DAYS), *DAYS)
        return ()


class Catalog:
    """Every parameter, by name and alias, in catalog order."""

    def __init__(self, parameters: list[Parameter], restarts: dict[str, dict[str, str]]) -> None:
        self.parameters = parameters
        self.restarts = restarts
        self._by_name: dict[str, Parameter] = {}
        for p in parameters:
            for name in (p.name, *p.aliases):
                if name in self._by_name:
                    raise ValueError(f"duplicate parameter name {name}")
                self._by_name[name] = p
        for p in parameters:
            if p.restart is not None and p.restart not in restarts:
                raise ValueError(f"parameter {p.name}: unknown restart {p.restart!r}")

    @classmethod
    def load(cls, path: str = CATALOG_FILE) -> Catalog:
        with open(path, "rb") as f:
            data = json.load(f)
        return cls([Parameter(spec) for spec in data["parameters"]], data["restarts"])

    def __len__(self) -> int:
        return len(self.parameters)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Parameter | None:
        return self._by_name.get(name)

    def lookup(self, name: str) -> Parameter:
        """The parameter called `name` (or an alias); UnknownParameter naming close matches otherwise."""
        param = self._by_name.get(name)
        if param is None:
            raise UnknownParameter(self.unknown_message(name))
        return param

    def search(self, pattern: str) -> list[Parameter]:
        """Parameters whose name contains `pattern` (case-insensitive), sorted by name."""
        low = pattern.lower()
        return sorted((p for p in self.parameters if low in p.name.lower()), key=lambda p: p.name)

    def unknown_message(self, name: str) -> str:
        """Why `name` names no parameter: the parameters whose names contain it (a partial name), else the
        closest names."""
        partial = [p.name for p in self.search(name)] if name else []
        if partial:
            many = len(partial) > PARTIAL_SHOWN
            shown = ", ".join(partial[:PARTIAL_SHOWN]) + (f" and {len(partial) - PARTIAL_SHOWN} more" if many else "")
            count = "1 parameter" if len(partial) == 1 else f"{len(partial)} parameters"
            more = f"; `alation_conf -l {name}` lists them" if many else ""
            return f"{name!r} is not a full parameter name; it matches {count}: {shown}{more}"
        close = self.close_matches(name)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; `alation_conf --list` lists them all"
        return f"no parameter matches {name!r}{hint}"

    def close_matches(self, name: str, n: int = 3) -> list[str]:
        import difflib

        names = [p.name for p in self.parameters]
        found = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
        if len(found) < n:
            # A mistyped last segment (`incr_backup_verions`) is closest to a key's tail.
            tails = {p.name.rsplit(".", 1)[-1]: p.name for p in self.parameters}
            for tail in difflib.get_close_matches(name.rsplit(".", 1)[-1], list(tails), n=n, cutoff=0.75):
                if tails[tail] not in found:
                    found.append(tails[tail])
        return found[:n]

    def restart_hint(self, restart: str) -> str:
        """The command that applies changes needing `restart`, e.g. `alation_action restart_alation`."""
        return self.restarts[restart]["hint"]

    def restart_note(self, restart: str, names: list[str]) -> str:
        """The note printed after setting `names`, which need `restart` to take effect."""
        spec = self.restarts[restart]
        template = spec.get("note", "{names} takes effect after {hint}")
        return template.format(names=", ".join(names), hint=spec["hint"])


_catalog: Catalog | None = None


def catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    global _catalog
    if _catalog is None:
        _catalog = Catalog.load()
    return _catalog
