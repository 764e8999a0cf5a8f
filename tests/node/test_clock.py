"""The virtual clock: fixed start, moves forward only, exact `advance_to`, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alation_shell.errors import InvalidValue
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.node.seed import create_instance

# Tests run in well under an hour of real time: the clock's real-time part stays below this.
SLACK = timedelta(hours=1)


def test_starts_at_the_fixed_moment(instance: Instance) -> None:
    now = clock.now(instance)
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert clock.START <= now < clock.START + SLACK
    assert clock.START.strftime("%a %H:%M") == "Mon 09:00"
    assert (instance.var / "clock.json").is_file()


def test_runs_with_real_time_and_never_backwards(instance: Instance) -> None:
    first = clock.now(instance)
    second = clock.now(instance)
    assert second >= first


def test_advance_adds_the_offset_and_persists(instance: Instance) -> None:
    before = clock.now(instance)
    after = clock.advance(instance, timedelta(days=7))
    assert after >= before + timedelta(days=7)
    # A new process (a new read of the state file) sees the same clock.
    assert clock.now(Instance(instance.root)) >= before + timedelta(days=7)
    assert clock.now(instance) < clock.START + timedelta(days=7) + SLACK


def test_advance_to_is_exact(instance: Instance) -> None:
    target = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    assert clock.advance_to(instance, target) == target
    assert clock.now(instance) >= target  # never a hair before: a due backup must not fall due twice
    # Moving "to" the past does nothing.
    assert clock.advance_to(instance, clock.START) >= target


def test_advance_refuses_going_back(instance: Instance) -> None:
    with pytest.raises(InvalidValue, match="forward"):
        clock.advance(instance, timedelta(seconds=-1))


def test_reset_goes_back_to_the_start(instance: Instance) -> None:
    clock.advance(instance, timedelta(days=30))
    clock.reset(instance)
    assert clock.now(instance) < clock.START + SLACK


def test_each_instance_has_its_own_clock(tmp_path) -> None:  # noqa: ANN001
    a, b = Instance(tmp_path / "a"), Instance(tmp_path / "b")
    create_instance(a)
    create_instance(b)
    clock.advance(a, timedelta(days=3))
    assert clock.now(b) < clock.START + SLACK


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1D", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert clock.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "1.5d", "7x", "d7", "1d-2h", "0d", "0h0m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidValue, match="invalid duration"):
        clock.parse_duration(text)


def test_parse_duration_is_bounded() -> None:
    assert clock.parse_duration("366d") == timedelta(days=366)
    with pytest.raises(InvalidValue, match="at most 366d"):
        clock.parse_duration("53w")


def test_format_time() -> None:
    assert clock.format_time(datetime(2026, 3, 3, 1, 0, tzinfo=UTC)) == "2026-03-03 Tue 01:00"
