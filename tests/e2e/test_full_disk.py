"""When space runs out: a backup says what failed and that no backup was written; a restore that does not fit
on /data1 is refused before anything is unpacked. The small disk is a tmpfs, mounted in a private mount
namespace of a child process only (skipped where that cannot be done: it needs root and unshare)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup.records import BackupError, read_manifest
from alation_shell.backup.restore import check_space
from alation_shell.instance import Instance
from alation_shell.node import clock
from tests.backup import everything, night
from tests.conftest import env_for, tool

# In its own mount namespace: a tmpfs of SIZE is mounted on MOUNT, the instance copied onto it (HOME, or
# only its data2 or data1: PART), the disk filled up if FILL; then the command runs, and what is left on the
# disk is printed as JSON (and whether anything in /data1 changed).
ON_A_SMALL_DISK = r"""
import json, os, shutil, subprocess, sys
template, mount, size, part, fill, *command = sys.argv[1:]
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount], check=True)
home = os.path.join(mount, "instance") if part == "instance" else template
if part == "instance":
    shutil.copytree(template, home, symlinks=True)
else:  # the instance stays where it is, but /data1 or /data2 is the small disk
    shutil.copytree(os.path.join(template, part), mount, symlinks=True, dirs_exist_ok=True)
    subprocess.run(["mount", "--bind", mount, os.path.join(template, part)], check=True)
if fill == "fill":
    with open(os.path.join(mount, "filler"), "wb") as f:
        try:
            while True:
                f.write(bytes(1 << 16))
                f.flush()
        except OSError:
            pass
def data1():
    top = os.path.join(home, "data1")
    return sorted((os.path.relpath(os.path.join(d, n), top), os.lstat(os.path.join(d, n)).st_mtime_ns)
                  for d, dirs, files in os.walk(top) for n in dirs + files)
before = data1()
run = subprocess.run([c.replace("HOME", home) for c in command], capture_output=True, text=True)
left = {d: sorted(os.listdir(os.path.join(home, d))) for d in ("data2/backup", "data2/tmp", "data1")}
print(json.dumps({"code": run.returncode, "out": run.stdout, "err": run.stderr, "left": left,
                  "data1_unchanged": data1() == before}))
"""


def on_a_small_disk(tmp_path: Path, home: Path, size: str, part: str, fill: bool, *command: str) -> dict:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    unshare = ("unshare", "--mount", "--propagation", "private")
    if subprocess.run([*unshare, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and unshare)")
    proc = subprocess.run([*unshare, sys.executable, "-c", ON_A_SMALL_DISK, str(home), str(mount), size, part,
                           "fill" if fill else "", *command], capture_output=True, text=True, env=env_for(home),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(("size", "part", "fill", "clock_runs", "step"), [
    # The whole disk is full, on a new instance (its clock starts with the backup) or one whose clock runs.
    ("32m", "instance", True, False, "starting the virtual clock in /var/clock.json"),
    ("32m", "instance", True, True, "taking the backup lock /data2/backup/.backup.lock"),
    ("1m", "data2", True, True, "taking the backup lock /data2/backup/.backup.lock"),  # /data2 is full
    ("3m", "data2", False, True, "writing /data2/backup/LABEL_17-0-0-49181_alation_backup.tar.gz.partial"),
])
def test_the_first_backup_on_a_full_disk_says_what_failed_and_that_nothing_was_written(
        tmp_path: Path, seeded_template: Path, size: str, part: str, fill: bool, clock_runs: bool, step: str,
        ) -> None:
    home = tmp_path / "instance"
    shutil.copytree(seeded_template, home, symlinks=True)
    if clock_runs:
        clock.now(Instance(home))
    seen = on_a_small_disk(tmp_path, home, size, part, fill, tool("alation-shell"), "--home", "HOME", "-c",
                           "alation_action backup_all")
    assert seen["code"] == 1
    lines = seen["err"].splitlines()
    label = next((line.split()[1] for line in seen["out"].splitlines() if line.startswith("  backup ")), "")
    assert lines[-1] == (f"alation_action: backup failed while {step.replace('LABEL', label)}: no space left on "
                         "device; no backup was written"), seen["err"]
    assert all(not line.startswith("alation_action: ") for line in lines[:-1]) and "Traceback" not in seen["err"]
    assert set(seen["left"]["data2/backup"]) <= {".backup.lock"} and seen["left"]["data2/tmp"] == []


def test_a_restore_that_does_not_fit_on_data1_is_refused_before_anything_is_unpacked(
        tmp_path: Path, seeded_template: Path) -> None:
    """/data1 is a disk with room for its data and little more: the restore would need as much again, as the
    restored trees are unpacked beside the current ones. It is refused at once, and nothing is written."""
    home = tmp_path / "instance"
    shutil.copytree(seeded_template, home, symlinks=True)
    instance = Instance(home)
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    used = sum(p.lstat().st_blocks * 512 for p in (home / "data1").rglob("*"))
    size = f"{(used + (2 << 20)) // 1024}k"  # the data, and 2 MiB: less than the restore needs
    for name in ("alation.backup.restore_file", "alation.backup.eb_restore_file"):
        path = record.files[0] if name == "alation.backup.restore_file" else record.files[1]
        subprocess.run([tool("alation_conf"), name, "-s", instance.shell_path(path)], env=env_for(home), check=True,
                       capture_output=True)
    before = everything(home)
    seen = on_a_small_disk(tmp_path, home, size, "data1", False, "sh", "-c",
                           f"echo YES | {tool('alation_action')} destructive_restore_all")
    assert seen["code"] == 1, seen
    message = seen["err"].strip()
    assert "\n" not in message  # refused before asking: no warning, no question
    assert message.startswith(f"alation_action: restore refused: backup {record.label} needs "), message
    assert " MiB on /data1 and " in message and message.endswith(
        " is free; nothing was changed (make room on /data1 and try again)")
    assert ".restore" not in seen["left"]["data1"] and seen["data1_unchanged"]  # refused before unpacking
    assert everything(home) == before


def test_the_space_a_restore_needs_is_counted_from_its_manifests(instance: Instance) -> None:
    """check_space, on the real /data1 with its real free space: a backup fits; the same backup as a
    manifest that says its files are larger than the free space does not."""
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    manifests = [read_manifest(path) for path in record.files]
    check_space(instance, record, manifests)
    fs = os.statvfs(instance.root / "data1")
    big = next(e for e in manifests[0].entries if e["type"] == "file")
    big["size"] = fs.f_bavail * fs.f_frsize + 1  # (only the size is read: the check comes before any data)
    with pytest.raises(BackupError, match=rf"^restore refused: backup {record.label} needs .* on /data1 and "):
        check_space(instance, record, manifests)


def test_a_backup_that_failed_to_take_the_lock_does_not_leave_it_held(tmp_path: Path, seeded_template: Path,
                                                                      ) -> None:
    """Two backups in one session on a full /data2: the second fails as the first did, not as "a backup is in
    progress" (the first must not keep the lock's descriptor open)."""
    home = tmp_path / "instance"
    shutil.copytree(seeded_template, home, symlinks=True)
    clock.now(Instance(home))
    seen = on_a_small_disk(tmp_path, home, "1m", "data2", True, "sh", "-c",
                           f"printf 'alation_action backup_all\\nalation_action backup_all\\n' | "
                           f"{tool('alation-shell')} --home HOME")
    failed = [line for line in seen["err"].splitlines() if line.startswith("alation_action: ")]
    assert failed == ["alation_action: backup failed while taking the backup lock /data2/backup/.backup.lock: no "
                      "space left on device; no backup was written"] * 2, seen["err"]
