"""alation_conf.toml: the values that differ from their defaults, read fast and written atomically.

Reads never lock: writers replace the file with a rename, so a reader sees the old or the new file.
Writers hold an flock, re-read under it, and write aside + fsync + rename, so concurrent `alation_conf`
processes lose no update; the temp file of a writer killed before its rename is removed by the next.
A file that cannot be read is reported with its line and never overwritten.
A parse of the file is cached (keyed on its exact bytes) so that a one-command session need not import
the TOML parser.
"""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Callable
from pathlib import Path

from alation_shell.config.catalog import Catalog
from alation_shell.errors import ConfigCorrupt, InvalidValue
from alation_shell.storage import atomic_write, locked

HEADER = (
    "# Alation configuration: values that differ from their defaults.\n"
    "# Managed by alation_conf; edit with care. `alation_conf --changed` lists these values.\n"
)
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")

Values = dict[str, bool | int | str]


class ConfigStore:
    """The TOML file of changed values, with its lock and its parse cache."""

    def __init__(self, path: Path, catalog: Catalog, cache: Path | None = None, shown_as: str = "") -> None:
        self.path = path
        self.catalog = catalog
        self.cache = cache
        self.shown_as = shown_as or str(path)
        self.lock_path = path.with_name(f".{path.name}.lock")

    def load(self) -> Values:
        """The changed values, validated against the catalog; ConfigCorrupt if the file is unreadable."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigCorrupt(f"cannot read {self.shown_as}: {exc.strerror}") from exc
        cached = self._read_cache()
        if cached is not None and cached[0] == raw:
            return cached[1]
        values = self._parse(raw)
        self._write_cache(raw, values)
        return values

    def update(self, change: Callable[[Values], Values]) -> Values:
        """Apply `change` to the current values under the lock and write the result atomically."""
        with locked(self.lock_path):
            self._remove_stale_temps()
            current = self.load()
            new = change(dict(current))
            if new != current:
                raw = self._render(new)
                atomic_write(self.path, raw)
                self._write_cache(raw, new)
            return new

    def _remove_stale_temps(self) -> None:
        """Remove the temp files (`.alation_conf.toml.<pid>.tmp`, storage.atomic_write) of writers that were
        killed before their rename. Called under the lock, which every writer holds while it writes: a temp
        file whose process is gone is never renamed."""
        prefix = f".{self.path.name}."
        try:
            names = os.listdir(self.path.parent)
        except FileNotFoundError:
            return
        for name in names:
            pid = name[len(prefix) : -len(".tmp")]
            if name.startswith(prefix) and name.endswith(".tmp") and pid.isdecimal() and not _alive(int(pid)):
                try:  # noqa: SIM105 - contextlib costs the piped path an import
                    os.unlink(self.path.parent / name)
                except FileNotFoundError:
                    pass

    # Parsing ----------------------------------------------------------------------------------
    def _parse(self, raw: bytes) -> Values:
        import tomllib

        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise self._corrupt(f"not UTF-8 text (byte {exc.start})", None) from exc
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = _AT_LINE.search(msg)
            line = int(m.group(1)) if m else None
            raise self._corrupt(f"invalid TOML: {_AT_LINE.sub('', msg).strip()}", line) from exc
        values: Values = {}
        for key, value in data.items():
            param = self.catalog.get(key)
            if param is None:
                raise self._corrupt(f"unknown parameter {key!r}", _line_of(text, key))
            try:
                values[param.name] = param.check_stored(value)
            except InvalidValue as exc:
                raise self._corrupt(exc.message, _line_of(text, key)) from exc
        return values

    def _corrupt(self, what: str, line: int | None) -> ConfigCorrupt:
        where = f"{self.shown_as} line {line}" if line else self.shown_as
        return ConfigCorrupt(f"{where}: {what}; the file was left as it is: fix or remove it")

    def _render(self, values: Values) -> bytes:
        import tomli_w

        ordered = {p.name: values[p.name] for p in self.catalog.parameters if p.name in values}
        return (HEADER + tomli_w.dumps(ordered)).encode()

    # Cache ------------------------------------------------------------------------------------
    def _read_cache(self) -> tuple[bytes, Values] | None:
        if self.cache is None:
            return None
        try:
            cached = marshal.loads(self.cache.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[1], dict):
            return cached
        return None

    def _write_cache(self, raw: bytes, values: Values) -> None:
        if self.cache is None:
            return
        try:
            tmp = self.cache.with_name(f".{self.cache.name}.{os.getpid()}.tmp")
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(marshal.dumps((raw, values)))
            os.replace(tmp, self.cache)
        except OSError:
            pass  # the cache only saves time; the TOML file stays the truth


def _alive(pid: int) -> bool:
    """Whether process `pid` exists (this one included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process; or not a pid at all: left alone either way
    return True


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if key in line:
            return number
    return None
