"""`alation_action backup_all` and `destructive_restore_all` on a real instance, through the session."""

from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.commands.base import Result
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.node.activity import simulate_day
from alation_shell.node.seed import create_instance
from alation_shell.progress import Progress
from alation_shell.session import Session
from alation_shell.terminal import Terminal
from tests.backup import backup_lock_held_elsewhere, change_catalog, everything
from tests.conftest import Canceller, copy_of

V2_PAIR = re.compile(r"(\d{12})_17-0-0-49181_alation_(eb_)?(incr_)?backup\.tar\.gz")
RESTORED_TREES = ("data1/site_data", "data1/eventbus")


def answering(instance: Instance, *answers: str) -> Session:
    queue = list(answers)
    return Session(instance, ask=lambda prompt: queue.pop(0) if queue else None)


def tarballs(instance: Instance) -> list[str]:
    return sorted(p.name for p in instance.real_path("/data2/backup").glob("*.tar.gz"))


def state(instance: Instance) -> dict[str, str]:
    """The catalog as a restore must bring it back: database rows, site data and event-bus bytes."""
    files = {}
    for tree in RESTORED_TREES:
        for path in sorted((instance.root / tree).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(instance.root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    con = sqlite3.connect(instance.root / "data1/pgsql/rosemeta.db")
    try:
        files["rows"] = hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()
    return files


def next_day(instance: Instance) -> None:
    """A day passes: the clock moves on and the catalog changes."""
    now = clock.advance(instance, timedelta(days=1))
    simulate_day(instance, (now - timedelta(days=1)).date())


def test_backup_all_takes_a_full_v2_pair_and_logs_each_step(shell: Session) -> None:
    result = shell.execute("alation_action backup_all")
    assert result.ok, result.stderr
    names = tarballs(shell.instance)
    assert [V2_PAIR.fullmatch(n).group(2, 3) for n in names] == [(None, None), ("eb_", None)]
    label = names[0][:12]
    assert label == clock.now(shell.instance).strftime("%Y%m%d%H%M")  # named after the virtual clock
    assert f"backup {label} complete: full (Backup V2)" in result.stdout
    for name in names:
        assert f"/data2/backup/{name}" in result.stdout
    log = shell.instance.backup_log.read_text()
    lines = log.splitlines()
    assert all(re.match(r"2026-03-02 09:0\d:\d\d UTC  ", line) for line in lines), log
    for step in ("alation_action backup_all: full backup", "staged the catalog database", "published",
                 f"backup {label} complete"):
        assert step in log


def test_backup_all_by_hand_takes_the_next_place_in_the_cycle(shell: Session) -> None:
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 2")
    outputs = []
    for _ in range(4):
        next_day(shell.instance)
        result = shell.execute("alation_action backup_all")
        assert result.ok, result.stderr
        outputs.append(result.stdout)
    records = backup.list_backups(shell.instance)
    assert [(r.kind, r.base) for r in records] == [
        ("full", None), ("incr", records[0].label), ("incr", records[0].label), ("full", None)]
    assert "incremental (Backup V2, base full " + records[0].label in outputs[1]
    incr_names = [p.name for p in records[1].files]
    assert [V2_PAIR.fullmatch(n).group(2, 3) for n in incr_names] == [(None, "incr_"), ("eb_", "incr_")]
    assert records[1].size < records[0].size


def test_v1_gives_one_full_tarball_and_says_why(shell: Session) -> None:
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 4")
    shell.execute("alation_conf alation.backup.use_backup_v2 -s False")
    for _ in range(2):
        result = shell.execute("alation_action backup_all")
        assert result.ok, result.stderr
        assert "incremental backups need Backup V2" in result.stderr
        assert "a full Backup V1 backup was taken" in result.stderr
    names = tarballs(shell.instance)
    assert len(names) == 2 and all(V2_PAIR.fullmatch(n).group(2, 3) == (None, None) for n in names)
    assert [r.format for r in backup.list_backups(shell.instance)] == ["v1", "v1"]


def test_retention_removes_old_cycles_after_a_backup(shell: Session) -> None:
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 1")
    shell.execute("alation_conf alation.backup.keep_cycles -s 1")
    results = []
    for _ in range(3):  # full, incr, full: the second full ends the first cycle
        next_day(shell.instance)
        results.append(shell.execute("alation_action backup_all"))
    records = backup.list_backups(shell.instance)
    assert [r.kind for r in records] == ["full"]
    assert len(tarballs(shell.instance)) == 2
    assert "removed old full backup" in results[2].stdout and "removed old incr backup" in results[2].stdout
    assert "retention (keep_cycles 1): removed incr backup" in shell.instance.backup_log.read_text()


def test_leftovers_of_an_interrupted_run_are_cleaned(shell: Session) -> None:
    backup_dir = shell.instance.real_path("/data2/backup")
    leftover = backup_dir / "202603020800_17-0-0-49181_alation_backup.tar.gz.partial"
    leftover.write_bytes(b"half a tarball")
    result = shell.execute("alation_action backup_all")
    assert result.ok
    assert not leftover.exists()
    assert "removed leftover /data2/backup/202603020800" in shell.instance.backup_log.read_text()


def test_a_second_backup_is_refused_while_one_runs(shell: Session) -> None:
    with backup_lock_held_elsewhere(shell.instance):
        result = shell.execute("alation_action backup_all")
    assert result.exit_code == 1
    assert "a backup is in progress" in result.stderr
    assert tarballs(shell.instance) == []


# Restore ------------------------------------------------------------------------------------------
@pytest.fixture
def two_backups(shell: Session) -> tuple[Session, list[backup.BackupRecord], dict[str, str]]:
    """A full, then a day, then an incremental (whose state is returned), then another day of changes."""
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 4")
    shell.execute("alation_action backup_all")
    next_day(shell.instance)
    shell.execute("alation_action backup_all")
    at_incr = state(shell.instance)
    next_day(shell.instance)
    records = backup.list_backups(shell.instance)
    assert [r.kind for r in records] == ["full", "incr"]
    assert state(shell.instance) != at_incr
    return shell, records, at_incr


def point_at(shell: Session, record: backup.BackupRecord) -> None:
    for name, path in zip(("restore_file", "eb_restore_file"), record.files, strict=False):
        result = shell.execute(f"alation_conf alation.backup.{name} -s {shell.instance.shell_path(path)}")
        assert result.ok, result.stderr


def test_restore_of_an_incremental_brings_back_its_state(two_backups) -> None:  # noqa: ANN001
    shell, records, at_incr = two_backups
    point_at(shell, records[1])
    session = answering(shell.instance, "YES")
    result = session.execute("alation_action destructive_restore_all")
    assert result.ok, result.stderr
    assert state(shell.instance) == at_incr
    assert f"restored backup {records[1].label} (incr on full {records[0].label})" in result.stdout
    assert "alation_action rebuild_es_index" in result.stdout
    log = shell.instance.backup_log.read_text()
    assert f"destructive_restore_all: verifying {shell.instance.shell_path(records[1].files[0])}" in log
    assert f"restore of backup {records[1].label} complete" in log


@pytest.mark.parametrize("answer", ["no", "yes", "YES please", ""])
def test_anything_but_yes_aborts_and_changes_nothing(two_backups, answer: str) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    point_at(shell, records[1])
    before = state(shell.instance)
    result = answering(shell.instance, answer).execute("alation_action destructive_restore_all")
    assert result.exit_code == 1
    assert "aborted, nothing was changed" in result.stderr
    assert "WARNING" in result.stderr
    assert state(shell.instance) == before
    assert "aborted" in shell.instance.backup_log.read_text()


def test_end_of_input_aborts(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    point_at(shell, records[0])
    before = state(shell.instance)
    result = answering(shell.instance).execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and state(shell.instance) == before


def test_restore_needs_both_files_set(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    session = answering(shell.instance, "YES")
    result = session.execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and "alation.backup.restore_file is not set" in result.stderr
    shell.execute(f"alation_conf alation.backup.restore_file -s {shell.instance.shell_path(records[0].files[0])}")
    result = session.execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and "alation.backup.eb_restore_file is not set" in result.stderr
    assert shell.instance.shell_path(records[0].files[1]) in result.stderr  # it names the file to set
    shell.execute("alation_conf alation.backup.eb_restore_file -s /data2/backup/nothing_here.tar.gz")
    result = session.execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and "/data2/backup/nothing_here.tar.gz, which does not exist" in result.stderr


def test_corrupt_backup_is_refused_before_asking(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    point_at(shell, records[1])
    eb = records[1].files[1]
    data = bytearray(eb.read_bytes())
    data[len(data) // 2] ^= 0xFF
    eb.write_bytes(bytes(data))
    before = state(shell.instance)
    asked: list[str] = []
    session = Session(shell.instance, ask=lambda prompt: asked.append(prompt) or "YES")
    result = session.execute("alation_action destructive_restore_all")
    assert result.exit_code == 1
    assert "failed verification, nothing was changed" in result.stderr
    assert asked == [] and state(shell.instance) == before


def test_incremental_without_its_full_is_refused(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    point_at(shell, records[1])
    for path in records[0].files:
        path.unlink()
    before = state(shell.instance)
    result = answering(shell.instance, "YES").execute("alation_action destructive_restore_all")
    assert result.exit_code == 1
    assert f"the full backup {records[0].label} it is based on is missing" in result.stderr
    assert state(shell.instance) == before


def test_restore_is_refused_while_a_backup_runs(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    point_at(shell, records[0])
    with backup_lock_held_elsewhere(shell.instance):
        before = state(shell.instance)
        result = answering(shell.instance, "YES").execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and "a backup is in progress" in result.stderr
    assert state(shell.instance) == before


def test_restore_file_must_be_the_alation_tarball(two_backups) -> None:  # noqa: ANN001
    shell, records, _ = two_backups
    eb = shell.instance.shell_path(records[0].files[1])
    shell.execute(f"alation_conf alation.backup.restore_file -s {eb}")
    result = answering(shell.instance, "YES").execute("alation_action destructive_restore_all")
    assert result.exit_code == 1
    assert "names the event-bus tarball" in result.stderr
    assert f"set it to {records[0].files[0].name}" in result.stderr


def test_v1_backup_restores_from_its_one_tarball(shell: Session) -> None:
    shell.execute("alation_conf alation.backup.use_backup_v2 -s False")
    assert shell.execute("alation_action backup_all").ok
    at_backup = state(shell.instance)
    next_day(shell.instance)
    (record,) = backup.list_backups(shell.instance)
    shell.execute(f"alation_conf alation.backup.restore_file -s {shell.instance.shell_path(record.files[0])}")
    shell.execute(f"alation_conf alation.backup.eb_restore_file -s {shell.instance.shell_path(record.files[0])}")
    result = answering(shell.instance, "YES").execute("alation_action destructive_restore_all")
    assert result.exit_code == 1 and "Backup V1 backup, which holds the event bus too" in result.stderr
    shell.execute("alation_conf --reset alation.backup.eb_restore_file")
    result = answering(shell.instance, "YES").execute("alation_action destructive_restore_all")
    assert result.ok, result.stderr
    assert state(shell.instance) == at_backup


def test_tarballs_are_dated_by_the_virtual_clock(shell: Session) -> None:
    assert shell.execute("sim advance 1d").exit_code == 0
    tarballs_written = sorted(shell.instance.real_path("/data2/backup").glob("*.tar.gz"))
    assert len(tarballs_written) == 2
    for path in tarballs_written:
        # 202603030100_... was taken at 2026-03-03 01:00 UTC (virtual), and says so in its mtime too.
        assert path.stat().st_mtime == datetime(2026, 3, 3, 1, 0, tzinfo=UTC).timestamp()
    assert "Mar  3 01:00 202603030100_17-0-0-49181_alation_backup.tar.gz" in shell.execute("ls -l /data2/backup").stdout


def test_a_staging_directory_set_by_hand_outside_data2_is_refused_and_home_survives(shell: Session) -> None:
    """The issue's case: alation.backup.data_temp_dir = /home (written into the file by hand) once emptied
    the operator's home on the next backup. The backup now refuses, says why, and touches nothing."""
    home = shell.instance.root / "home/alationadmin"
    (home / "notes.txt").write_text("the operator's")
    (home / "project").mkdir()
    (home / "project/plan.md").write_text("# plan")
    conf = shell.instance.conf_file
    conf.write_text('"alation.backup.data_temp_dir" = "/home"\n')
    result = shell.execute("alation_action backup_all")
    assert result.exit_code == 1
    assert result.stderr == (
        "alation_action: alation.backup.data_temp_dir is /home, which is not inside /data2: a backup stages its "
        "files inside /data2 only (`alation_conf alation.backup.data_temp_dir -s /data2/tmp`)\n")
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == ["notes.txt", "project",
                                                                              "project/plan.md"]
    assert tarballs(shell.instance) == []
    assert shell.execute("alation_conf alation.backup.data_temp_dir -s /data2/staging").ok
    assert shell.execute("alation_action backup_all").ok
    assert (home / "notes.txt").read_text() == "the operator's"
    assert [p.name for p in (shell.instance.root / "data2/staging").iterdir()] == []


# Cancelled from another thread --------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance with a 64 MiB catalog: a backup and a restore of it take many progress steps."""
    root = tmp_path_factory.mktemp("big") / "instance"
    create_instance(Instance(root), size=64 << 20)
    return root


@pytest.fixture
def big(big_template: Path, tmp_path: Path) -> Instance:
    return copy_of(big_template, tmp_path / "instance")


def cancelled_halfway(instance: Instance, line: str, label: str, *answers: str) -> Result:
    """Run `line` in a session on a terminal, cancelled from the test's thread once the work whose progress
    label contains `label` is halfway done; it stops at its next progress step."""
    queue = list(answers)
    session = Session(instance, terminal=Terminal(interactive=True), ask=lambda prompt: queue.pop(0))
    canceller = Canceller(session)

    class Halfway(Progress):
        def show(self) -> None:
            if label in self.label and self.done * 2 >= self.total:
                canceller.reached()

    session.progress_bar = lambda label, total, stream, unit, cancel: Halfway(label, total, unit, cancel)
    out, err = io.StringIO(), io.StringIO()
    result = canceller.run(line, live=(out, err))
    return Result(out.getvalue(), err.getvalue(), result.exit_code)  # live output is not kept in the Result


def test_a_cancelled_backup_leaves_no_file_and_the_lock_free(big: Instance) -> None:
    before = everything(big.root)
    result = cancelled_halfway(big, "alation_action backup_all", "_alation_backup")
    assert (result.exit_code, result.stderr) == (130, "alation_action: interrupted\n")
    assert os.listdir(big.real_path("/data2/backup")) == [".backup.lock"]  # no partial file, no half of a pair
    assert [p for p in big.real_path("/data2/tmp").rglob("*") if p.is_file()] == []  # staging emptied
    assert "abandoned; no file of it is left" in big.backup_log.read_text()
    assert everything(big.root) == before
    with backup.BackupLock(big, "backup"):  # released
        pass
    shell = Session(big)
    assert shell.execute("alation_action backup_all").ok
    assert shell.execute("sim verify").stdout.startswith("OK       ")


def test_a_restore_cancelled_before_its_swap_leaves_the_data_untouched(big: Instance) -> None:
    shell = Session(big)
    assert shell.execute("alation_action backup_all").ok
    [record] = backup.list_backups(big)
    point_at(shell, record)
    change_catalog(big, "after the backup")
    before = everything(big.root)
    result = cancelled_halfway(big, "alation_action destructive_restore_all", "restore ", "YES")
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (130, "alation_action: interrupted")
    assert everything(big.root) == before
    assert not (big.root / "data1/.restore").exists()
    with backup.BackupLock(big, "restore"):  # released
        pass
