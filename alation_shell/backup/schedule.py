"""When scheduled backups fall due: `alation.backup.scheduled_minute/hour/day`, read as UTC.

As on a real server, a new schedule takes effect only after `sudo /etc/init.d/supervisord restart`. The
emulator models that with the pending restarts that `alation_conf` records (supervisord.py): while a
`supervisord` restart is pending for a schedule parameter, the value in effect for that parameter is the
one recorded when the schedule was last in effect (`var/schedule.json`), else its catalog default.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from alation_shell.config.catalog import DAYS
from alation_shell.errors import InvalidValue
from alation_shell.instance import VAR_SCHEDULE, Instance
from alation_shell.storage import StateFile, locked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.config.registry import Registry

MINUTE = "alation.backup.scheduled_minute"
HOUR = "alation.backup.scheduled_hour"
DAY = "alation.backup.scheduled_day"
PARAMETERS = (MINUTE, HOUR, DAY)
RESTART = "supervisord"


class Schedule:
    """A backup schedule: a time of day (UTC) on some days of the week."""

    __slots__ = ("minute", "hour", "days")

    def __init__(self, minute: int, hour: int, days: str) -> None:
        self.minute = minute
        self.hour = hour
        self.days = days  # canonical comma list, e.g. "tue,sat"

    @classmethod
    def from_values(cls, values: dict[str, object]) -> Schedule:
        return cls(int(values[MINUTE]), int(values[HOUR]), str(values[DAY]))

    def values(self) -> dict[str, int | str]:
        return {MINUTE: self.minute, HOUR: self.hour, DAY: self.days}

    @property
    def weekdays(self) -> set[int]:
        return {DAYS.index(d) for d in self.days.split(",")}

    def due_times(self, start: datetime, end: datetime) -> list[datetime]:
        """Every moment in (start, end] at which a backup falls due, in order."""
        at = time(self.hour, self.minute, tzinfo=UTC)
        weekdays = self.weekdays
        found = []
        day: date = start.astimezone(UTC).date()
        last = end.astimezone(UTC).date()
        while day <= last:
            when = datetime.combine(day, at)
            if day.weekday() in weekdays and start < when <= end:
                found.append(when)
            day += timedelta(days=1)
        return found

    def next_due(self, after: datetime) -> datetime:
        """The first moment after `after` at which a backup falls due."""
        return self.due_times(after, after + timedelta(days=8))[0]

    def describe(self) -> str:
        """'01:00 UTC every day', '09:30 UTC on tue,sat'."""
        when = f"{self.hour:02d}:{self.minute:02d} UTC"
        return f"{when} every day" if self.days == ",".join(DAYS) else f"{when} on {self.days}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.values() == other.values()

    def __repr__(self) -> str:
        return f"Schedule({self.describe()!r})"


def configured(registry: Registry) -> Schedule:
    """The schedule as `alation_conf` has it now (in effect or waiting for a supervisord restart)."""
    return Schedule.from_values({name: registry.get(name) for name in PARAMETERS})


def due_times(registry: Registry, start: datetime, end: datetime) -> list[datetime]:
    """When the configured schedule has backups fall due in (start, end]."""
    return configured(registry).due_times(start, end)


def _state_file(instance: Instance) -> StateFile:
    return StateFile.under_var(
        instance, VAR_SCHEDULE,
        "`sudo /etc/init.d/supervisord restart` replaces it with the schedule set in alation_conf",
    )


def _recorded(file: StateFile, registry: Registry) -> dict[str, object]:
    """The schedule values recorded as in effect (none before the first record)."""
    stored = file.read()
    if stored is None:
        return {}
    for name, value in stored.items():
        if name not in PARAMETERS:
            raise file.damaged(f"unknown field {name!r}")
        try:
            registry.catalog.lookup(name).check_stored(value)
        except InvalidValue as exc:
            raise file.damaged(exc.message) from None
    return stored


def waiting_for_restart(instance: Instance) -> list[str]:
    """The schedule parameters whose new values wait for `sudo /etc/init.d/supervisord restart`."""
    from alation_shell.node import supervisord

    pending = supervisord.pending_restarts(instance).get(RESTART, [])
    return [name for name in PARAMETERS if name in pending]


def in_effect(instance: Instance, registry: Registry) -> tuple[Schedule, list[str]]:
    """The schedule backups follow now, and the parameters whose changes are not in effect yet.

    Values that are in effect are recorded, so that after a later change the old value is still known.
    """
    waiting = waiting_for_restart(instance)
    current = configured(registry).values()
    file = _state_file(instance)
    with locked(file.path.with_suffix(".lock")):
        recorded = _recorded(file, registry)
        values = {}
        for name in PARAMETERS:
            if name in waiting:
                values[name] = recorded.get(name, registry.catalog.lookup(name).default)
            else:
                values[name] = current[name]
        if values != recorded:
            file.write(values)
    return Schedule.from_values(values), waiting


def record_in_effect(instance: Instance, registry: Registry) -> None:
    """Record the configured schedule as the one in effect (call when supervisord restarts)."""
    file = _state_file(instance)
    with locked(file.path.with_suffix(".lock")):
        file.write(configured(registry).values())
