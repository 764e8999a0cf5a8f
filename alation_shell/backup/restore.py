"""Restore (SPEC §6): check everything, unpack into a staging directory, then swap it in.

Nothing live is touched until every tarball has been read to its end, every member matched its manifest and
every checksum was verified: the data is unpacked under /data1/.restore/new-<random> while it is checked.
Then a journal is written and each restored tree (/data1/pgsql, /data1/site_data, /data1/eventbus) is swapped
in by two renames (live -> /data1/.restore/old, staged -> live) and the old data is removed. A restore killed
during the swap is completed from the journal (`recover_restore`) before any command touches the data
(`Session.dispatch`), and by the next backup or restore, so the data is never left half-restored. An
incremental is restored as its full plus its changes: files of the full that the incremental keeps are taken
from the full's tarball, changed blocks are applied, files it deleted are never written, and every resulting
file is checked against the incremental's manifest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from alation_shell.backup import tuning
from alation_shell.backup.archive import MemberDigest, TarballReader, pwrite_all
from alation_shell.backup.fast import placement, removal
from alation_shell.backup.fast.lanes import Writer, _Target
from alation_shell.backup.lock import BackupLock
from alation_shell.backup.manifest import PART_ROOTS, Manifest, Member
from alation_shell.backup.records import (
    BackupError,
    BackupRecord,
    find_full,
    partner_name,
    read_manifest,
    record_from_manifests,
    shown,
)
from alation_shell.errors import CorruptArchive
from alation_shell.instance import Instance
from alation_shell.node.layout import RESTORE_DIR
from alation_shell.progress import Progress, human_bytes
from alation_shell.storage import fsync_dir, read_json, write_json


def _no_log(line: str) -> None:
    pass


def restore_backup(
    instance: Instance,
    alation_file: Path,
    eb_file: Path | None = None,
    *,
    progress: Callable[[str, int], Progress] | None = None,
    log: Callable[[str], None] = _no_log,
) -> BackupRecord:
    """Replace the catalog database, site data and event bus with the state of a backup.

    `alation_file` is the alation tarball (full or incremental; an incremental's full is found beside it),
    `eb_file` its event-bus tarball (default: the one beside it). Raises CorruptArchive, with the current
    data untouched, if anything fails verification.
    """
    try:
        return _restore(instance, Path(alation_file), Path(eb_file) if eb_file is not None else None, progress, log)
    except OSError as exc:
        where = f" ({shown(instance, Path(os.fsdecode(exc.filename)))})" if exc.filename else ""
        message = f"restore failed: {exc.strerror or exc}{where}"
        if (instance.root / RESTORE_DIR / "journal.json").exists():
            message += "; the restored data is being swapped in, and the next command completes that"
        else:
            message += "; the current data is untouched"
        log(message)
        raise BackupError(message) from None


def _restore(
    instance: Instance,
    alation_file: Path,
    eb_file: Path | None,
    progress: Callable[[str, int], Progress] | None,
    log: Callable[[str], None],
) -> BackupRecord:
    with BackupLock(instance, "restore"):
        for path in recover_restore(instance):
            log(f"removed leftover {shown(instance, path)} of an interrupted restore")
        parts, record = _plan(instance, alation_file, eb_file)
        check_space(instance, record, [part.target for part in parts])
        names = ", ".join(path.name for part in parts for path, _ in part.sources)
        log(f"restore of backup {record.label} ({record.kind}) started: verifying and unpacking {names}")
        stage = instance.root / RESTORE_DIR
        remove_tree(stage)
        data1 = os.stat(stage.parent)
        total = sum(m.stored_bytes() for part in parts for _, m in part.sources)
        bar = progress(f"restore {record.label}", total) if progress else None
        try:
            new = _staging_dir(stage)
            (new / "data1").mkdir()
            for part in parts:
                part.unpack(new, bar)
        except BaseException as exc:
            remove_tree(stage)
            os.utime(stage.parent, ns=(data1.st_atime_ns, data1.st_mtime_ns))  # untouched: even /data1's mtime
            if isinstance(exc, CorruptArchive):
                log(f"restore refused: {exc.message}; the current data is untouched")
            raise
        if bar is not None:
            bar.finish()
        log("every member and checksum verified; swapping the restored data in")
        roots = sorted({root for part in parts for root in part.target.roots})
        present = [r for r in roots if (new / r).exists()]
        write_json(stage / "journal.json", {"roots": roots, "present": present, "staged": new.name})
        recover_restore(instance)
        log(f"restore of backup {record.label} complete: {', '.join('/' + r for r in roots)} replaced")
    return record


def check_room(instance: Instance, alation_file: Path, eb_file: Path | None = None) -> None:
    """`check_space` for a restore of these tarballs, from their manifests alone (nothing else is read)."""
    parts, record = _plan(instance, Path(alation_file), Path(eb_file) if eb_file is not None else None)
    check_space(instance, record, [part.target for part in parts])


def check_space(instance: Instance, record: BackupRecord, targets: list[Manifest]) -> None:
    """Refuse, before anything is unpacked, a restore that /data1 has no room for.

    The restored trees are unpacked beside the current ones, which are only removed once the new ones are
    swapped in: /data1 needs room for all of them. What they need is counted from the manifests (each file
    rounded up to whole blocks of the file system, a block for each directory) against what `statvfs`
    says is free for an unprivileged writer, and so are the files and directories against the free inodes.
    """
    data1 = instance.root / "data1"
    fs = os.statvfs(data1)
    block = fs.f_frsize or fs.f_bsize
    needed = inodes = 0
    for target in targets:
        for entry in target.entries:
            inodes += 1
            if entry["type"] == "file":
                needed += -(-entry["size"] // block) * block
            elif entry["type"] == "dir":
                needed += block
    free = fs.f_bavail * block
    if needed > free:
        raise BackupError(
            f"restore refused: backup {record.label} needs {human_bytes(needed)} on /data1 and "
            f"{human_bytes(free)} is free; nothing was changed (make room on /data1 and try again)"
        )
    if fs.f_files and inodes > fs.f_favail:  # (file systems without an inode limit report f_files 0)
        raise BackupError(
            f"restore refused: backup {record.label} needs {inodes} files and directories on /data1 and there is "
            f"room for {fs.f_favail} more; nothing was changed (make room on /data1 and try again)"
        )


def _staging_dir(stage: Path) -> Path:
    """A new, uniquely named directory in `stage` to unpack the restored trees into (on the fast path, the
    stage is placed apart: fast/placement.py)."""
    stage.mkdir(0o700)
    if tuning.tuning().fast:
        placement.mark_top_directory(stage)
    new = stage / f"new-{os.urandom(6).hex()}"
    new.mkdir(0o700)
    return new


class _Part:
    """One tree set to restore: the state to reach (`target`) and the tarballs to read, full first."""

    def __init__(self, target: Manifest, sources: list[tuple[Path, Manifest]]) -> None:
        self.target = target
        self.sources = sources
        self.entries = target.by_path()

    def unpack(self, new: Path, bar: Progress | None) -> None:
        root = os.fspath(new)
        for entry in self.target.entries:
            if entry["type"] == "dir":
                os.mkdir(os.path.join(root, entry["path"]), 0o700)  # writable while filled; its mode comes last
        policy = tuning.tuning()
        with tuning.lanes(Writer.LANES) as granted, (
                Writer(policy.spread_from) if granted else PlainWriter()) as writer:
            for path, manifest in self.sources:
                with TarballReader(path) as reader:
                    if reader.manifest_checksum() != manifest.checksum:
                        raise CorruptArchive(f"{path.name} changed while being restored")
                    from_target = manifest is self.target
                    reader.check_members(
                        manifest, lambda m, d, t=from_target: self._open(root, m, d, t, writer), bar
                    )
                # An incremental's blocks overwrite what its full wrote: the full's writes end first.
                writer.drain()
            for entry in self.target.entries:
                if entry["type"] == "file" and entry["stored"] == "blocks":
                    # Every block is verified: changed runs as read here, the others with the full's file, and
                    # check_base showed those equal the incremental's. Only a shrunk file's tail remains to cut
                    # (which may be all that changed).
                    os.truncate(os.path.join(root, entry["path"]), entry["size"])
            for entry in self.target.entries:
                target = os.path.join(root, entry["path"])
                if entry["type"] == "file" and not os.path.isfile(target):
                    raise CorruptArchive(f"{entry['path']} is missing from the backup's tarballs")
                if entry["type"] == "symlink":
                    os.symlink(entry["target"], target)
            writer.each(_apply_metadata, [(os.path.join(root, e["path"]), e) for e in self.target.entries
                                          if e["type"] != "dir"])
        for entry in reversed(self.target.entries):
            if entry["type"] == "dir":
                _apply_metadata(os.path.join(root, entry["path"]), entry)

    def _open(self, root: str, member: Member, digest: MemberDigest, from_target: bool,
              writer: Writer | PlainWriter) -> _Target | _PlainTarget | None:
        """Where a member's data goes: a new file, a block of a file from the full, or nowhere (verified only)."""
        rel = member.entry["path"]
        if member.kind == "blocks":
            offset = member.block * self.target.block_size
            return writer.target(os.path.join(root, rel), _EXISTING, offset, member.size, digest)
        if not from_target:
            # The full of an incremental: only files the incremental takes from it are written.
            entry = self.entries.get(rel)
            if entry is None or entry["type"] != "file" or entry["stored"] == "whole":
                return None
        return writer.target(os.path.join(root, rel), _NEW, 0, member.size, digest)


_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_EXISTING = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class PlainWriter:
    """Creates, writes and checks the restored files in the reading thread (the plain path; with the same
    calls as the lanes' `fast.lanes.Writer`)."""

    def __init__(self) -> None:
        self.open: set[_PlainTarget] = set()  # closed when the writer stops, if a failure left them open

    def __enter__(self) -> PlainWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for target in self.open:
            os.close(target.fd)
        self.open.clear()

    def target(self, path: str, flags: int, offset: int, size: int, digest: MemberDigest) -> _PlainTarget:
        """A file to write `digest`'s member to, at `offset`, opened with `flags`."""
        target = _PlainTarget(self, os.open(path, flags, 0o600), offset, digest)
        self.open.add(target)
        return target

    def each(self, op: Callable[[object, object], None], args: list[tuple[object, object]]) -> None:
        for a, b in args:
            op(a, b)

    def drain(self) -> None:
        pass


class _PlainTarget:
    """A restored file (or a run of blocks in one) written by a `PlainWriter`."""

    __slots__ = ("fd", "offset", "digest", "writer")

    def __init__(self, writer: PlainWriter, fd: int, offset: int, digest: MemberDigest) -> None:
        self.writer = writer
        self.fd = fd
        self.offset = offset
        self.digest = digest

    def write(self, piece: bytes) -> None:
        self.digest.update(piece)
        pwrite_all(self.fd, piece, self.offset)
        self.offset += len(piece)

    def close(self, complete: bool) -> None:
        if not complete:
            return  # the restore is failing: the descriptor is closed when the writer stops
        self.writer.open.discard(self)
        os.close(self.fd)
        self.digest.check()


def _apply_metadata(path: str, entry: dict) -> None:
    if entry["type"] != "symlink":
        os.chmod(path, entry["mode"])
    os.utime(path, ns=(entry["mtime_ns"], entry["mtime_ns"]), follow_symlinks=False)


def _plan(instance: Instance, alation: Path, eb: Path | None) -> tuple[list[_Part], BackupRecord]:
    """Read and cross-check the manifests of every tarball the restore needs, before any data is read."""
    if not alation.is_file():
        raise BackupError(f"{shown(instance, alation)}: no such backup file")
    first = read_manifest(alation)
    if first.part == "eb":
        raise BackupError(f"{alation.name} is an event-bus tarball; the restore file must be the alation tarball")
    files, manifests = [alation], [first]
    if first.backup_format == "v2":
        if eb is None:
            eb = alation.with_name(partner_name(first, "eb"))
            if not eb.is_file():
                raise BackupError(f"no event-bus tarball given, and {eb.name} is not beside {alation.name}")
        elif not eb.is_file():
            raise BackupError(f"{shown(instance, eb)}: no such backup file")
        second = read_manifest(eb)
        if second.part != "eb":
            raise CorruptArchive(f"{eb.name} is not an event-bus tarball")
        files.append(eb)
        manifests.append(second)
    elif eb is not None:
        raise BackupError(
            f"{alation.name} is a Backup V1 tarball, which holds the event bus too; "
            "unset alation.backup.eb_restore_file"
        )
    record = record_from_manifests(files, manifests)
    parts = []
    for path, manifest in zip(files, manifests, strict=True):
        if manifest.kind == "incr":
            full_path = find_full(instance, path, manifest)
            full = read_manifest(full_path)
            manifest.check_base(full)
            parts.append(_Part(manifest, [(full_path, full), (path, manifest)]))
        else:
            parts.append(_Part(manifest, [(path, manifest)]))
    return parts, record


def recover_restore(instance: Instance) -> list[Path]:
    """Finish or undo an interrupted restore: complete its swap if it got that far, else drop its staging."""
    stage = instance.root / RESTORE_DIR
    if not os.path.lexists(stage):
        return []
    journal = read_json(stage / "journal.json", None)
    if isinstance(journal, dict):
        _roll_forward(instance, stage, journal)
    remove_tree(stage)
    fsync_dir(stage.parent)
    return [stage]


def _roll_forward(instance: Instance, stage: Path, journal: dict) -> None:
    """Swap the staged trees in; safe to repeat after a crash at any point (each step checks what is done)."""
    roots = [r for r in journal.get("roots", []) if r in PART_ROOTS["all"]]
    present = journal.get("present", [])
    staged = journal.get("staged")
    if not isinstance(staged, str) or "/" in staged or staged in ("", ".", ".."):
        raise BackupError(f"{shown(instance, stage / 'journal.json')}: damaged (staged directory {staged!r})")
    for root in roots:
        live = instance.root / root
        new = stage / staged / root
        aside = stage / "old" / root
        if os.path.lexists(new):
            if os.path.lexists(live):
                _move_aside(live, aside)
            os.rename(new, live)
        elif root not in present and os.path.lexists(live):
            _move_aside(live, aside)  # the backup had no such tree
    fsync_dir(instance.root / "data1")


def _move_aside(live: Path, aside: Path) -> None:
    aside.parent.mkdir(parents=True, exist_ok=True)
    remove_tree(aside)
    os.rename(live, aside)


def remove_tree(path: Path) -> None:
    """Remove a file or directory tree, including read-only directories that a restore recreated (on the
    fast path, its files by several threads at once: fast/removal.py)."""
    if not os.path.lexists(path):
        return
    if not path.is_dir() or path.is_symlink():
        path.unlink()
        return
    try:
        _remove_tree(os.fspath(path))
    except PermissionError:
        pending = [os.fspath(path)]
        while pending:  # not os.walk: it recurses, and a tree can be deeper than Python's recursion limit
            directory = pending.pop()
            os.chmod(directory, 0o700)
            with os.scandir(directory) as it:
                pending.extend(entry.path for entry in it if entry.is_dir(follow_symlinks=False))
        _remove_tree(os.fspath(path))


def _remove_tree(top: str) -> None:
    files: list[str] = []
    dirs: list[str] = []
    pending = [top]
    while pending:
        directory = pending.pop()
        dirs.append(directory)
        with os.scandir(directory) as it:
            for entry in it:
                (pending if entry.is_dir(follow_symlinks=False) else files).append(entry.path)
    if tuning.tuning().fast:
        removal.unlink_all(files)
    else:
        for path in files:
            os.unlink(path)
    for directory in reversed(dirs):  # (each after the directories found in it)
        os.rmdir(directory)
