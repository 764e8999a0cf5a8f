"""Backups and restores killed or failing half-way: nothing looks complete that is not, and nothing is lost."""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup import tuning
from alation_shell.backup.fast import inplace
from alation_shell.backup.records import sidecar_path
from alation_shell.backup.restore import _staging_dir
from alation_shell.instance import Instance
from alation_shell.node.activity import simulate_day
from tests.backup import DB, change_catalog, night, state

# A backup or restore in a child process, so that it can be killed or limited.
CHILD = """
import json, os, sys
from datetime import datetime
from alation_shell import backup
from alation_shell.backup.fast.child import can_fork
from alation_shell.backup.records import sidecar_path
from alation_shell.errors import ShellError
from alation_shell.instance import Instance
instance = Instance(sys.argv[1])
try:
    if sys.argv[2] == "backup":
        backup.create_backup(instance, kind="full", base=None, fmt="v2", when=datetime.fromisoformat(sys.argv[3]))
    else:
        backup.restore_backup(instance, sys.argv[3], sys.argv[4])
except ShellError as exc:
    print(exc.message, file=sys.stderr)
    sys.exit(1)
finally:
    print(json.dumps(sorted(os.listdir(instance.root / "data2/backup"))))  # what this process saw there
"""


def child(instance: Instance, *args: str, wrapper: tuple[str, ...] = (), **popen) -> subprocess.Popen:
    return subprocess.Popen([*wrapper, sys.executable, "-c", CHILD, str(instance.root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def bulk(instance: Instance, mib: int = 24) -> None:
    """Enough data that a backup takes a few tenths of a second (compressible, as catalog data is)."""
    text = os.urandom(mib << 19).hex().encode()
    (instance.root / "data1/site_data/uploads/bulk.csv").write_bytes(text)
    (instance.root / "data1/eventbus/bulk.log").write_bytes(text[: len(text) // 2])


def finals(instance: Instance) -> set[str]:
    return {p.name for p in (instance.root / "data2/backup").glob("*.tar.gz")}


def partials(instance: Instance) -> list[str]:
    return [p.name for p in (instance.root / "data2/backup").iterdir() if p.name.endswith((".partial", ".tmp"))]


def wait_for(predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001 - a callable
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.001)
    return False


@pytest.mark.parametrize("delay", [0.0, 0.015, 0.04, 0.08])
def test_killed_backup_leaves_nothing_that_looks_complete(instance: Instance, delay: float) -> None:
    bulk(instance)
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    proc = child(instance, "backup", night(1).isoformat())
    assert wait_for(lambda: partials(instance) or proc.poll() is not None)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Every final name belongs to a complete backup that verifies; the killed run's files are partials only.
    listed = backup.list_backups(instance)
    assert finals(instance) == {p.name for r in listed for p in r.files}
    for record in listed:
        assert backup.verify_backup(instance, record) == []
    if proc.returncode == -signal.SIGKILL:
        assert listed == [earlier]
    lines: list[str] = []
    after = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(2), log=lines.append)
    assert partials(instance) == []
    assert not any((instance.root / "data2/tmp").iterdir())
    assert backup.verify_backup(instance, after) == [] and backup.verify_backup(instance, earlier) == []
    if proc.returncode == -signal.SIGKILL and delay:
        assert any("leftover" in line for line in lines)


@pytest.mark.parametrize("activity_first", [False, True])
def test_run_killed_between_its_two_renames_is_cleaned_up(instance: Instance, activity_first: bool) -> None:
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    killed = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(1))
    # The state such a kill leaves: the event-bus tarball renamed, the alation one not yet, the lock file
    # still saying "running" for that label.
    killed.alation_file.rename(killed.alation_file.with_name(killed.alation_file.name + ".partial"))
    sidecar_path(killed.alation_file).unlink()
    lock = instance.root / "data2/backup/.backup.lock"
    lock.write_text(json.dumps({"pid": 999999, "phase": "backup", "state": "running", "label": killed.label,
                                "files": [p.name for p in killed.files]}))
    assert backup.list_backups(instance) == [earlier]
    if activity_first:  # it takes the backup lock too, but cleans nothing: the killed run's record is kept
        simulate_day(instance, night(1).date())
    removed = backup.clean_partials(instance)
    assert {p.name for p in removed} == {killed.alation_file.name + ".partial", killed.eb_file.name}
    assert finals(instance) == {p.name for p in earlier.files}
    assert backup.verify_backup(instance, earlier) == []


def test_backup_over_a_file_size_limit_fails_cleanly(instance: Instance) -> None:
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    before = finals(instance)
    (instance.root / "data1/site_data/uploads/video.bin").write_bytes(os.urandom(6 << 20))
    limit = 4 << 20  # the staged database and the event-bus tarball fit; the alation tarball does not

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = child(instance, "backup", night(1).isoformat(), preexec_fn=limited)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "backup failed while writing /data2/backup/" in err and "file too large" in err
    assert "earlier backups are intact" in err and "Traceback" not in err
    assert finals(instance) == before and partials(instance) == []
    assert not any((instance.root / "data2/tmp").iterdir())
    assert backup.list_backups(instance) == [earlier]
    assert backup.verify_backup(instance, earlier) == []


def test_restore_over_a_file_size_limit_fails_cleanly(instance: Instance) -> None:
    """A large file's pieces are written on the restore's writer threads: a write that fails there (EFBIG,
    as ENOSPC would) fails the restore with a clear message, and the current data is untouched."""
    (instance.root / "data1/site_data/uploads/video.bin").write_bytes(os.urandom(6 << 20))
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    (instance.root / "data1/site_data/uploads/video.bin").unlink()
    change_catalog(instance, "day1")
    now = state(instance)
    limit = 4 << 20  # the catalog and the small files fit; the video does not

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = child(instance, "restore", str(record.alation_file), str(record.eb_file), preexec_fn=limited)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert err.startswith("restore failed: File too large") and "the current data is untouched" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert state(instance) == now
    assert not (instance.root / "data1/.restore").exists()


def drop_root_privileges() -> None:
    """In a child running as root: lose the capabilities that bypass file permissions (as `setpriv` does)."""
    if os.geteuid() == 0:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
            if prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_backup_directory_not_writable_fails_cleanly(instance: Instance) -> None:
    """EACCES: /data2/backup cannot be written to."""
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    backup_dir = instance.root / "data2/backup"
    os.chmod(backup_dir, 0o555)
    try:
        proc = child(instance, "backup", night(1).isoformat(), preexec_fn=drop_root_privileges)
        out, err = proc.communicate(timeout=60)
    finally:
        os.chmod(backup_dir, 0o755)
    assert proc.returncode == 1, err
    assert "permission denied" in err and "earlier backups are intact" in err and "Traceback" not in err
    assert backup.list_backups(instance) == [earlier] and partials(instance) == []
    assert backup.verify_backup(instance, earlier) == []


def test_backup_on_a_full_disk_fails_cleanly(instance: Instance) -> None:
    """ENOSPC: /data2/backup is a 1 MiB tmpfs (mounted in a private mount namespace of the child only)."""
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    backup_dir = instance.root / "data2/backup"
    mount = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"', str(backup_dir))
    probe = subprocess.run([*mount, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and unshare)")
    proc = child(instance, "backup", night(1).isoformat(), wrapper=mount)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "backup failed while writing /data2/backup/" in err and "no space left on device" in err, err
    # (The earlier backup is under the tmpfs, where the child does not see it: it says none is there.)
    assert err.endswith("; no backup was written\n") and "Traceback" not in err
    seen_in_tmpfs = json.loads(out.splitlines()[-1])
    assert seen_in_tmpfs == [".backup.lock"]  # nothing half-written left on the full disk
    assert backup.list_backups(instance) == [earlier] and partials(instance) == []
    assert backup.verify_backup(instance, earlier) == []


def test_unreadable_file_fails_the_backup_cleanly(instance: Instance) -> None:
    """EACCES while reading: a site file the backup may not read."""
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    secret = instance.root / "data1/site_data/config/secret.cfg"
    secret.write_text("x")
    secret.chmod(0)
    proc = child(instance, "backup", night(1).isoformat(), preexec_fn=drop_root_privileges)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "while reading /data1/site_data/config/secret.cfg: permission denied" in err, err
    assert backup.list_backups(instance) == [earlier] and partials(instance) == []
    assert not any((instance.root / "data2/tmp").iterdir())


@pytest.mark.parametrize("when", ["staging", "swap"])
def test_killed_restore_is_never_half_done(instance: Instance, when: str) -> None:
    bulk(instance, 16)
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    at_backup = state(instance)
    change_catalog(instance, "after")
    (instance.root / "data1/site_data/uploads/bulk.csv").unlink()
    current = state(instance)
    stage = instance.root / "data1/.restore"

    def reached() -> bool:  # unpacking into the staging directory, or swapping in
        return (stage / "journal.json").exists() if when == "swap" else any(stage.glob("new-*/data1"))

    proc = child(instance, "restore", str(record.alation_file), str(record.eb_file))
    assert wait_for(lambda: reached() or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    backup.clean_partials(instance)  # what the next backup or restore does first
    assert not stage.exists()
    assert state(instance) in (at_backup, current)
    if when == "swap" or proc.returncode == 0:
        assert state(instance) == at_backup


def test_restore_interrupted_mid_swap_is_completed(instance: Instance) -> None:
    """The journal's promise: once the staged data is complete, an interrupted swap is carried through."""
    at_backup = state(instance)
    stage = instance.root / "data1/.restore"
    staged = "new-5f0c3a9e1b2d"
    new = stage / staged
    roots = ["data1/eventbus", "data1/pgsql", "data1/site_data"]
    for root in roots:  # what a restore stages: the trees as they were
        shutil.copytree(instance.root / root, new / root, symlinks=True)
    change_catalog(instance, "after")
    journal = {"roots": roots, "present": roots, "staged": staged}
    (stage / "journal.json").write_text(json.dumps(journal))
    (stage / "old/data1").mkdir(parents=True)
    os.rename(instance.root / "data1/eventbus", stage / "old/data1/eventbus")  # killed after the first swap
    os.rename(new / "data1/eventbus", instance.root / "data1/eventbus")
    os.rename(instance.root / "data1/pgsql", stage / "old/data1/pgsql")  # ... and half of the second
    removed = backup.clean_partials(instance)
    assert removed == [stage] and not stage.exists()
    assert state(instance) == at_backup
    assert (instance.root / DB).exists()


def test_a_journal_naming_a_staging_directory_outside_the_stage_is_refused(instance: Instance) -> None:
    before = state(instance)
    stage = instance.root / "data1/.restore"
    stage.mkdir()
    (stage / "journal.json").write_text(json.dumps({"roots": ["data1/pgsql"], "present": [], "staged": ".."}))
    with pytest.raises(backup.BackupError, match=r"journal.json: damaged \(staged directory '\.\.'\)"):
        backup.clean_partials(instance)
    # A journal that names no staging directory (none is written so) is refused as well, nothing moved.
    (stage / "journal.json").write_text(json.dumps({"roots": ["data1/pgsql"], "present": ["data1/pgsql"]}))
    with pytest.raises(backup.BackupError, match=r"journal.json: damaged \(staged directory None\)"):
        backup.clean_partials(instance)
    assert state(instance) == before


def test_each_restore_stages_into_a_new_directory_placed_as_a_tree_of_its_own(instance: Instance) -> None:
    """(restore._staging_dir) A random name each time, in a stage marked as the top of directory
    hierarchies (chattr +T), so that ext4 does not place the restored files among inodes just freed."""
    first = _staging_dir(instance.root / "data1/.restore")
    shutil.rmtree(first.parent)
    second = _staging_dir(instance.root / "data1/.restore")
    assert first.name != second.name and first.name.startswith("new-") and second.is_dir()
    if not tuning.tuning().fast:
        pytest.skip("the stage is placed apart (FS_TOPDIR_FL) on the fast path only")

    def flags(path: Path, add: int = 0) -> int:
        fd = os.open(path, os.O_RDONLY)
        try:
            value = struct.unpack("i4x", fcntl.ioctl(fd, 0x80086601, bytes(8)))[0]  # FS_IOC_GETFLAGS
            if add:
                fcntl.ioctl(fd, 0x40086602, struct.pack("i4x", value | add))  # FS_IOC_SETFLAGS
            return value
        finally:
            os.close(fd)

    try:  # can the flag be set here at all (ext4 yes; tmpfs, XFS no)?
        scratch = instance.root / "data2/tmp/scratch"
        scratch.mkdir()
        flags(scratch, 0x00020000)
        assert flags(scratch) & 0x00020000
    except (OSError, AssertionError):
        pytest.skip("this file system does not keep FS_TOPDIR_FL")
    assert flags(second.parent) & 0x00020000, "FS_TOPDIR_FL is not set on the stage"


@pytest.mark.skipif(not tuning.tuning().fork, reason="the catalog is read by a forked process on the fast path only")
def test_a_killed_reading_process_fails_the_incremental_cleanly(instance: Instance,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog is read in place by a child process (child.py): killed, the backup fails with a clear
    message, leaves nothing behind, and the next one succeeds."""
    earlier = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(instance, "day1")
    at_incr = state(instance)

    def killed(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)  # in the child, which runs this

    monkeypatch.setattr(inplace, "_diff_mapped", killed)
    with pytest.raises(backup.BackupError) as failed:
        backup.create_backup(instance, kind="incr", base=earlier, fmt="v2", when=night(1))
    assert failed.value.message == (
        "backup failed while reading the catalog database /data1/pgsql/rosemeta.db: the process reading it was "
        "killed by signal 9; no backup was written; earlier backups are intact")
    assert finals(instance) == {p.name for p in earlier.files} and partials(instance) == []
    assert not any((instance.root / "data2/tmp").iterdir())
    monkeypatch.undo()
    record = backup.create_backup(instance, kind="incr", base=earlier, fmt="v2", when=night(1))
    assert backup.verify_backup(instance, record) == []
    backup.restore_backup(instance, record.alation_file)
    assert state(instance) == at_incr
