"""`sim`: the virtual clock, scheduled backups on it, the timeline, verify and reset."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from alation_shell.backup import engine
from alation_shell.instance import Instance
from alation_shell.session import Session
from alation_shell.training import clock
from tests.backup import backup_lock_held_elsewhere


def answering(instance: Instance, *answers: str) -> Session:
    queue = list(answers)
    return Session(instance, ask=lambda prompt: queue.pop(0) if queue else None)


def run(shell: Session, line: str) -> str:
    result = shell.execute(line)
    assert result.ok, f"{line}: {result.stderr}"
    return result.stdout


def timeline(shell: Session) -> list[tuple[str, ...]]:
    """`sim backups --json` rows as (date, weekday, time, kind, base)."""
    rows = []
    for row in json.loads(run(shell, "sim backups --json")):
        when = datetime.fromisoformat(row["time"])
        rows.append((f"{when:%Y-%m-%d}", f"{when:%a}", f"{when:%H:%M}", row["kind"], row["base"]))
    return rows


@pytest.mark.parametrize("line", ["sim", "sim --help", "sim -h", "sim advance --help"])
def test_help_says_it_is_the_emulators_own(shell: Session, line: str) -> None:
    out = run(shell, line)
    assert "addition of this emulator, not a command of the real Alation shell" in out
    for sub in ("sim clock", "sim advance DURATION", "sim backups", "sim verify [FILE]", "sim reset"):
        assert sub in out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("sim fly", "unknown subcommand 'fly'"),
        ("sim advance", "advance takes one DURATION"),
        ("sim advance 1d 2d", "advance takes one DURATION"),
        ("sim clock now", "clock takes no argument"),
        ("sim verify a b", "verify takes at most one FILE"),
    ],
)
def test_usage_errors(shell: Session, line: str, message: str) -> None:
    result = shell.execute(line)
    assert result.exit_code == 2
    assert message in result.stderr


def test_bad_duration(shell: Session) -> None:
    result = shell.execute("sim advance 7days")
    assert result.exit_code == 1
    assert "sim: invalid duration '7days'" in result.stderr
    assert clock.now(shell.instance) < clock.START + clock.parse_duration("1h")


def test_clock_at_the_start(shell: Session) -> None:
    out = run(shell, "sim clock")
    assert out.splitlines() == [
        "virtual time  2026-03-02 Mon 09:00 UTC",
        "schedule      01:00 UTC every day",
        "next backup   2026-03-03 Tue 01:00 UTC, full: incremental backups are off",
    ]


def test_seed_cycle_over_a_week(shell: Session) -> None:
    run(shell, "alation_conf alation.backup_v2.incr_backup -s True")
    run(shell, "alation_conf alation.backup_v2.incr_backup_versions -s 4")
    out = run(shell, "sim advance 7d")
    lines = out.splitlines()
    # A day's activity at each midnight, then that night's backup; the clock ends a week on.
    assert [line[22:30] for line in lines[:2]] == ["activity", "full    "]
    assert sum("activity of" in line for line in lines) == 7
    assert lines[-1] == "virtual time is now 2026-03-09 Mon 09:00 UTC"
    rows = timeline(shell)
    first, second = rows[0][0].replace("-", "") + "0100", rows[5][0].replace("-", "") + "0100"
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("Tue", "01:00", "full", None), ("Wed", "01:00", "incr", first), ("Thu", "01:00", "incr", first),
        ("Fri", "01:00", "incr", first), ("Sat", "01:00", "incr", first), ("Sun", "01:00", "full", None),
        ("Mon", "01:00", "incr", second),
    ]
    assert "next backup   2026-03-10 Tue 01:00 UTC, incr: incremental 2 of 4 on full " + second in run(
        shell, "sim clock")


def test_steps_meeting_a_due_time_run_it_once(shell: Session) -> None:
    run(shell, "sim advance 16h")  # to Tue 01:00 exactly: the interval includes its end
    run(shell, "sim advance 90m")
    run(shell, "sim advance 22h30m")  # to Wed 01:00
    assert [r[:3] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00"), ("2026-03-04", "Wed", "01:00")]


def test_schedule_days_and_the_supervisord_restart(shell: Session) -> None:
    run(shell, "alation_conf alation.backup.scheduled_day -s tue,sat")
    run(shell, "alation_conf alation.backup.scheduled_hour -s 9")
    result = shell.execute("sim advance 1d")
    assert result.ok
    assert "supervisord was not restarted: backups still run at 01:00 UTC every day" in result.stderr
    assert "(09:00 UTC on tue,sat after `sudo /etc/init.d/supervisord restart`)" in run(shell, "sim clock")
    assert len(timeline(shell)) == 1
    run(shell, "sudo /etc/init.d/supervisord restart")
    result = shell.execute("sim advance 2w")
    assert result.ok and "supervisord" not in result.stderr
    assert [r[1:3] for r in timeline(shell)[1:]] == [("Sat", "09:00"), ("Tue", "09:00")] * 2


def test_incremental_off_every_backup_full(shell: Session) -> None:
    run(shell, "sim advance 3d")
    assert [r[3] for r in timeline(shell)] == ["full"] * 3


def test_retention_shows_in_the_advance(shell: Session) -> None:
    run(shell, "alation_conf alation.backup_v2.incr_backup -s True")
    run(shell, "alation_conf alation.backup_v2.incr_backup_versions -s 1")
    run(shell, "alation_conf alation.backup.keep_cycles -s 1")
    out = run(shell, "sim advance 3d")
    assert "  removed old incr backup 202603040100 (retention)" in out
    assert "  removed old full backup 202603030100 (retention)" in out
    assert [r[3] for r in timeline(shell)] == ["full"]


def test_v1_note_once_per_advance(shell: Session) -> None:
    run(shell, "alation_conf alation.backup_v2.incr_backup -s True")
    run(shell, "alation_conf alation.backup.use_backup_v2 -s False")
    result = shell.execute("sim advance 3d")
    assert result.stderr.count("incremental backups need Backup V2") == 1
    rows = [line for line in run(shell, "sim backups").splitlines() if not line.startswith("── cycle")]
    assert [line.endswith("  V1") for line in rows] == [True] * 3


def test_backups_when_there_are_none(shell: Session) -> None:
    result = shell.execute("sim backups")
    assert result.ok and result.stdout == ""
    assert "no backups in /data2/backup" in result.stderr


def test_verify_all_one_and_damaged(shell: Session) -> None:
    run(shell, "alation_conf alation.backup_v2.incr_backup -s True")
    run(shell, "alation_conf alation.backup_v2.incr_backup_versions -s 4")
    run(shell, "sim advance 2d")
    out = run(shell, "sim verify")
    assert [line[:9] for line in out.splitlines()] == ["OK       "] * 2
    full, incr = engine.list_backups(shell.instance)
    run(shell, "cd /data2/backup")
    out = run(shell, f"sim verify {incr.files[1].name}")  # the event-bus tarball names its backup too
    assert out.startswith(f"OK       {incr.label} incr  {incr.files[0].name}")
    damaged = bytearray(full.files[0].read_bytes())
    damaged[-100] ^= 0xFF
    full.files[0].write_bytes(bytes(damaged))
    result = shell.execute("sim verify")
    assert result.exit_code == 1
    assert f"DAMAGED  {full.label} full" in result.stdout
    assert "2 backups damaged" in result.stderr  # the incremental's full is damaged too


def test_reset_asks_then_starts_over(shell: Session) -> None:
    run(shell, "sim advance 2d")
    refused = answering(shell.instance, "no").execute("sim reset")
    assert refused.exit_code == 1 and "aborted, nothing was changed" in refused.stderr
    assert len(timeline(shell)) == 2
    out = run(answering(shell.instance, "YES"), "sim reset")
    assert "removed 2 backups" in out
    assert "virtual time is now 2026-03-02 Mon 09:00 UTC" in out
    assert not list(shell.instance.real_path("/data2/backup").glob("*.tar.gz"))
    run(shell, "sim advance 1d")
    assert [r[:4] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00", "full")]


def test_a_backup_refused_by_the_lock_runs_on_the_next_advance(shell: Session) -> None:
    with backup_lock_held_elsewhere(shell.instance):
        result = shell.execute("sim advance 1d")
    assert result.exit_code == 1 and "sim: a backup is in progress" in result.stderr
    assert "activity of Mon 2026-03-02" in result.stdout  # the day before it did happen
    # The clock stayed at the midnight before the refused backup: the next advance starts with it.
    out = run(shell, "sim advance 1d")
    assert out.splitlines()[0].startswith("2026-03-03 Tue 01:00  full")
    assert out.count("activity of Mon") == 0  # that day's activity is not run twice
    assert [r[:3] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00")]
