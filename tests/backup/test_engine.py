"""The backup engine on real instances: names, contents, incrementals, round trips, locks, labels, listing."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alation_shell import backup
from alation_shell.backup import create
from alation_shell.backup.lock import BackupLock
from alation_shell.backup.manifest import (
    BLOCK_SIZE,
    RACY_WINDOW_NS,
    Manifest,
    fingerprint,
    hash_list,
    stat_fingerprint,
)
from alation_shell.backup.records import index_path, read_manifest, sidecar_path, write_index
from alation_shell.errors import BackupInProgress, CorruptArchive
from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance
from alation_shell.progress import Progress
from alation_shell.shell.progress import ProgressBar
from tests.backup import DB, change_catalog, everything, night, state, tree_snapshot

BUILD = "17-0-0-49181"


def full(instance: Instance, n: int = 0, **kw) -> backup.BackupRecord:
    return backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(n), **kw)


def incr(instance: Instance, base: backup.BackupRecord, n: int = 1, **kw) -> backup.BackupRecord:
    return backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(n), **kw)


def restore(instance: Instance, record: backup.BackupRecord) -> None:
    backup.restore_backup(instance, record.alation_file, record.eb_file)


def test_full_v2_writes_the_two_named_tarballs_and_logs_each_step(instance: Instance) -> None:
    (instance.root / "data2/tmp/operator.txt").write_text("left here by the operator")
    lines: list[str] = []
    record = full(instance, log=lines.append)
    assert [p.name for p in record.files] == [
        f"202603030100_{BUILD}_alation_backup.tar.gz",
        f"202603030100_{BUILD}_alation_eb_backup.tar.gz",
    ]
    assert (record.label, record.kind, record.format, record.base) == ("202603030100", "full", "v2", None)
    assert record.created == night(0)
    assert record.size == sum(p.stat().st_size for p in record.files)
    backup_dir = instance.root / "data2/backup"
    assert sorted(p.name for p in backup_dir.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in record.files
    )
    # The run's own staging directory is gone; what the operator left in /data2/tmp is not.
    assert [p.name for p in (instance.root / "data2/tmp").iterdir()] == ["operator.txt"]
    text = "\n".join(lines)
    for step in ("started", "staging in /data2/tmp/alation-backup-202603030100-", "online backup API", "wrote",
                 "published", "complete"):
        assert step in text
    assert backup.verify_backup(instance, record) == []
    assert backup.list_backups(instance) == [record]


def test_progress_is_reported_for_each_tarball_backup_verify_and_restore(instance: Instance) -> None:
    bars: list[Progress] = []

    def progress(label: str, total: int) -> Progress:
        bars.append(ProgressBar(label, total, io.StringIO()))
        return bars[-1]

    record = full(instance, progress=progress)
    backup.verify_backup(instance, record, progress=progress)
    backup.restore_backup(instance, record.alation_file, record.eb_file, progress=progress)
    assert [bar.label.split()[0] for bar in bars] == ["backup", "backup", "verify", "verify", "restore"]
    assert {bar.label.split()[1] for bar in bars[:4]} == {p.name for p in record.files}
    for bar in bars:
        assert bar.total > 0 and bar.done == bar.total
        assert "100.0%" in bar.stream.getvalue()


def test_tarballs_hold_the_right_trees_and_nothing_else(instance: Instance) -> None:
    record = full(instance)
    alation, eb = (read_manifest(p) for p in record.files)
    assert alation.part == "alation" and eb.part == "eb"
    assert {e["path"].split("/")[1] for e in alation.entries} == {"pgsql", "site_data"}
    assert {e["path"].split("/")[1] for e in eb.entries} == {"eventbus"}
    paths = {e["path"] for e in alation.entries + eb.entries}
    assert DB in paths
    assert not any(p.startswith(("data1/es", "etc/", "var/")) for p in paths)
    db = alation.by_path()[DB]
    assert db["staged"] and db["blocks"] and len(db["sha256"]) == 64
    assert alation.backup_id == eb.backup_id and alation.label == eb.label == record.label


def test_v1_is_one_full_tarball_with_all_three_trees(instance: Instance) -> None:
    before = state(instance)
    record = backup.create_backup(instance, kind="full", base=None, fmt="v1", when=night(0))
    assert [p.name for p in record.files] == [f"202603030100_{BUILD}_alation_backup.tar.gz"]
    assert read_manifest(record.files[0]).part == "all"
    change_catalog(instance, "later")
    backup.restore_backup(instance, record.alation_file, None)
    assert state(instance) == before
    with pytest.raises(backup.BackupError, match="full backups only"):
        backup.create_backup(instance, kind="incr", base=record, fmt="v1", when=night(1))


def test_full_round_trip_file_for_file_and_row_for_row(instance: Instance) -> None:
    conf_before = (instance.root / "etc/alation").exists() and sorted((instance.root / "etc").rglob("*"))
    es_before = tree_snapshot(instance.root, ("data1/es",))
    at_backup = state(instance)
    record = full(instance)
    change_catalog(instance, "after")
    (instance.root / "data1/site_data/config/new.cfg").write_text("x = 1\n")
    assert state(instance) != at_backup
    lines: list[str] = []
    backup.restore_backup(instance, record.alation_file, record.eb_file, log=lines.append)
    assert state(instance) == at_backup
    assert tree_snapshot(instance.root, ("data1/es",)) == es_before  # the search index is not in a backup
    assert sorted((instance.root / "etc").rglob("*")) == (conf_before or [])
    assert not (instance.root / "data1/.restore").exists()
    assert any("verified" in line for line in lines) and any("complete" in line for line in lines)


def test_incremental_holds_only_changes_and_restores_full_plus_changes(instance: Instance) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    victim = instance.root / "data1/site_data/config/alation.lic"
    victim.unlink()
    os.chmod(instance.root / "data1/site_data/uploads", 0o750)
    at_incr = state(instance)
    record = incr(instance, base)
    assert [p.name for p in record.files] == [
        f"202603040100_{BUILD}_alation_incr_backup.tar.gz",
        f"202603040100_{BUILD}_alation_eb_incr_backup.tar.gz",
    ]
    assert (record.kind, record.base, record.base_checksum) == ("incr", base.label, base.checksum)
    manifest = read_manifest(record.alation_file)
    entries = manifest.by_path()
    assert "data1/site_data/config/alation.lic" in manifest.deleted
    db = entries[DB]
    assert db["stored"] == "blocks"
    changed_blocks = sum(count for _, count in db["changed"])
    assert 0 < changed_blocks < db["size"] // BLOCK_SIZE  # only the touched pages, not the whole database
    assert len(db["blocks"]) == 32 * changed_blocks  # and the digests of those only: the rest are the full's
    manifest.check_base(read_manifest(base.alation_file))  # which fills in the rest from the full
    assert len(db["blocks"]) == 32 * -(-db["size"] // BLOCK_SIZE)
    assert hash_list(bytes.fromhex(db["blocks"])) == db["sha256"]
    stored = {e["stored"] for e in entries.values() if e["type"] == "file"}
    assert stored >= {"base", "whole"}
    assert record.size < base.size / 3
    assert backup.verify_backup(instance, record) == []
    change_catalog(instance, "day2")
    restore(instance, record)
    assert state(instance) == at_incr


def test_a_file_that_only_shrank_is_restored_to_its_new_size(instance: Instance) -> None:
    """A large file cut at a block boundary has no changed block at all: the incremental stores it by blocks
    with no run, and the restore must still cut the full's copy of it."""
    base = full(instance)
    segment = max((p for p in (instance.root / "data1/eventbus").rglob("*.log")), key=lambda p: p.stat().st_size)
    assert segment.stat().st_size > 3 * BLOCK_SIZE
    os.truncate(segment, 2 * BLOCK_SIZE)
    at_incr = state(instance)
    record = incr(instance, base)
    entry = read_manifest(record.eb_file).by_path()[str(segment.relative_to(instance.root))]
    assert (entry["stored"], entry["changed"], entry["size"]) == ("blocks", [], 2 * BLOCK_SIZE)
    assert backup.verify_backup(instance, record) == []
    change_catalog(instance, "day2")
    restore(instance, record)
    assert state(instance) == at_incr


def test_an_incremental_of_an_instance_whose_catalog_is_gone(instance: Instance) -> None:
    base = full(instance)
    (instance.root / DB).unlink()
    at_incr = tree_snapshot(instance.root)
    lines: list[str] = []
    record = incr(instance, base, log=lines.append)
    assert DB in read_manifest(record.alation_file).deleted
    assert any("no catalog database at /data1/pgsql/rosemeta.db" in line for line in lines)
    assert backup.verify_backup(instance, record) == []
    restore(instance, base)
    restore(instance, record)
    assert tree_snapshot(instance.root) == at_incr and not (instance.root / DB).exists()


def test_catalog_in_wal_mode_is_staged_with_its_committed_but_unmerged_rows(instance: Instance) -> None:
    con = sqlite3.connect(instance.root / DB)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")  # committed rows stay in rosemeta.db-wal
        con.execute("CREATE TABLE wal_rows (v TEXT)")
        con.executemany("INSERT INTO wal_rows VALUES (?)", [(f"row {i}",) for i in range(500)])
        con.commit()
        assert (instance.root / "data1/pgsql/rosemeta.db-wal").stat().st_size > 0
        at_backup = state(instance)
        record = full(instance)
        con.execute("DELETE FROM wal_rows")
        con.commit()
    finally:
        con.close()
    restore(instance, record)
    assert state(instance) == at_backup


WRITER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("CREATE TABLE IF NOT EXISTS written_meanwhile (v TEXT)")
con.execute("INSERT INTO written_meanwhile VALUES ('a row')")
try:
    con.execute("COMMIT")
except sqlite3.OperationalError as exc:
    print(exc)
    sys.exit(3)
"""


def write_a_row(instance: Instance) -> subprocess.CompletedProcess:
    """Another process commits a row to the catalog, giving up at once if it has to wait for a lock."""
    return subprocess.run([sys.executable, "-c", WRITER, str(instance.root / DB)], capture_output=True, text=True,
                          timeout=60)


def test_incremental_reads_the_catalog_in_place_while_writers_wait(instance: Instance,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No copy of the catalog for an incremental: it is read where it lies, and a writer cannot commit
    while it is read (SQLite's SHARED lock, held by a read transaction), so the backup is one instant's."""
    base = full(instance)
    change_catalog(instance, "day1")
    at_incr = state(instance)
    assert sorted(p.name for p in (instance.root / "data1/pgsql").iterdir()) == ["rosemeta.db"]
    attempts: list[subprocess.CompletedProcess] = []
    read_in_place = create.read_in_place

    @contextmanager
    def writer_meanwhile(live: Path) -> Iterator[int | None]:
        # Another process tries to commit while the catalog is being read in place.
        with read_in_place(live) as fd:
            attempts.append(write_a_row(instance))
            yield fd

    monkeypatch.setattr(create, "read_in_place", writer_meanwhile)
    lines: list[str] = []
    record = incr(instance, base, log=lines.append)
    assert len(attempts) == 1
    assert attempts[0].returncode == 3 and "database is locked" in attempts[0].stdout
    assert write_a_row(instance).returncode == 0  # and commits once the backup is done
    entry = read_manifest(record.alation_file).by_path()[DB]
    assert entry["capture"] == "in-place" and "staged" not in entry and entry["stored"] == "blocks"
    assert any("read the catalog database /data1/pgsql/rosemeta.db in place" in line for line in lines)
    assert not any("online backup API" in line for line in lines)
    assert not any((instance.root / "data2/tmp").iterdir())
    restore(instance, record)
    assert state(instance) == at_incr


def wal_catalog(instance: Instance) -> sqlite3.Connection:
    """The catalog switched to WAL mode, with committed rows left in rosemeta.db-wal (the connection keeps
    them there: close it after the backup)."""
    con = sqlite3.connect(instance.root / DB, check_same_thread=False)  # (may be closed by another thread)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE wal_rows (v TEXT)")
    con.executemany("INSERT INTO wal_rows VALUES (?)", [(f"row {i}",) for i in range(500)])
    con.commit()
    assert (instance.root / "data1/pgsql/rosemeta.db-wal").stat().st_size > 0
    return con


def test_incremental_of_a_catalog_in_wal_mode_copies_it_with_the_backup_api(instance: Instance) -> None:
    base = full(instance)
    con = wal_catalog(instance)
    try:
        at_incr = state(instance)
        lines: list[str] = []
        record = incr(instance, base, log=lines.append)
        con.execute("DELETE FROM wal_rows")
        con.commit()
    finally:
        con.close()
    entry = read_manifest(record.alation_file).by_path()[DB]
    assert entry["capture"] == "backup-api" and entry["staged"]
    assert any("online backup API" in line for line in lines)
    restore(instance, record)
    assert state(instance) == at_incr


def test_a_catalog_the_full_did_not_have_is_copied_with_the_backup_api(instance: Instance) -> None:
    """Stored whole, the catalog is copied first: writers need not wait while it is compressed."""
    db = instance.root / DB
    kept = db.with_name("kept")
    db.rename(kept)
    base = full(instance)
    kept.rename(db)
    at_incr = state(instance)
    record = incr(instance, base)
    entry = read_manifest(record.alation_file).by_path()[DB]
    assert (entry["capture"], entry["stored"]) == ("backup-api", "whole")
    change_catalog(instance, "day2")
    restore(instance, record)
    assert state(instance) == at_incr


def test_catalog_switched_to_wal_mode_while_an_incremental_runs_is_copied_after_all(
        instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    switched: list[sqlite3.Connection] = []
    at_incr: list[tuple] = []
    read_in_place = create.read_in_place

    def switching_first(live: Path):  # noqa: ANN202 - a context manager
        # After the backup started, just before the catalog's read transaction begins.
        switched.append(wal_catalog(instance))
        at_incr.append(state(instance))
        return read_in_place(live)

    monkeypatch.setattr(create, "read_in_place", switching_first)
    try:
        record = incr(instance, base)
    finally:
        for con in switched:
            con.close()
    assert len(switched) == 1
    assert read_manifest(record.alation_file).by_path()[DB]["capture"] == "backup-api"
    change_catalog(instance, "day2")
    restore(instance, record)
    trees, rows = state(instance)
    assert rows == at_incr[0][1]  # the rows of the moment it was copied, WAL-resident ones included
    # (the times of /data1/pgsql and of the database file are those the backup found before the switch)
    assert {k: v for k, v in trees.items() if not k.startswith("data1/pgsql")} == {
        k: v for k, v in at_incr[0][0].items() if not k.startswith("data1/pgsql")}


def test_incrementals_are_taken_against_the_last_full_never_the_previous_incremental(instance: Instance) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    first = incr(instance, base, 1)
    change_catalog(instance, "day2")
    at_second = state(instance)
    second = incr(instance, base, 2)
    assert second.base == base.label
    assert read_manifest(second.alation_file).base == {"label": base.label, "checksum": base.checksum}
    backup.delete_backup(instance, first)  # a restore needs exactly the full and the one incremental
    change_catalog(instance, "day3")
    restore(instance, second)
    assert state(instance) == at_second


def test_same_size_edit_with_mtime_put_back_is_caught(instance: Instance) -> None:
    path = instance.root / "data1/site_data/config/alation.lic"
    original = path.read_bytes()
    base = full(instance)
    st = path.stat()
    path.write_bytes(bytes(b ^ 0x20 for b in original))  # same size, same second
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime put back
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size
    at_incr = state(instance)
    record = incr(instance, base)
    entry = read_manifest(record.alation_file).by_path()["data1/site_data/config/alation.lic"]
    assert entry["stored"] == "whole"
    path.write_bytes(original)
    restore(instance, record)
    assert state(instance) == at_incr


def test_unchanged_file_is_taken_from_the_full_unread(instance: Instance) -> None:
    base = full(instance)
    time.sleep(0.01)
    record = incr(instance, base)
    entries = read_manifest(record.alation_file).by_path()
    assert entries["data1/site_data/config/alation.lic"]["stored"] == "base"


def unchanged_since(base: dict, st: SimpleNamespace, racy_from_ns: int) -> bool:
    """The rule as the incremental's scan applies it (create._BackupRun._scan)."""
    return fingerprint(base, racy_from_ns) == stat_fingerprint(st)  # type: ignore[arg-type]


def test_change_rule_needs_size_mtime_ctime_inode_mode_and_no_racy_record() -> None:
    base = {"type": "file", "size": 10, "mtime_ns": 1_000, "ctime_ns": 2_000, "ino": 7, "mode": 0o644}
    now = {"st_size": 10, "st_mtime_ns": 1_000, "st_ctime_ns": 2_000, "st_ino": 7, "st_mode": 0o100644}
    assert unchanged_since(base, SimpleNamespace(**now), racy_from_ns=10_000)
    assert not unchanged_since(base, SimpleNamespace(**now), racy_from_ns=1_500)  # in the racy window: hash it
    assert not unchanged_since(base, SimpleNamespace(**now), racy_from_ns=2_000)
    for field in now:
        assert not unchanged_since(base, SimpleNamespace(**{**now, field: now[field] + 1}), racy_from_ns=10_000)
    assert not unchanged_since({**base, "staged": True}, SimpleNamespace(**now), racy_from_ns=10_000)
    assert not unchanged_since({**base, "capture": "in-place"}, SimpleNamespace(**now), racy_from_ns=10_000)
    assert not unchanged_since({**base, "type": "symlink"}, SimpleNamespace(**now), racy_from_ns=10_000)
    symlink = {**now, "st_mode": 0o120644}  # replaced by a link: the same size, times and inode cannot happen,
    assert not unchanged_since(base, SimpleNamespace(**symlink), racy_from_ns=10_000)  # but the type is checked
    assert RACY_WINDOW_NS >= 1_000_000_000


def test_two_backups_in_one_minute_get_distinct_labels(instance: Instance) -> None:
    first = full(instance)
    second = full(instance)
    assert (first.label, second.label) == ("202603030100", "202603030101")
    assert first.alation_file.exists() and second.alation_file.exists()
    assert backup.verify_backup(instance, first) == [] and backup.verify_backup(instance, second) == []
    assert [r.label for r in backup.list_backups(instance)] == [first.label, second.label]


def test_a_second_backup_or_a_restore_is_refused_while_one_runs(instance: Instance) -> None:
    record = full(instance)
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from alation_shell.instance import Instance\n"
            "from alation_shell.backup.lock import BackupLock\n"
            "with BackupLock(Instance(sys.argv[1]), 'backup') as lock:\n"
            "    lock.update(label='209901010000')\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.readline()\n"
        ), str(instance.root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        busy = rf"a backup is in progress \(pid {holder.pid}, started .*209901010000"
        with pytest.raises(BackupInProgress, match=busy):
            full(instance, 1)
        with pytest.raises(BackupInProgress, match=f"pid {holder.pid}"):
            restore(instance, record)
        assert backup.list_backups(instance) == [record]
    finally:
        holder.communicate("\n", timeout=10)
    assert full(instance, 1).label == "202603040100"  # free again once the holder is gone


def test_lock_refuses_another_thread_but_nests_in_the_same_thread(instance: Instance) -> None:
    errors: list[Exception] = []
    with BackupLock(instance, "backup") as lock:
        record = full(instance)  # nested in this thread: allowed (the cycle holds it over backup + retention)
        backup.delete_backup(instance, record)

        def other() -> None:
            try:
                full(instance, 1)
            except BackupInProgress as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert lock.state["state"] == "running"
    assert len(errors) == 1 and f"pid {os.getpid()}" in errors[0].message
    assert json.loads((instance.root / "data2/backup/.backup.lock").read_text())["state"] == "done"


@pytest.mark.parametrize(("staging", "refusal"), [
    *[(path, f"alation.backup.data_temp_dir is {path}, which is not inside /data2: a backup stages its files inside "
             "/data2 only (`alation_conf alation.backup.data_temp_dir -s /data2/tmp`)")
      for path in ("/", "/data1", "/data1/site_data", "/data2", "/etc", "/var", "/home", "/home/alationadmin")],
    *[(path, f"alation.backup.data_temp_dir is {path}, which lies in /data2/backup, where backups are kept: set it "
             "to a directory of its own (`alation_conf alation.backup.data_temp_dir -s /data2/tmp`)")
      for path in ("/data2/backup", "/data2/backup/tmp")],
])
def test_staging_outside_data2_or_among_the_backups_is_refused(instance: Instance, staging: str, refusal: str,
                                                               ) -> None:
    (instance.root / "home/alationadmin/notes.txt").write_text("the operator's")
    before = everything(instance.root) | tree_snapshot(instance.root, ("home", "var", "opt"))
    with pytest.raises(backup.BackupError) as refused:
        full(instance, staging=staging)
    assert refused.value.message == refusal
    assert everything(instance.root) | tree_snapshot(instance.root, ("home", "var", "opt")) == before
    assert backup.list_backups(instance) == []


def test_staging_through_a_link_out_of_data2_is_refused(instance: Instance) -> None:
    (instance.root / "data2/tmp").rmdir()
    (instance.root / "data2/tmp").symlink_to("../home/alationadmin")
    (instance.root / "home/alationadmin/notes.txt").write_text("the operator's")
    with pytest.raises(backup.BackupError, match=r"is /data2/tmp \(that is, /home/alationadmin\), which is not inside"):
        full(instance)
    assert [p.name for p in (instance.root / "home/alationadmin").iterdir()] == ["notes.txt"]


def test_staging_removes_only_what_backups_put_there(instance: Instance) -> None:
    """Each run stages in a directory of its own and removes it; one a killed run left is removed by the next
    run. Anything else in the staging directory stays as it was."""
    staging = instance.root / "data2/othertmp"
    (staging / "keep/deep").mkdir(parents=True)
    (staging / "keep/deep/file").write_text("the operator's")
    (staging / "alation-backup-notes.txt").write_text("named like ours, but not ours")
    killed = staging / "alation-backup-202603020900-0123456789ab"
    killed.mkdir()
    (killed / "rosemeta.db").write_bytes(b"half a staged copy")
    lines: list[str] = []
    record = full(instance, staging="/data2/othertmp", log=lines.append)
    assert sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")) == [
        "alation-backup-notes.txt", "keep", "keep/deep", "keep/deep/file"]
    assert (staging / "keep/deep/file").read_text() == "the operator's"
    assert "removed leftover /data2/othertmp/alation-backup-202603020900-0123456789ab of an interrupted run" in lines
    assert any(line.startswith("staging in /data2/othertmp/alation-backup-202603030100-") for line in lines)
    assert backup.verify_backup(instance, record) == []


def test_listing_shows_complete_backups_only(instance: Instance) -> None:
    record = full(instance)
    backup_dir = instance.root / "data2/backup"
    (backup_dir / f"202603040100_{BUILD}_alation_backup.tar.gz.partial").write_bytes(b"half")
    (backup_dir / f"202603050100_{BUILD}_alation_backup.tar.gz").write_bytes(b"not a tarball")
    renamed = backup_dir / f"202603060100_{BUILD}_alation_backup.tar.gz"
    shutil.copy(record.alation_file, renamed)
    lone = full(instance, 5)
    lone.eb_file.unlink()  # an alation tarball without its event-bus partner
    assert backup.list_backups(instance) == [record]
    with pytest.raises(CorruptArchive, match="name does not match its manifest"):
        backup.find_backup(instance, renamed)
    with pytest.raises(CorruptArchive, match="event-bus tarball that goes with"):
        backup.find_backup(instance, lone.alation_file)


def test_sidecar_is_a_cache_never_the_truth(instance: Instance) -> None:
    record = full(instance)
    sidecar = sidecar_path(record.alation_file)
    assert json.loads(sidecar.read_text())["label"] == record.label
    sidecar.write_text("{not json")
    assert backup.list_backups(instance) == [record]  # read from the manifests instead
    assert any("sidecar" in problem for problem in backup.verify_backup(instance, record))
    sidecar.unlink()
    assert backup.list_backups(instance) == [record]
    assert backup.verify_backup(instance, record) == []


def test_a_full_lists_each_blocks_xxh3_for_its_incrementals(instance: Instance) -> None:
    base = full(instance)
    for manifest in map(read_manifest, base.files):
        blocked = [e for e in manifest.entries if e.get("blocks")]
        assert blocked and all(len(e["xxh3"]) == len(e["blocks"]) for e in blocked)
    change_catalog(instance, "day1")
    record = incr(instance, base)
    assert not any("xxh3" in e for m in map(read_manifest, record.files) for e in m.entries)


def stored(record: backup.BackupRecord) -> dict[str, tuple]:
    """path -> how an incremental stores it (and its digests), for both of its tarballs."""
    return {e["path"]: (e.get("stored"), e.get("sha256"), e.get("blocks"), e.get("changed"))
            for m in map(read_manifest, record.files) for e in m.entries}


def rewrite_index(instance: Instance, base: backup.BackupRecord, change, later_ns: int = 0) -> None:  # noqa: ANN001
    """Replace the full's base index by one whose entries went through `change(entry)` and whose full
    started its scan `later_ns` later."""
    manifests = [read_manifest(path) for path in base.files]
    for manifest in manifests:
        manifest.data["scan_started_ns"] += later_ns
        for entry in manifest.entries:
            change(entry)
    write_index(instance, base, [Manifest(m.data, b"", m.checksum) for m in manifests])


def test_the_base_index_is_what_an_incremental_reads_of_its_full(instance: Instance) -> None:
    base = full(instance)
    assert index_path(instance, base.alation_file).is_file()
    lic = "data1/site_data/config/alation.lic"
    digest = read_manifest(base.alation_file).by_path()[lic]["sha256"]
    assert stored(incr(instance, base, 1))[lic][:2] == ("base", digest)

    # The instance was copied just before the full: a scan said to start later leaves no file in the window
    # of racy records, so that the full's record of an unchanged file is taken unread (and refers to it).
    rewrite_index(instance, base, lambda entry: None, later_ns=10 * RACY_WINDOW_NS)
    manifest = read_manifest(incr(instance, base, 2).alation_file)
    assert manifest.by_path()[lic] == {"path": lic, "type": "file", "stored": "base"}
    manifest.check_base(read_manifest(base.alation_file))  # which fills in the full's record
    full_record = read_manifest(base.alation_file).by_path()[lic]
    assert manifest.by_path()[lic] == {**full_record, "stored": "base"} and "xxh3" not in full_record

    def misremember(entry: dict) -> None:
        if entry["path"] == lic:
            entry["mtime_ns"] -= 1

    rewrite_index(instance, base, misremember, later_ns=10 * RACY_WINDOW_NS)
    record = incr(instance, base, 3)
    assert stored(record)[lic][:2] == ("base", digest)  # the index's record no longer fits: read and hashed
    assert backup.verify_backup(instance, record) == []


def test_a_damaged_or_stale_base_index_is_not_used(instance: Instance) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    at_incr = state(instance)
    expected = stored(incr(instance, base, 1))
    index = index_path(instance, base.alation_file)
    sound = index.read_bytes()
    index.write_bytes(sound[:-10] + bytes(10))  # damaged
    assert stored(incr(instance, base, 2)) == expected
    index.write_bytes(sound)
    copy = base.eb_file.with_name("copy")
    shutil.copy2(base.eb_file, copy)
    copy.replace(base.eb_file)  # the same bytes under a new inode: not the tarball the index was made from
    record = incr(instance, base, 3)
    assert stored(record) == expected
    restore(instance, record)
    assert state(instance) == at_incr


def test_an_incremental_is_the_same_without_the_xxh3_prefilter(instance: Instance) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    with_xxh3 = stored(incr(instance, base, 1))
    rewrite_index(instance, base, lambda entry: entry.pop("xxh3", None))  # as for a file that grew while read
    assert stored(incr(instance, base, 2)) == with_xxh3


def test_base_indexes_go_with_their_fulls(instance: Instance) -> None:
    first = full(instance)
    second = full(instance, 1)
    backup.delete_backup(instance, first)
    assert not index_path(instance, first.alation_file).exists()
    for path in second.files:
        path.unlink()  # removed by other means than delete_backup
    third = full(instance, 2)
    assert [p.name for p in (instance.root / "var/backup_index").iterdir()] == [
        index_path(instance, third.alation_file).name]


def test_find_backup_from_either_tarball_and_delete(instance: Instance) -> None:
    record = full(instance)
    assert backup.find_backup(instance, record.eb_file) == record
    assert backup.find_backup(instance, record.alation_file) == record
    backup.delete_backup(instance, record)
    assert not any(p.exists() for p in record.files) and not sidecar_path(record.alation_file).exists()
    assert backup.list_backups(instance) == []


def test_verify_reports_an_incremental_whose_full_is_gone(instance: Instance) -> None:
    base = full(instance)
    change_catalog(instance, "day1")
    record = incr(instance, base)
    for path in base.files:
        path.unlink()
    problems = backup.verify_backup(instance, record)
    assert problems and all(f"full backup {base.label} it is based on is missing" in p for p in problems)


def test_links_inside_the_tree_are_kept_others_skipped(instance: Instance) -> None:
    site = instance.root / "data1/site_data"
    (site / "current").symlink_to("config")
    (site / "escape").symlink_to("../../etc")
    os.mkfifo(site / "pipe")
    lines: list[str] = []
    at_backup = state(instance)
    record = full(instance, log=lines.append)
    entries = read_manifest(record.alation_file).by_path()
    assert entries["data1/site_data/current"]["target"] == "config"
    assert "data1/site_data/escape" not in entries and "data1/site_data/pipe" not in entries
    assert any("escape" in line and "skipped" in line for line in lines)
    restore(instance, record)
    expected = {k: v for k, v in at_backup[0].items() if not k.endswith(("/escape", "/pipe"))}
    assert state(instance) == (expected, at_backup[1])


# A round-trip property: random activity and backups, then every backup restores its own moment exactly.

FILE_SIZES = st.sampled_from([0, 1, 100, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE + 5])
OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 4), FILE_SIZES, st.integers(0, 255)),
    st.tuples(st.just("patch"), st.integers(0, 4), st.integers(0, 4 * BLOCK_SIZE), st.integers(0, 255)),
    st.tuples(st.just("append"), st.integers(0, 4), st.integers(1, 2 * BLOCK_SIZE), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 4), st.just(0), st.just(0)),
    st.tuples(st.just("chmod"), st.integers(0, 4), st.sampled_from([0o600, 0o640, 0o755]), st.just(0)),
    st.tuples(st.just("mkdir"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("link"), st.integers(0, 4), st.integers(0, 4), st.just(0)),
    st.tuples(st.just("rows"), st.integers(1, 300), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("backup"), st.sampled_from(["full", "incr"]), st.just(0), st.just(0)),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = Instance(tmp_path_factory.mktemp("template") / "instance")
    create_instance(inst)
    return inst.root


def apply(root: Path, op: tuple) -> None:
    kind, a, b, c = op
    area = root / "data1/site_data/uploads/prop"
    area.mkdir(exist_ok=True)
    path = area / f"f{a}"
    if kind == "write":
        if path.is_symlink() or path.is_dir():
            return
        path.write_bytes(bytes([c]) * b)
    elif kind == "patch" and path.is_file() and not path.is_symlink() and path.stat().st_size:
        st_ = path.stat()
        with open(path, "r+b") as f:  # same size, mtime put back: only ctime and content tell
            f.seek(b % st_.st_size)
            f.write(bytes([c ^ 0x55]))
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    elif kind == "append" and path.is_file() and not path.is_symlink():
        with open(path, "ab") as f:
            f.write(bytes([c]) * b)
    elif kind == "delete" and os.path.lexists(path):
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    elif kind == "chmod" and path.is_file() and not path.is_symlink():
        path.chmod(b)
    elif kind == "mkdir" and not os.path.lexists(area / f"d{a}"):
        (area / f"d{a}").mkdir()
        (area / f"d{a}" / "inside").write_text(f"dir {a}")
    elif kind == "link" and not os.path.lexists(path):
        path.symlink_to(f"f{b}")
    elif kind == "rows":
        con = sqlite3.connect(root / DB)
        con.execute("CREATE TABLE IF NOT EXISTS prop (id INTEGER PRIMARY KEY, v TEXT)")
        con.executemany("INSERT INTO prop (v) VALUES (?)", [(f"{b}-{i}" * 30,) for i in range(a)])
        con.execute("UPDATE prop SET v = v || 'u' WHERE id % 10 = ?", (b,))
        con.execute("DELETE FROM prop WHERE id % 13 = ?", (b,))
        con.commit()
        con.close()


def backed_up_state(instance: Instance) -> tuple[dict, dict]:
    """The state a backup keeps: all but the links that lead nowhere (to a file since deleted, to themselves),
    which a backup skips as its restore would refuse them."""
    tree, rows = state(instance)
    kept = {path: v for path, v in tree.items() if v[0] != "symlink" or os.path.exists(instance.root / path)}
    return kept, rows


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=10))
def test_every_backup_restores_its_own_moment(template: Path, ops: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "instance"
        shutil.copytree(template, root, symlinks=True)
        instance = Instance(root)
        taken: list[tuple[backup.BackupRecord, tuple]] = []
        last_full = None
        for op in [*ops, ("backup", "incr", 0, 0)]:
            if op[0] != "backup":
                apply(root, op)
                continue
            kind = op[1] if last_full is not None else "full"
            record = backup.create_backup(instance, kind=kind, base=last_full if kind == "incr" else None,
                                          fmt="v2", when=night(len(taken)))
            if kind == "full":
                last_full = record
            taken.append((record, backed_up_state(instance)))
        for record, at_backup in reversed(taken):
            restore(instance, record)
            assert state(instance) == at_backup, record.label
