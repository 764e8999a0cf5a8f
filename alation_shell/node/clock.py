"""The virtual clock: the instance's own notion of "now", which `sim advance` moves forward.

The clock starts at a fixed moment, Monday 2026-03-02 09:00 UTC, the first time it is read (so every new
instance tells the same story), and from then on runs with real elapsed time plus every offset that
`sim advance` adds. Running with real time means two backups taken by hand a minute apart get different
names; the fixed start keeps demos and tests reproducible.

State lives in `var/clock.json`: the virtual start, the real time it was taken at, and the offset, all in
whole microseconds so that `advance_to(t)` makes `now()` equal `t` exactly (never a hair before it, which
would make the same backup fall due twice).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from alation_shell.errors import InvalidValue
from alation_shell.instance import VAR_CLOCK, VAR_CLOCK_LOCK, Instance
from alation_shell.storage import StateFile, locked, whole

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX_ADVANCE = timedelta(days=366)  # one `sim advance` runs every backup on the way: keep it bounded
# How far the clock can be moved in all: with a start before the year 5000 it stays far from datetime's 9999.
MAX_OFFSET_US = 3000 * 366 * 86400 * 1_000_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d{1,6}[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")


def _state_file(instance: Instance) -> StateFile:
    return StateFile.under_var(
        instance, VAR_CLOCK,
        f"remove it to start the virtual clock again at {START:%a %Y-%m-%d %H:%M} UTC (`sim reset` does that too)",
    )


def _lock_file(instance: Instance):  # noqa: ANN202 - a Path
    return instance.var / VAR_CLOCK_LOCK


def _real_us() -> int:
    return time.time_ns() // 1000


def _read(instance: Instance) -> dict | None:
    """The clock state, None before the clock is first read; StateCorrupt if the file is damaged."""
    file = _state_file(instance)
    state = file.read()
    if state is not None:
        file.field(state, "start", _is_start, "a date and time with its UTC offset, e.g. 2026-03-02T09:00:00+00:00")
        file.field(state, "real_start_us", whole(0, 1 << 62), "a whole number of microseconds")
        file.field(state, "offset_us", whole(0, MAX_OFFSET_US), "a whole number of microseconds")
    return state


def _is_start(value: object) -> bool:
    try:
        start = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return False
    return start is not None and start.tzinfo is not None and 1970 <= start.year < 5000


def _load_or_start(instance: Instance) -> dict:
    """The clock state, creating it (the clock starts now, at START) on first use. Call under the lock."""
    state = _read(instance)
    if state is None:
        state = {"start": START.isoformat(), "real_start_us": _real_us(), "offset_us": 0}
        _state_file(instance).write(state)
    return state


def _now_from(state: dict) -> datetime:
    elapsed = max(_real_us() - int(state["real_start_us"]), 0)  # a host clock set back never reverses ours
    return datetime.fromisoformat(state["start"]) + timedelta(microseconds=elapsed + int(state["offset_us"]))


def now(instance: Instance) -> datetime:
    """The instance's virtual time (UTC, timezone-aware)."""
    state = _read(instance)
    if state is None:
        with locked(_lock_file(instance)):
            state = _load_or_start(instance)
    return _now_from(state)


def timestamp(instance: Instance) -> float:
    """The instance's virtual time in seconds since 1970: what files written now are dated with."""
    return now(instance).timestamp()


def peek(instance: Instance) -> datetime:
    """now() for a reader that must change nothing on disk: START if the clock has not started yet."""
    state = _read(instance)
    return START if state is None else _now_from(state)


def advance(instance: Instance, delta: timedelta) -> datetime:
    """Move the clock forward by `delta`; returns the new virtual time."""
    if delta < timedelta(0):
        raise InvalidValue("the virtual clock only moves forward")
    with locked(_lock_file(instance)):
        state = _load_or_start(instance)
        _move(instance, state, _microseconds(delta))
        return _now_from(state)


def advance_to(instance: Instance, when: datetime) -> datetime:
    """Move the clock forward to `when` (no change if it is already later); returns the new virtual time."""
    with locked(_lock_file(instance)):
        state = _load_or_start(instance)
        current = _now_from(state)
        if when > current:
            _move(instance, state, _microseconds(when - current))
            return when
        return current


def _move(instance: Instance, state: dict, microseconds: int) -> None:
    offset = state["offset_us"] + microseconds
    if offset > MAX_OFFSET_US:
        raise InvalidValue(f"the virtual clock cannot be moved more than {MAX_OFFSET_US // 86_400_000_000} days "
                           "past its start in all (`sim reset` puts it back)")
    state["offset_us"] = offset
    _state_file(instance).write(state)


def reset(instance: Instance) -> None:
    """Put the clock back to its fixed start (it starts again the next time it is read)."""
    with locked(_lock_file(instance)):
        _state_file(instance).path.unlink(missing_ok=True)


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_duration(text: str) -> timedelta:
    """'90m', '36h', '7d', '2w', '1d12h' -> timedelta; InvalidValue for anything else or zero."""
    spec = text.strip().lower()
    if not _DURATION.fullmatch(spec):
        raise InvalidValue(
            f"invalid duration {text!r}: expected a number and a unit (s, m, h, d, w), e.g. 90m, 36h, 7d, 2w, 1d12h"
        )
    delta = timedelta(seconds=sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(spec)))
    if delta <= timedelta(0):
        raise InvalidValue(f"invalid duration {text!r}: must be more than zero")
    if delta > MAX_ADVANCE:
        raise InvalidValue(f"invalid duration {text!r}: at most {MAX_ADVANCE.days}d at a time")
    return delta


def format_time(when: datetime) -> str:
    """'2026-03-03 Tue 01:00' (UTC), the way `sim` shows virtual times."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %a %H:%M")
