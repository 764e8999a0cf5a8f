"""Verify, delete and clean up backups (SPEC §6): what is done to backups already taken, besides restoring them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from alation_shell.backup import ledger
from alation_shell.backup.archive import TarballReader
from alation_shell.backup.lock import BackupLock
from alation_shell.backup.manifest import Manifest
from alation_shell.backup.records import (
    NAME,
    BackupRecord,
    DamagedBackup,
    backup_dir,
    find_full,
    index_path,
    os_reason,
    read_manifest,
    read_sidecar,
    record_from_manifests,
    sidecar_path,
)
from alation_shell.backup.restore import recover_restore
from alation_shell.errors import CorruptArchive
from alation_shell.instance import Instance
from alation_shell.storage import fsync_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from alation_shell.progress import Progress

    ProgressFactory = Callable[[str, int], Progress]


def verify_backup(instance: Instance, record: BackupRecord, progress: ProgressFactory | None = None) -> list[str]:
    """Read every tarball of `record` and check it against its manifest; the problems found ([] if sound).

    Also: the tarballs belong together, the sidecar (if any) agrees, and an incremental's full exists beside
    it with the manifest checksum the incremental names.
    """
    problems: list[str] = []
    manifests: list[Manifest] = []
    for path in record.files:
        try:
            with TarballReader(path) as reader:
                manifest = reader.manifest()
                bar = progress(f"verify {path.name}", manifest.stored_bytes()) if progress else None
                reader.check_members(manifest, progress=bar)
                if bar is not None:
                    bar.finish()
            manifests.append(manifest)
        except CorruptArchive as exc:
            problems.append(exc.message)
        except OSError as exc:
            problems.append(f"{path.name}: cannot be read: {os_reason(exc)}")
    if problems:
        return problems
    try:
        record_from_manifests(record.files, manifests)
    except CorruptArchive as exc:
        problems.append(exc.message)
    sidecar = sidecar_path(record.alation_file)
    if sidecar.exists():
        cached = read_sidecar(record.alation_file)
        if cached is None or cached.checksums != [m.checksum for m in manifests]:
            problems.append(f"{sidecar.name}: the listing sidecar does not match the manifests in the tarballs")
    if manifests[0].kind == "incr":
        for path, manifest in zip(record.files, manifests, strict=True):
            try:
                manifest.check_base(read_manifest(find_full(instance, path, manifest)))
            except CorruptArchive as exc:
                problems.append(exc.message)
    return problems


def delete_backup(instance: Instance, record: BackupRecord) -> None:
    """Remove a backup's files (alation tarball first, so it stops being listed at once) and its sidecar."""
    with BackupLock(instance, "retention"):
        for path in [*record.files, sidecar_path(record.alation_file), index_path(instance, record.alation_file)]:
            path.unlink(missing_ok=True)
        fsync_dir(record.alation_file.parent)
        ledger.forget(instance, record)


def delete_damaged(instance: Instance, damaged: list[DamagedBackup]) -> int:
    """Remove the files named like a backup that make no sound one (`scan_backups(...).damaged`), with any
    sidecar or base index beside them; how many tarballs were removed."""
    removed = 0
    with BackupLock(instance, "retention"):
        for item in damaged:
            for path in item.files:
                for extra in (sidecar_path(path), index_path(instance, path)):
                    extra.unlink(missing_ok=True)
                try:
                    path.unlink()  # a link is removed, never followed
                except OSError:  # gone meanwhile, or a directory named like a tarball: left alone
                    continue
                removed += 1
        if damaged:
            fsync_dir(damaged[0].files[0].parent)
    return removed


def clean_partials(instance: Instance) -> list[Path]:
    """Remove what interrupted runs left behind (partial tarballs, stray temp files, a half-done restore)."""
    with BackupLock(instance, "cleanup") as lock:
        return clean_leftovers(instance, lock.previous)


def clean_leftovers(instance: Instance, previous: dict) -> list[Path]:
    """The cleanup, for a holder of the lock; `previous` is what the last holder left in the lock file."""
    removed = recover_restore(instance)
    directory = backup_dir(instance)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in names:
        path = directory / name
        stale = name.endswith(".partial") or (name.startswith(".") and name.endswith(".tmp"))
        orphan = name.startswith(".") and name.endswith(".json") and not (directory / name[1:-5]).exists()
        if stale or orphan:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    # A run killed between its two renames: the event-bus tarball is final but the alation one is not.
    files = previous.get("files")
    if previous.get("state") == "running" and isinstance(files, list) and files:
        finals = [directory / n for n in files if isinstance(n, str) and NAME.fullmatch(n)]
        if len(finals) == len(files) and not finals[0].exists():
            for path in finals[1:]:
                if path.exists():
                    path.unlink()
                    removed.append(path)
    if removed:
        fsync_dir(directory)
    return removed
