"""Restore refuses damaged and hostile archives, and the live data stays exactly as it was."""

from __future__ import annotations

import copy
import io
import json
import os
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup.manifest import MANIFEST_NAME
from alation_shell.errors import CorruptArchive
from alation_shell.instance import Instance
from tests.backup import change_catalog, everything, night

Items = list[tuple[tarfile.TarInfo, bytes | None]]


def read_members(path: Path) -> Items:
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()]


def write_members(path: Path, items: Items) -> None:
    """Write a tarball as any tool would (tarfile, one gzip stream), replacing `path`."""
    crafted = path.with_name("crafted.tmp")
    with tarfile.open(crafted, "w:gz", compresslevel=1) as tar:
        for info, data in items:
            info = copy.copy(info)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    os.replace(crafted, path)


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = b"evil\n", link: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, data if kind == tarfile.REGTYPE else None


def edit_manifest(items: Items, change: Callable[[dict], None]) -> Items:
    info, raw = items[0]
    assert info.name == MANIFEST_NAME
    data = json.loads(raw)
    change(data)
    return [(info, json.dumps(data, sort_keys=True).encode()), *items[1:]]


def first_file(items: Items) -> int:
    return next(i for i, (info, _) in enumerate(items) if info.isreg() and info.name != MANIFEST_NAME)


OUTSIDE = f"/tmp/alation-shell-escape-{uuid.uuid4().hex}"

# name -> (how to change the alation tarball's members, the refusal expected)
HOSTILE: dict[str, tuple[Callable[[Items], Items], str]] = {
    "dot-dot": (lambda items: [*items[:3], member("data1/site_data/../../../escaped.txt"), *items[3:]],
                "unsafe path"),
    "absolute": (lambda items: [*items[:3], member(OUTSIDE), *items[3:]], "absolute path"),
    "symlink-escape": (lambda items: [*items, member("data1/site_data/out", tarfile.SYMTYPE, link="../../..")],
                       "symbolic link out of the tree"),
    "symlink-absolute": (lambda items: [*items, member("data1/site_data/etc", tarfile.SYMTYPE, link="/etc")],
                         "symbolic link out of the tree"),
    "hardlink-escape": (lambda items: [*items, member("data1/site_data/pw", tarfile.LNKTYPE, link="/etc/passwd")],
                        "hard link"),
    "hardlink-inside": (lambda items: [*items, member("data1/site_data/x", tarfile.LNKTYPE, link=items[3][0].name)],
                        "hard link"),
    "device": (lambda items: [*items, member("data1/site_data/null", tarfile.CHRTYPE)], "device file"),
    "fifo": (lambda items: [*items, member("data1/site_data/fifo", tarfile.FIFOTYPE)], "FIFO"),
    "duplicate": (lambda items: [*items, items[first_file(items)]], "appears twice"),
    "second-manifest": (lambda items: [*items, items[0]], "appears twice"),
    "unexpected": (lambda items: [*items, member("data1/site_data/config/extra.cfg")], "unexpected member"),
    "missing-member": (lambda items: items[: first_file(items)] + items[first_file(items) + 1 :], "missing"),
    "content-changed": (
        lambda items: [
            (info, bytes(b ^ 1 for b in data) if i == first_file(items) else data)
            for i, (info, data) in enumerate(items)
        ],
        "checksum mismatch",
    ),
    "small-content-changed": (  # a file of one piece: checked on a lane (the one above spans several pieces)
        lambda items: [
            (info, data.upper() if info.name == "data1/site_data/config/alation.lic" else data)
            for info, data in items
        ],
        "checksum mismatch for data1/site_data/config/alation.lic",
    ),
    "size-changed": (
        lambda items: [(info, data + b"!" if i == first_file(items) else data) for i, (info, data) in enumerate(items)],
        "size",
    ),
    "no-manifest": (lambda items: items[1:], "not an alation-shell backup"),
    "manifest-path-outside": (
        lambda items: edit_manifest(items, lambda m: m["entries"].append(
            {"path": "etc/passwd", "type": "dir", "mode": 493, "mtime_ns": 0})),
        "outside the trees",
    ),
    "manifest-symlink-escape": (
        lambda items: edit_manifest(items, lambda m: m["entries"].append(
            {"path": "data1/site_data/zz", "type": "symlink", "mode": 511, "mtime_ns": 0, "target": "../../etc"})),
        "symbolic link out of the tree",
    ),
    "manifest-write-through-link": (
        lambda items: edit_manifest(items, lambda m: m["entries"].extend([
            {"path": "data1/site_data/zz", "type": "symlink", "mode": 511, "mtime_ns": 0, "target": "config"},
            {"path": "data1/site_data/zz/x", "type": "dir", "mode": 493, "mtime_ns": 0},
        ])),
        "no parent directory",
    ),
    "manifest-duplicate-key": (
        lambda items: [(items[0][0], items[0][1].replace(b'"type":"full"', b'"type":"full","type":"full"')),
                       *items[1:]],
        "duplicate key",
    ),
}


@pytest.fixture
def backed_up(instance: Instance) -> tuple[Instance, backup.BackupRecord]:
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(instance, "live")  # the live data differs from the backup, so a restore would show
    return instance, record


def assert_refused(instance: Instance, record: backup.BackupRecord, pattern: str, eb: Path | None = None) -> None:
    before = everything(instance.root)
    with pytest.raises(CorruptArchive, match=pattern):
        backup.restore_backup(instance, record.alation_file, eb or record.eb_file)
    assert everything(instance.root) == before
    assert not (instance.root / "data1/.restore").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_or_damaged_members_are_refused_before_anything_is_touched(backed_up, case: str) -> None:
    instance, record = backed_up
    change, pattern = HOSTILE[case]
    write_members(record.alation_file, change(read_members(record.alation_file)))
    assert_refused(instance, record, pattern)
    assert backup.verify_backup(instance, record) != []
    assert not os.path.lexists(OUTSIDE)
    assert not (instance.root.parent / "escaped.txt").exists()


def test_truncated_tarball_is_refused(backed_up) -> None:
    instance, record = backed_up
    data = record.alation_file.read_bytes()
    record.alation_file.write_bytes(data[: len(data) // 2])
    assert_refused(instance, record, "truncated")
    assert any("truncated" in p for p in backup.verify_backup(instance, record))


@pytest.mark.parametrize("where", [0.3, 0.5, 0.9])
def test_flipped_byte_is_refused(backed_up, where: float) -> None:
    instance, record = backed_up
    data = bytearray(record.alation_file.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    record.alation_file.write_bytes(bytes(data))
    assert_refused(instance, record, record.alation_file.name)
    assert backup.verify_backup(instance, record) != []


def test_event_bus_tarball_of_another_backup_is_refused(backed_up) -> None:
    instance, record = backed_up
    other = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(1))
    assert_refused(instance, record, "does not belong", eb=other.eb_file)


def test_incremental_without_its_full_is_refused(backed_up) -> None:
    instance, base = backed_up
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    change_catalog(instance, "later")
    for path in base.files:
        path.unlink()
    assert_refused(instance, record, f"full backup {base.label} it is based on is missing from /data2/backup")


def test_incremental_with_a_different_full_under_its_name_is_refused(backed_up) -> None:
    instance, base = backed_up
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    impostor = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(2))
    for theirs, ours in zip(impostor.files, base.files, strict=True):
        os.replace(theirs, ours)
    assert_refused(instance, record, "was not made from this full backup")


def test_incremental_restored_from_a_copy_elsewhere_finds_its_full_beside_it(backed_up, tmp_path: Path) -> None:
    instance, base = backed_up
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    elsewhere = instance.root / "home/alationadmin/restore"
    elsewhere.mkdir(parents=True)
    for path in record.files:  # the incremental alone, without its full: refused with where it looked
        os.link(path, elsewhere / path.name)
    with pytest.raises(CorruptArchive, match="missing from /home/alationadmin/restore"):
        backup.restore_backup(instance, elsewhere / record.alation_file.name, None)
    for path in base.files:
        os.link(path, elsewhere / path.name)
    restored = backup.restore_backup(instance, elsewhere / record.alation_file.name, None)
    assert restored.label == record.label
