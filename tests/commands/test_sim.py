"""`sim`: the virtual clock, scheduled backups on it, the timeline, verify and reset."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup.records import scan_backups
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.session import Session
from tests.backup import backup_lock_held_elsewhere, hostile_nested, hostile_string
from tests.conftest import Canceller


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
    full, incr = backup.list_backups(shell.instance)
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


def test_reset_removes_the_damaged_files_too(shell: Session) -> None:
    """`sim reset` says it removes every backup in /data2/backup: the files that do not make a sound backup
    (a lone event-bus tarball, a truncated one, a hostile one) go too, and the listing is empty after it."""
    run(shell, "sim advance 3d")
    first, lone, cut = backup.list_backups(shell.instance)
    lone.alation_file.unlink()
    cut.alation_file.write_bytes(cut.alation_file.read_bytes()[:1000])
    hostile_nested(first.alation_file.parent)
    assert sum("DAMAGED" in line for line in run(shell, "sim backups").splitlines()) == 3
    out = run(answering(shell.instance, "YES"), "sim reset")
    # The damaged: the hostile tarball, the lone event-bus one, both halves of the truncated backup; the
    # lone one's alation sidecar is left without its tarball (a partial file).
    assert "removed 1 backup, 4 damaged files and 1 partial file" in out
    directory = shell.instance.real_path("/data2/backup")
    assert not list(directory.glob("*.tar.gz")) and not list(directory.glob(".*.json"))
    assert "no backups in /data2/backup" in shell.execute("sim backups").stderr
    assert not scan_backups(shell.instance).damaged


def test_a_backup_refused_by_the_lock_runs_on_the_next_advance(shell: Session) -> None:
    with backup_lock_held_elsewhere(shell.instance):
        run(shell, "sim advance 14h")  # to Mon 23:00: no midnight, no backup, nothing that takes the lock
        result = shell.execute("sim advance 1d")
    assert result.exit_code == 1 and "sim: a backup is in progress" in result.stderr
    # The day's activity takes the backup lock too: it did not run, and the clock stayed before it.
    assert "activity of Mon" not in result.stdout
    assert "2026-03-02 Mon 23:00" in run(shell, "sim clock")
    out = run(shell, "sim advance 1d")
    assert out.splitlines()[0].startswith("2026-03-03 Tue 00:00  activity of Mon 2026-03-02")
    assert out.splitlines()[1].startswith("2026-03-03 Tue 01:00  full")
    assert out.count("activity of Mon") == 1  # that day's activity is run once
    assert [r[:3] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00")]


def test_a_backup_refused_after_the_days_activity_runs_on_the_next_advance(shell: Session) -> None:
    run(shell, "sim advance 15h")  # to Tue 00:00: the day's activity done
    with backup_lock_held_elsewhere(shell.instance):
        result = shell.execute("sim advance 1d")
    assert result.exit_code == 1 and "sim: a backup is in progress" in result.stderr
    # The clock stayed before the refused backup: the next advance starts with it.
    out = run(shell, "sim advance 1d")
    assert out.splitlines()[0].startswith("2026-03-03 Tue 01:00  full")
    assert out.count("activity of Mon") == 0  # that day's activity is not run twice
    assert [r[:3] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00")]


def test_backups_and_verify_show_every_damaged_file(shell: Session) -> None:
    """A missing event-bus partner, a truncated tarball, halves that disagree and the two hostile tarballs:
    `sim backups` shows each as DAMAGED with its file name and what is wrong; `sim verify` names them all."""
    run(shell, "sim advance 5d")
    first, lone, cut, mixed, last = backup.list_backups(shell.instance)
    lone.eb_file.unlink()
    cut.alation_file.write_bytes(cut.alation_file.read_bytes()[:1000])
    shutil.copyfile(last.eb_file, mixed.eb_file)
    directory = first.alation_file.parent
    nested, string = hostile_nested(directory), hostile_string(directory)
    expected = {
        nested.name: f"{nested.name}: the manifest nests deeper than its format does",
        string.name: f"{string.name}: its manifest would be {(1000 << 20) + 2} bytes",
        lone.eb_file.name: f"{lone.eb_file.name}, the event-bus tarball that goes with {lone.alation_file.name}, "
                           "is missing",
        cut.alation_file.name: f"{cut.alation_file.name}: truncated",
        mixed.eb_file.name: f"{mixed.eb_file.name} does not belong with {mixed.alation_file.name}",
    }
    result = shell.execute("sim backups")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    # The sound backups as timeline rows, the damaged files where their names put them, a rule before cycle 2.
    assert len(lines) == 8
    assert [line[20:25] == "  ─ f" for line in lines] == [False, False, True, False, False, False, False, True]
    assert lines[6].startswith("── cycle 2 ")
    assert lines[0].startswith("2026-03-01 Sun 01:00  DAMAGED  " + expected[nested.name])
    assert lines[1].startswith("2026-03-01 Sun 02:00  DAMAGED  " + expected[string.name])
    for line, name in zip(lines[3:6], (lone.eb_file.name, cut.alation_file.name, mixed.eb_file.name), strict=True):
        assert "  DAMAGED  " + expected[name] in line
    result = shell.execute("sim verify")
    assert result.exit_code == 1
    assert result.stderr == "sim: 5 of 7 backups damaged\n"
    out = result.stdout.splitlines()
    assert f"OK       {first.label} full  {first.alation_file.name}, {first.eb_file.name}" in out
    assert f"OK       {last.label} full  {last.alation_file.name}, {last.eb_file.name}" in out
    for message in expected.values():
        assert sum(message in line for line in out) == 1, message
    assert sum(line.startswith("DAMAGED  ") for line in out) == 5


def test_the_cycle_builds_on_sound_backups_only(shell: Session) -> None:
    run(shell, "alation_conf alation.backup_v2.incr_backup -s True")
    run(shell, "alation_conf alation.backup_v2.incr_backup_versions -s 4")
    run(shell, "sim advance 1d")
    (full,) = backup.list_backups(shell.instance)
    # A later "full" that is damaged: the cycle must not build on it (nor count it).
    later = full.alation_file.with_name(full.alation_file.name.replace(full.label, "202603031200"))
    later.write_bytes(full.alation_file.read_bytes()[:5000])
    hostile_nested(full.alation_file.parent)
    out = run(shell, "sim advance 1d")
    assert "incr " in out and f"base {full.label}" in out
    (rendered,) = [line for line in run(shell, "sim clock").splitlines() if line.startswith("next backup")]
    assert f"incremental 2 of 4 on full {full.label}" in rendered


def test_a_tree_deeper_than_the_recursion_limit_is_backed_up_and_restored(
    instance: Instance, deep_tree: Callable[..., Path]
) -> None:
    from alation_shell.backup.restore import remove_tree

    top = deep_tree(instance.root / "data1/site_data/uploads/deep", 1100)
    deepest = top.joinpath(*["d"] * 1100, "deepest.txt")
    shell = Session(instance)
    out = run(shell, "sim advance 1d")  # the day's activity looks through the uploads; the nightly backup scans
    assert "full" in out
    [record] = backup.list_backups(instance)
    assert run(shell, "sim verify").split()[:3] == ["OK", record.label, "full"]
    remove_tree(top)
    for name, path in zip(("restore_file", "eb_restore_file"), record.files, strict=True):
        run(shell, f"alation_conf alation.backup.{name} -s {instance.shell_path(path)}")
    run(answering(instance, "YES"), "alation_action destructive_restore_all")
    assert deepest.read_text() == "at the bottom\n"


def test_a_path_too_long_to_back_up_is_named_and_nothing_is_written(
    instance: Instance, deep_tree: Callable[..., Path]
) -> None:
    deep_tree(instance.root / "data1/site_data/deep", 1100, "ddd")  # 4,400 characters: more than the host takes
    r = Session(instance).execute("sim advance 1d")
    assert r.exit_code == 1
    [error] = r.stderr.splitlines()
    assert error.startswith("sim: backup failed while reading /data1/site_data/deep/ddd/ddd/")
    assert "..." in error and "/ddd/ddd: path too long to back up (" in error
    assert error.endswith(" characters): move or remove the tree nested that deep; no backup was written")
    assert len(error) < 400 and str(instance.root) not in error
    assert [p.name for p in (instance.root / "data2/backup").iterdir()] == [".backup.lock"]


class _Watch(io.StringIO):
    """Live output that calls `then` once `seen` has been written."""

    def __init__(self, seen: str, then: Callable[[], None]) -> None:
        super().__init__()
        self.seen = seen
        self.then = then

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.seen in text:
            self.then()
        return written


def test_a_cancel_from_another_thread_stops_advance_between_two_events(shell: Session) -> None:
    canceller = Canceller(shell)
    # Cancelled once Tuesday's backup is taken: it stops before the next event, Wednesday's midnight.
    out, err = _Watch("01:00  full", canceller.reached), io.StringIO()
    result = canceller.run("sim advance 30d", live=(out, err))
    assert (result.exit_code, err.getvalue()) == (130, "sim: interrupted\n")
    assert [line[:30] for line in out.getvalue().splitlines()] == [
        "2026-03-03 Tue 00:00  activity", "2026-03-03 Tue 01:00  full    ",
    ]
    # Consistent: the backup taken verifies, and the next advance starts where this one stopped.
    assert run(shell, "sim verify").startswith("OK       ")
    out = run(shell, "sim advance 1d").splitlines()
    assert [line[:30] for line in out[:2]] == ["2026-03-04 Wed 00:00  activity", "2026-03-04 Wed 01:00  full    "]
    assert [r[:3] for r in timeline(shell)] == [("2026-03-03", "Tue", "01:00"), ("2026-03-04", "Wed", "01:00")]
