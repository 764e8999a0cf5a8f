"""When backups fall due: the schedule parameters, UTC, and the supervisord restart they wait for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alation_shell.backup import schedule
from alation_shell.backup.schedule import Schedule
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.node import supervisord
from alation_shell.session import Session

MON_0900 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_nightly_at_one_by_default(instance: Instance) -> None:
    registry = Registry.for_instance(instance)
    due = schedule.due_times(registry, MON_0900, MON_0900 + timedelta(days=7))
    assert due == [at(d, 1) for d in range(3, 10)]
    assert schedule.configured(registry).describe() == "01:00 UTC every day"


def test_interval_is_open_at_start_and_closed_at_end() -> None:
    nightly = Schedule(0, 1, "mon,tue,wed,thu,fri,sat,sun")
    assert nightly.due_times(at(3, 1), at(4, 1)) == [at(4, 1)]
    assert nightly.due_times(at(3, 1), at(4, 0, 59)) == []
    assert nightly.due_times(at(3, 1), at(3, 1)) == []


def test_days_hour_and_minute(shell: Session) -> None:
    for line in (
        "alation_conf alation.backup.scheduled_day -s tue,sat",
        "alation_conf alation.backup.scheduled_hour -s 23",
        "alation_conf alation.backup.scheduled_minute -s 45",
    ):
        assert shell.execute(line).ok
    due = schedule.due_times(shell.registry, MON_0900, MON_0900 + timedelta(weeks=2))
    # 2026-03-03 is a Tuesday, 2026-03-07 a Saturday.
    assert due == [at(3, 23, 45), at(7, 23, 45), at(10, 23, 45), at(14, 23, 45)]
    assert schedule.configured(shell.registry).describe() == "23:45 UTC on tue,sat"


def test_timezone_aware_bounds_are_read_as_utc() -> None:
    from datetime import timezone

    pacific = timezone(timedelta(hours=-8))
    nightly = Schedule(0, 1, "mon,tue,wed,thu,fri,sat,sun")
    # 2026-03-02 18:00 at UTC-8 is 2026-03-03 02:00 UTC: the 01:00 backup of the 3rd is before it.
    start = datetime(2026, 3, 2, 18, 0, tzinfo=pacific)
    assert nightly.due_times(start, start + timedelta(hours=24)) == [at(4, 1)]


def test_next_due() -> None:
    weekly = Schedule(30, 2, "sun")
    assert weekly.next_due(MON_0900) == at(8, 2, 30)
    assert weekly.next_due(at(8, 2, 30)) == at(15, 2, 30)


def test_change_waits_for_supervisord_restart(shell: Session) -> None:
    instance = shell.instance
    # The schedule in effect is recorded while nothing is pending.
    assert schedule.in_effect(instance, shell.registry) == (Schedule(0, 1, "mon,tue,wed,thu,fri,sat,sun"), [])
    shell.execute("alation_conf alation.backup.scheduled_hour -s 9")
    assert shell.execute("alation_conf alation.backup.scheduled_day -s tue,sat").ok
    effective, waiting = schedule.in_effect(instance, shell.registry)
    assert waiting == [schedule.HOUR, schedule.DAY]
    assert effective == Schedule(0, 1, "mon,tue,wed,thu,fri,sat,sun")
    # The restart clears the pending change: the new schedule applies.
    supervisord.clear_pending_restarts(instance, ["supervisord"])
    assert schedule.in_effect(instance, shell.registry) == (Schedule(0, 9, "tue,sat"), [])


def test_old_value_is_the_one_last_in_effect(shell: Session) -> None:
    instance = shell.instance
    shell.execute("alation_conf alation.backup.scheduled_hour -s 9")
    supervisord.clear_pending_restarts(instance, ["supervisord"])
    schedule.record_in_effect(instance, shell.registry)  # what a supervisord restart does
    shell.execute("alation_conf alation.backup.scheduled_hour -s 10")
    effective, waiting = schedule.in_effect(instance, shell.registry)
    assert (effective.hour, waiting) == (9, [schedule.HOUR])
    assert schedule.configured(shell.registry).hour == 10


@pytest.mark.parametrize("days", ["mon", "sun", "mon,wed,fri", "mon,tue,wed,thu,fri,sat,sun"])
def test_one_backup_per_scheduled_day_each_week(days: str) -> None:
    sched = Schedule(0, 1, days)
    due = sched.due_times(MON_0900, MON_0900 + timedelta(weeks=4))
    assert len(due) == 4 * len(days.split(","))
    assert {d.strftime("%a").lower() for d in due} == set(days.split(","))
    assert due == sorted(due)
