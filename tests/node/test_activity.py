"""Simulated catalog activity: does what its summary says, is deterministic, and keeps the event bus append-only."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.node.activity import ActivitySummary, shares, simulate_day
from alation_shell.node.catalog import CATALOG_TABLES, RECORD_HEADER, iter_records
from alation_shell.node.seed import create_instance
from tests.node.test_catalog import tree

MONDAY = date(2026, 3, 2)
UPDATED_AT = ("rosemeta_table", "rosemeta_attribute", "rosemeta_article", "rosemeta_query")


def counts(inst: Instance) -> dict[str, int]:
    con = sqlite3.connect(inst.root / "data1/pgsql/rosemeta.db")
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CATALOG_TABLES}
    finally:
        con.close()


def uploads(inst: Instance) -> dict[str, tuple[str, int, float]]:
    """Shell path -> (sha256, size, mtime) of every upload."""
    root = inst.root / "data1/site_data/uploads"
    return {
        inst.shell_path(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime)
        for p in root.rglob("*") if p.is_file()
    }


def records(inst: Instance) -> int:
    return sum(1 for seg in (inst.root / "data1/eventbus").glob("*/*.log") for _ in iter_records(seg))


def segments(inst: Instance) -> set[str]:
    return {f"{p.parent.name}/{p.name}" for p in (inst.root / "data1/eventbus").glob("*/*.log")}


def check_day(inst: Instance, day: date) -> ActivitySummary:
    """Run one day and check, against the files and the database, everything its summary claims."""
    before_rows, before_files, before_records = counts(inst), uploads(inst), records(inst)
    before_segments = segments(inst)
    summary = simulate_day(inst, day)
    start = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    end = start + timedelta(hours=10)
    window = (start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S"))

    after_rows = counts(inst)
    for table in CATALOG_TABLES:
        added, _, deleted = summary.tables[table]
        assert after_rows[table] - before_rows[table] == added - deleted, table
    con = sqlite3.connect(inst.root / "data1/pgsql/rosemeta.db")
    try:
        for table in UPDATED_AT:
            changed = con.execute(f"SELECT count(*) FROM {table} WHERE updated_at BETWEEN ? AND ?"
                                  " AND created_at < ?", (*window, window[0])).fetchone()[0]
            created = con.execute(f"SELECT count(*) FROM {table} WHERE created_at BETWEEN ? AND ?",
                                  window).fetchone()[0]
            assert (created, changed) == tuple(summary.tables[table][:2]), table
        logins = con.execute("SELECT count(*) FROM auth_user WHERE last_login BETWEEN ? AND ?"
                             " AND date_joined < ?", (*window, window[0])).fetchone()[0]
        assert logins == summary.tables["auth_user"][1]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    assert (inst.root / "data1/pgsql/rosemeta.db").stat().st_mtime == end.timestamp()

    after_files = uploads(inst)
    assert sorted(set(after_files) - set(before_files)) == sorted(summary.uploads_added)
    assert sorted(set(before_files) - set(after_files)) == sorted(summary.uploads_removed)
    for path in summary.uploads_added:
        assert start.timestamp() <= after_files[path][2] <= end.timestamp()
    changed = sorted(p for p in set(before_files) & set(after_files) if before_files[p] != after_files[p])
    assert changed == sorted(summary.uploads_modified)
    for path in summary.uploads_modified:
        assert after_files[path][1] == before_files[path][1]  # same size: only the content tells
        assert after_files[path][0] != before_files[path][0]
        assert start.timestamp() <= after_files[path][2] <= end.timestamp()

    after_segments = segments(inst)
    assert len(before_segments - after_segments) == summary.segments_expired
    assert len(after_segments - before_segments) == summary.segments_rolled
    if not summary.segments_expired:
        assert records(inst) - before_records == summary.events
    return summary


def test_a_day_does_what_its_summary_says(instance: Instance) -> None:
    seen_modified = seen_removed = False
    day = MONDAY
    while not (seen_modified and seen_removed):
        assert day < MONDAY + timedelta(days=40), "no upload was modified and removed in 40 days"
        summary = check_day(instance, day)
        seen_modified |= bool(summary.uploads_modified)
        seen_removed |= bool(summary.uploads_removed)
        day += timedelta(days=1)


def test_a_working_day_changes_about_one_percent(instance: Instance) -> None:
    total = sum(counts(instance).values())
    weekday = simulate_day(instance, MONDAY)
    ops = weekday.rows_added + weekday.rows_changed + weekday.rows_deleted
    assert 0.005 * total <= ops <= 0.02 * total
    assert min(weekday.rows_added, weekday.rows_changed, weekday.rows_deleted, weekday.events) > 0
    assert weekday.uploads_added
    saturday = simulate_day(instance, MONDAY + timedelta(days=5))
    assert saturday.rows_added + saturday.rows_changed + saturday.rows_deleted < ops


def test_same_seed_and_days_give_identical_instances(tmp_path: Path) -> None:
    a, b = Instance(tmp_path / "a"), Instance(tmp_path / "b")
    summaries = []
    for inst in (a, b):
        create_instance(inst, seed=77)
        summaries.append([str(simulate_day(inst, MONDAY + timedelta(days=i))) for i in range(3)])
    assert summaries[0] == summaries[1]
    assert tree(a.root / "data1") == tree(b.root / "data1")


def test_different_days_do_different_things(tmp_path: Path) -> None:
    a, b = Instance(tmp_path / "a"), Instance(tmp_path / "b")
    create_instance(a, seed=77)
    create_instance(b, seed=77)
    simulate_day(a, MONDAY)
    simulate_day(b, MONDAY + timedelta(days=1))
    assert (a.root / "data1/pgsql/rosemeta.db").read_bytes() != (b.root / "data1/pgsql/rosemeta.db").read_bytes()


def test_event_bus_segments_are_append_only(instance: Instance) -> None:
    bus = instance.root / "data1/eventbus"
    before = {p: p.read_bytes() for p in bus.glob("*/*") if p.suffix in (".log", ".index")}
    rolled = expired = 0
    for i in range(16):  # past a weekly roll and the 28-day retention of the oldest seeded segments
        summary = simulate_day(instance, MONDAY + timedelta(days=i))
        rolled += summary.segments_rolled
        expired += summary.segments_expired
    assert rolled > 0 and expired > 0
    for path, old in before.items():
        if path.exists():
            assert path.read_bytes()[:len(old)] == old, path  # old bytes unchanged, new ones appended
    for partition in bus.glob("*-[0-9]"):
        segments = sorted(partition.glob("*.log"))
        gone = [p for p in before if p.parent == partition and p.suffix == ".log" and not p.exists()]
        assert all(p.name < segments[0].name for p in gone)  # only the oldest segments expire
        offsets = [r[0] for s in segments for r in iter_records(s)]
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
        for segment in segments:
            assert int(segment.stem) == next(iter_records(segment))[0]


def test_a_torn_record_at_the_end_of_a_segment_is_dropped(instance: Instance) -> None:
    partition = instance.root / "data1/eventbus/user-activity-0"
    active = sorted(partition.glob("*.log"))[-1]
    whole = active.read_bytes()
    with open(active, "ab") as f:  # an append cut short: a header and half a record
        f.write(whole[:RECORD_HEADER.size + 10])
    simulate_day(instance, MONDAY)
    assert active.read_bytes()[:len(whole)] == whole  # the good records stay, the torn one is gone
    segments = sorted(partition.glob("*.log"))
    offsets = [r[0] for s in segments for r in iter_records(s)]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    assert sum(len(s.read_bytes()) for s in segments if s >= active) > len(whole)


def test_activity_is_dated_before_the_given_time(instance: Instance) -> None:
    at = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # e.g. just before a nightly backup on the virtual clock
    simulate_day(instance, date(2026, 3, 3), at=at)
    db = instance.root / "data1/pgsql/rosemeta.db"
    assert db.stat().st_mtime == at.timestamp()
    con = sqlite3.connect(db)
    try:
        newest = con.execute("SELECT max(updated_at) FROM rosemeta_table").fetchone()[0]
    finally:
        con.close()
    assert (at - timedelta(hours=10)).strftime("%Y-%m-%d %H:%M:%S") <= newest <= at.strftime("%Y-%m-%d %H:%M:%S")
    newest_file = max(p.stat().st_mtime for p in (instance.root / "data1").rglob("*"))
    assert newest_file == at.timestamp()


@pytest.mark.parametrize("n", [0, 1, 4, 7, 99, 1000])
def test_shares_split_a_count_exactly(n: int) -> None:
    parts = shares(n, (0.4, 0.3, 0.15, 0.15))
    assert sum(parts) == n and min(parts) >= 0


def test_summary_reads_as_one_line() -> None:
    summary = ActivitySummary(MONDAY)
    summary.tables["rosemeta_attribute"] = [100, 30, 4]
    summary.tables["rosemeta_table"] = [20, 5, 0]
    summary.events = 58
    summary.uploads_added = ["/data1/site_data/uploads/csv/a.csv"]
    summary.uploads_removed = ["/data1/site_data/uploads/csv/b.csv"]
    assert str(summary) == "rows +120 ~35 -4, 58 events, 1 upload added, 1 removed"
    summary.uploads_modified = ["/data1/site_data/uploads/attachments/1/x.pdf"]
    summary.uploads_added = []
    summary.segments_rolled = 2
    assert str(summary) == "rows +120 ~35 -4, 58 events (2 new segments), 0 uploads added, 1 modified, 1 removed"
    assert re.fullmatch(r"[^\n]+", str(summary))


def test_activity_on_a_missing_database_is_a_clear_error(instance: Instance) -> None:
    (instance.root / "data1/pgsql/rosemeta.db").unlink()
    with pytest.raises(ShellError, match="no catalog database at /data1/pgsql/rosemeta.db"):
        simulate_day(instance, MONDAY)
