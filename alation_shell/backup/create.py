"""Take full and incremental backups (SPEC §6); verify, delete and clean up are in verify.py, restore in restore.py.

A backup runs under the BackupLock. It stages in a directory of its own inside the staging directory
(/data2/tmp or `alation.backup.data_temp_dir`, which must lie inside /data2), removed at the end; nothing
else in the staging directory is touched. A transaction that a killed writer left in the catalog database
is rolled back first (`_recover_catalog_journal`). The catalog database is captured consistently while the
catalog changes, in one of two ways (the manifest records which):

- A full backup stages a copy of it there with SQLite's online backup API (done in a thread while the
  event-bus tarball is written), and so does an incremental of a catalog in WAL mode, where the main file
  alone is not the database.
- An incremental of a catalog in a rollback-journal mode (DELETE, TRUNCATE, PERSIST: the seeded catalog's)
  reads the live file in place, without a copy, while a read transaction holds SQLite's SHARED lock on it: no
  writer can commit meanwhile, so the file is the database at one instant, the same guarantee the backup API
  gives (it copies under a read transaction too). Only the blocks that differ from the full's are stored.
  On the fast path (tuning.py) it is read by a forked child beside the rest of the backup (fast/inplace.py);
  on the plain path, by this thread when the tarball reaches it.

Each tarball is written as `<name>.partial` beside its final name, fsynced, and renamed: the event-bus tarball
first and the alation tarball last, so a backup is visible only once all of it is complete. An error or an
interruption removes what this run wrote; a killed run's leftovers are removed by the next one
(`clean_partials`; its staging directory, by the next backup).

Incrementals are taken against the last full backup given as `base` (never against an incremental): the rule
for what counts as changed is in manifest.py. The full's manifests are loaded from its base index (records.py)
when it has a sound one, else read from its tarballs.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import sqlite3
import stat
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import quote

from alation_shell.backup import ledger, tuning
from alation_shell.backup.archive import TarballWriter, padding, tar_header
from alation_shell.backup.fast import inplace
from alation_shell.backup.lock import LOCK_NAME, BackupLock
from alation_shell.backup.manifest import (
    BLOCK_SIZE,
    DIGEST_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    FORMATS,
    KINDS,
    LINK_REFUSALS,
    PART_ROOTS,
    PIECE_BLOCKS,
    QUICK_BYTES,
    FullPart,
    LinkTree,
    Manifest,
    block_count,
    block_digests,
    block_digests_against,
    block_member,
    file_hash,
    hash_list,
    piece_digest,
    quick_digests,
    runs,
    stat_fingerprint,
    taken_from_base,
    tree_of,
)
from alation_shell.backup.records import (
    NAME,
    BackupError,
    BackupRecord,
    backup_dir,
    os_reason,
    read_index,
    read_index_catalog,
    read_manifest,
    record_from_manifests,
    shown,
    tarball_names,
    write_index,
    write_sidecar,
)
from alation_shell.backup.verify import clean_leftovers
from alation_shell.display import clipped
from alation_shell.errors import CorruptArchive
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.node.layout import CATALOG_DB
from alation_shell.progress import Progress, human_bytes
from alation_shell.storage import fsync_dir

DEFAULT_STAGING = "/data2/tmp"
READ_SIZE = PIECE_BLOCKS * BLOCK_SIZE  # 1 MiB reads, whole blocks: a piece
AHEAD = 4  # pieces of a file hashed on the pool ahead of the one being stored
SPOOL_BYTES = 64 << 20  # an incremental's changed blocks of one file kept in memory up to this much
STAGED_DB = "rosemeta.db"
LOCK_SHOWN = f"/data2/backup/{LOCK_NAME}"
# Staging lies inside /data2 (as the parameter catalog says of alation.backup.data_temp_dir), outside the backups.
STAGING_ROOT = "data2"
PROTECTED = (("data2", "backup"),)
RUN_DIR = re.compile(r"alation-backup-\d{12}-[0-9a-f]{12}")  # a run's own directory in staging
# The live database's companions: the staged copy already holds their committed content.
DB_COMPANIONS = ("rosemeta.db-wal", "rosemeta.db-shm", "rosemeta.db-journal")
PARTS = {"v2": ("alation", "eb"), "v1": ("all",)}

ProgressFactory = Callable[[str, int], Progress]
_D = TypeVar("_D")  # what hashing a piece gives


def _no_log(line: str) -> None:
    pass


def create_backup(
    instance: Instance,
    *,
    kind: str,
    base: BackupRecord | None,
    fmt: str,
    when: datetime,
    progress: ProgressFactory | None = None,
    log: Callable[[str], None] = _no_log,
    staging: str = DEFAULT_STAGING,
) -> BackupRecord:
    """Take a `kind` ("full" or "incr" on the full `base`) backup in format `fmt` ("v2" or "v1") at virtual
    time `when`. Its files appear in /data2/backup only when complete; on failure nothing of it remains."""
    if fmt not in FORMATS or kind not in KINDS:
        raise BackupError(f"unknown backup kind or format: {kind!r}, {fmt!r}")
    if kind == "incr" and fmt != "v2":
        raise BackupError("Backup V1 takes full backups only")
    if kind == "incr" and (base is None or base.kind != "full" or base.format != "v2"):
        raise BackupError("an incremental backup needs a full Backup V2 backup to build on")
    if kind == "full" and base is not None:
        raise BackupError("a full backup is not based on another backup")
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    step = f"taking the backup lock {LOCK_SHOWN}"
    try:
        with BackupLock(instance, "backup") as lock:
            step = "removing what an interrupted run left"
            for path in clean_leftovers(instance, lock.previous):
                log(f"removed leftover {shown(instance, path)} of an interrupted run")
            step = f"recovering the catalog database /{CATALOG_DB}"
            _recover_catalog_journal(instance, log)
            staging_dir = _staging_location(instance, staging)
            directory = backup_dir(instance)
            step = f"creating {shown(instance, directory)}"
            directory.mkdir(parents=True, exist_ok=True)
            step = "naming the backup"
            label, dated = ledger.next_label(instance, directory, when)
            if dated > when:
                # Named after a later minute than `when` (this instance gave `when`'s already): dated at that
                # minute, and the virtual clock moved on to it, so that name, time and clock agree.
                clock.advance_to(instance, dated)
                log(f"label {when:%Y%m%d%H%M} was given already: this backup is {label}, "
                    f"and the virtual clock moves on to {clock.format_time(dated)} UTC")
            names = tarball_names(label, instance.build_version, kind, fmt)
            backup_id = secrets.token_hex(8)
            ledger.claim(instance, label, backup_id, names)
            lock.update(label=label, files=names)
            run = _BackupRun(instance, directory, label, kind, fmt, dated, progress, log)
            return run.run(names, base, staging_dir, backup_id)
    except OSError as exc:  # before anything was written: the lock, the leftovers, the ledger
        message = failure_message(instance, step, exc)
        log(message)
        raise BackupError(message) from None


def failure_message(instance: Instance, step: str, exc: OSError) -> str:
    """`backup failed while <step>: <reason> (<file>); no backup was written` (and that earlier backups are
    intact, if there are any), for a backup that failed with `exc` and left nothing."""
    where = f" ({shown(instance, Path(os.fsdecode(exc.filename)))})" if exc.filename else ""
    return f"backup failed while {step}: {os_reason(exc)}{where}; {_nothing_written(instance)}"


def _nothing_written(instance: Instance) -> str:
    """How the message of a failed backup ends: no backup was written, earlier ones (if any) are intact."""
    try:
        earlier = any(NAME.fullmatch(name) for name in os.listdir(backup_dir(instance)))
    except OSError:
        earlier = False
    return "no backup was written; earlier backups are intact" if earlier else "no backup was written"


class _BackupRun:
    """One backup in progress: what it has written (to remove on failure) and what it is doing (for errors)."""

    def __init__(
        self,
        instance: Instance,
        directory: Path,
        label: str,
        kind: str,
        fmt: str,
        when: datetime,
        progress: ProgressFactory | None,
        log: Callable[[str], None],
    ) -> None:
        self.instance = instance
        self.directory = directory
        self.label = label
        self.kind = kind
        self.fmt = fmt
        self.when = when
        self.progress = progress
        self.log = log
        self.step = "starting"
        self.written: list[Path] = []  # partial and final files of this run, removed if it fails
        self.policy = tuning.tuning()
        self.hasher: ThreadPoolExecutor | None = None  # hashes blocks while the file is read on (fast path)
        # Files are read into these, in turn (`_Tarball._pieces`): a new 1 MiB bytes object per read costs
        # more than the read, as fresh memory is page-faulted in.
        self.buffers: list[bytearray] = []
        # Whether the catalog database is being read in place beside the rest (fast/inplace.py), known as
        # soon as the reading starts: the alation tarball then writes the files after it meanwhile.
        self.in_place: Future[bool] = Future()

    def run(self, names: list[str], base_record: BackupRecord | None, staging: Path, backup_id: str,
            ) -> BackupRecord:
        started = time.monotonic()
        parts = PARTS[self.fmt]
        self.log(f"backup {self.label} ({self.kind}, Backup {self.fmt.upper()}) started")
        stage_dir: Path | None = None
        try:
            self.step = f"creating a staging directory in {shown(self.instance, staging)}"
            stage_dir = _staging_dir(self.instance, staging, self.label, self.log)
            self.log(f"staging in {shown(self.instance, stage_dir)}")
            scan_started = time.time_ns()
            manifests: list[Manifest] = []
            # The fast path captures the database (staged, or read in place) in a thread of its own while the
            # full's manifests are loaded, the event-bus tarball, which does not need it, is written and the
            # other trees are scanned; the plain path captures it first (or reads it in place when reached).
            self.hasher = tuning.shared_pool() if self.policy.fast else None
            with ThreadPoolExecutor(1, "stage") if self.policy.fast else tuning.InlineExecutor() as stager:
                early = read_index_catalog(self.instance, base_record) if base_record is not None else None
                capturing = None
                try:
                    if early is not None or base_record is None:
                        capturing = stager.submit(self._capture_catalog, stage_dir, early)
                    bases = _base_parts(self.instance, base_record) if base_record is not None else None
                    if capturing is None:
                        catalog = _catalog_base(bases[0].get(CATALOG_DB), bases[0].block_size) if bases else None
                        capturing = stager.submit(self._capture_catalog, stage_dir, catalog)
                    for i in sorted(range(len(parts)), key=lambda i: parts[i] != "eb"):
                        base = bases[i] if bases else None
                        manifests.append(self._write_tarball(parts[i], names[i], base, capturing, backup_id,
                                                             scan_started, stage_dir))
                finally:
                    if capturing is not None:
                        wait([capturing])
                        read = None if capturing.cancelled() or capturing.exception() else capturing.result()
                        if isinstance(read, inplace.InPlace):
                            read.packed.close()
            manifests.sort(key=lambda m: parts.index(m.part))
            files = self._publish(names)
        except BaseException as exc:
            self._discard()
            if isinstance(exc, OSError):
                message = failure_message(self.instance, self.step, exc)
                self.log(message)
                raise BackupError(message) from None
            if isinstance(exc, BackupError):
                self.log(exc.message)
            raise
        finally:
            try:
                if stage_dir is not None:
                    shutil.rmtree(stage_dir)
            except OSError as exc:  # (the next run removes it)
                self.log(f"could not remove staging directory {shown(self.instance, stage_dir)}: {os_reason(exc)}")
        record = record_from_manifests(files, manifests)
        try:
            write_sidecar(record)
        except OSError as exc:  # the backup is complete; listing falls back to the manifests
            self.log(f"could not write the listing sidecar: {os_reason(exc)}")
        if self.kind == "full" and self.fmt == "v2":
            try:
                catalog = _catalog_base(manifests[0].by_path().get(CATALOG_DB), manifests[0].block_size)
                write_index(self.instance, record, manifests, catalog)
            except OSError as exc:  # the backup is complete; its incrementals read its manifests instead
                self.log(f"could not write the base index: {os_reason(exc)}")
        self.log(
            f"backup {self.label} complete: {', '.join(p.name for p in files)} "
            f"({human_bytes(record.size)}, {time.monotonic() - started:.1f} s)"
        )
        return record

    def _discard(self) -> None:
        for path in self.written:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.log(f"could not remove {shown(self.instance, path)}: {os_reason(exc)}")
        self.log(f"backup {self.label} abandoned; no file of it is left in {shown(self.instance, self.directory)}")

    # Steps ---------------------------------------------------------------------------------------
    def _capture_catalog(self, stage_dir: Path, base: dict | None) -> Path | inplace.InPlace | _Later | None:
        """The catalog database as the alation tarball stores it (in the stager thread, while the rest runs,
        on the fast path): for an incremental whose full has a block list of it, read in place
        (`inplace.read_catalog_in_place`; on the plain path, `_Later`) unless it is in WAL mode; else copied
        into staging (`_stage_catalog`). None if there is no catalog."""
        try:
            if self.kind == "incr" and base is not None:
                if not self.policy.fast:
                    live = self.instance.root / CATALOG_DB
                    if os.path.isfile(live) and not os.path.islink(live) and self._catalog_in_place():
                        return _Later(base)
                else:
                    read = inplace.read_catalog_in_place(self, stage_dir, base)
                    if read is not None:
                        return read
            self.in_place.set_result(False)
            return self._stage_catalog(stage_dir)
        finally:
            if not self.in_place.done():
                self.in_place.set_result(False)

    def _catalog_in_place(self) -> bool:
        """Whether the catalog database SQLite is to open is at its own place, with no link on the way to it
        (`Instance.database_path`; a link beside it, which SQLite would follow, is refused)."""
        try:
            return self.instance.database_path(CATALOG_DB) == self.instance.root / CATALOG_DB
        except (FileNotFoundError, NotADirectoryError):
            return False

    def _stage_catalog(self, stage_dir: Path) -> Path | None:
        """Copy the catalog database into staging with SQLite's online backup API (in the stager thread)."""
        live = self.instance.root / CATALOG_DB
        try:
            st = os.lstat(live)
        except FileNotFoundError:
            self.log(f"no catalog database at {shown(self.instance, live)}; nothing to stage")
            return None
        if not stat.S_ISREG(st.st_mode) or not self._catalog_in_place():
            return None
        staged = stage_dir / STAGED_DB
        try:
            source = sqlite3.connect(f"file:{quote(str(live))}?mode=ro", uri=True, timeout=30)
            try:
                source.execute("PRAGMA mmap_size=4294967296")  # pages read in place, not copied (~15% faster)
                target = sqlite3.connect(staged)
                try:
                    # A throwaway copy: no journal, no fsync (the tarball is fsynced instead), no lock traffic.
                    for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE"):
                        target.execute(f"PRAGMA {pragma}")
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()
            size = staged.stat().st_size
        except (sqlite3.Error, OSError) as exc:
            reason = os_reason(exc) if isinstance(exc, OSError) else _sqlite_reason(exc)
            where = f"staging the catalog database {shown(self.instance, live)} in {shown(self.instance, stage_dir)}"
            raise BackupError(f"backup failed while {where}: {reason}; {_nothing_written(self.instance)}") from None
        self.log(
            f"staged the catalog database {shown(self.instance, live)} in {shown(self.instance, stage_dir)} "
            f"with the SQLite online backup API ({human_bytes(size)})"
        )
        return staged

    def _write_tarball(
        self,
        part: str,
        name: str,
        base: FullPart | None,
        capturing: Future[Path | inplace.InPlace | _Later | None],
        backup_id: str,
        scan_started: int,
        stage_dir: Path,
    ) -> Manifest:
        partial = self.directory / f"{name}.partial"
        items, unchanged = self._scan(PART_ROOTS[part], base)
        self.step = f"writing {shown(self.instance, partial)}"
        self.written.append(partial)
        # A full's manifest goes into space reserved ahead of the data; an incremental's data is small: it is
        # compressed in this thread and simply copied behind its manifest.
        writer = TarballWriter(partial, reserve=_manifest_bound(items) if base is None else 0,
                              inline=base is not None or not self.policy.fast)
        try:
            tarball = _Tarball(self, writer, base, stage_dir, items, PART_ROOTS[part])
            # Decided (and their manifest entries written) while the catalog may still be being captured.
            unread, rendered = tarball.unread(items, unchanged)
            total = sum(st.st_size for _, st in items if stat.S_ISREG(st.st_mode)) if self.progress else 0
            # Read in place, the catalog gets a place in the stream, filled once it is read; else it is
            # awaited first.
            in_place = part != "eb" and self.in_place.result()
            tarball.capture = capturing.result() if part != "eb" and not in_place else None
            bar = tarball.bar = self.progress(f"backup {name}", total) if self.progress else None
            entries: list[dict] = []
            texts = []
            catalog: tuple[int, os.stat_result] | None = None
            for (path, st), entry, text in zip(items, unread, rendered, strict=True):
                if entry is not None:
                    if bar is not None:
                        bar.advance(st.st_size)
                elif in_place and path == CATALOG_DB and stat.S_ISREG(st.st_mode):
                    tarball.place = writer.hold_place()
                    catalog = (len(entries), st)
                    entry = {"path": path, "type": "file"}  # (filled in below)
                elif (entry := tarball.add(path, st)) is None:
                    continue
                entries.append(entry)
                texts.append(text)
            # What does not depend on the catalog is done before it is waited for.
            deleted = sorted(base.paths() - {e["path"] for e in entries}) if base else []
            files = sum(1 for e in entries if e["type"] == "file")
            del items, unread, rendered
            if in_place:
                writer.flush()
                tarball.capture = capturing.result()
                if catalog is not None:
                    entries[catalog[0]] = tarball.add(CATALOG_DB, catalog[1])
            if tarball.links:
                tarball.check_links(entries)
            data = {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "backup_id": backup_id,
                "label": self.label,
                "type": self.kind,
                "backup_format": self.fmt,
                "part": part,
                "build": self.instance.build_version,
                "created": self.when.isoformat(),
                "scan_started_ns": scan_started,
                "hash": "sha256",
                "block_size": BLOCK_SIZE,
                "roots": list(PART_ROOTS[part]),
                "base": {"label": base.label, "checksum": base.checksum} if base else None,
                "entries": entries,
                "deleted": deleted,
            }
            manifest = Manifest.create(data, texts)
            self.step = f"writing {shown(self.instance, partial)}"
            size = writer.finish(manifest)
        except BaseException as exc:
            writer.abort()
            if exc is writer.error:  # the tarball could not be written, whatever was being read meanwhile
                self.step = f"writing {shown(self.instance, partial)}"
            raise
        if bar is not None:
            bar.finish()
        self.log(
            f"wrote {name}: {files} files, {human_bytes(tarball.stored)} stored, "
            f"{human_bytes(size)} compressed"
        )
        return manifest

    def _scan(self, roots: tuple[str, ...], base: FullPart | None = None,
              ) -> tuple[list[tuple[str, os.stat_result]], set[str]]:
        """Every path under `roots` (relative to the instance root) with its lstat, sorted by path; and, for
        an incremental (`base`: the full's manifest of the tarball), the paths of the files that show the
        fingerprint the full recorded for them (`FullPart`): taken from the full unread. (Decided here, in
        the one loop over every file, because it is the loop an incremental spends most of its time in.)"""
        items: list[tuple[str, os.stat_result]] = []
        unchanged: set[str] = set()
        records = base.records if base is not None else {}
        for root in roots:
            top = self.instance.root / root
            self.step = f"reading {shown(self.instance, top)}"
            try:
                st = os.lstat(top)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                self.log(f"skipped {shown(self.instance, top)}: not a directory")
                continue
            items.append((root, st))
            pending = [(root, str(top))]
            while pending:
                rel, real = pending.pop()
                self.step = f"reading {clipped('/' + rel)}"
                try:
                    listing = list(os.scandir(real))
                except FileNotFoundError:  # removed since its parent was listed: backed up empty
                    continue
                except OSError as exc:
                    raise self._unreadable(rel, exc) from None
                for item in listing:
                    if rel == "data1/pgsql" and item.name in DB_COMPANIONS:
                        continue
                    path = f"{rel}/{item.name}"
                    try:
                        st = item.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        raise self._unreadable(path, exc) from None
                    items.append((path, st))
                    if stat.S_ISDIR(st.st_mode):
                        pending.append((path, item.path))
                    elif (record := records.get(path)) is not None and record.startswith(stat_fingerprint(st)):
                        unchanged.add(path)
        items.sort(key=itemgetter(0))
        return items, unchanged

    def _unreadable(self, path: str, exc: OSError) -> OSError | BackupError:
        """What to raise for a path the scan cannot read: a path too long for the host (a tree nested that
        deep) is named, shortened, with what to do; other errors go on as they are."""
        if exc.errno != errno.ENAMETOOLONG:
            return exc
        self.step = f"reading {clipped('/' + path)}"
        message = (f"backup failed while {self.step}: path too long to back up ({len(path) + 1} characters): "
                   f"move or remove the tree nested that deep; {_nothing_written(self.instance)}")
        self.log(message)
        return BackupError(message)

    def _publish(self, names: list[str]) -> list[Path]:
        """Rename the partials to their final names: the alation tarball last, so it marks completeness."""
        self.step = f"publishing the backup in {shown(self.instance, self.directory)}"
        files = [self.directory / name for name in names]
        stamp = int(self.when.timestamp() * 1_000_000_000)
        for final in reversed(files):
            self.written.append(final)
            partial = final.with_name(final.name + ".partial")
            os.utime(partial, ns=(stamp, stamp))  # dated when it was taken, on the virtual clock, like its name
            os.rename(partial, final)
        fsync_dir(self.directory)
        for final in files:
            self.log(f"published {shown(self.instance, final)}")
        return files


class _Tarball:
    """Adds the entries of one tarball, deciding for each file of an incremental what has to be stored."""

    def __init__(
        self,
        run: _BackupRun,
        writer: TarballWriter,
        base: FullPart | None,
        stage_dir: Path,
        items: list[tuple[str, os.stat_result]],
        roots: tuple[str, ...],
    ) -> None:
        self.run = run
        self.root = run.instance.root
        self.items: list[tuple[str, os.stat_result]] | None = items  # until the links are judged
        self.roots = roots
        self.links: dict[str, str] = {}  # the symbolic links backed up, with their targets
        self.writer = writer
        self.base = base  # the full's manifest of this tarball, for an incremental
        self.base_blocks_usable = base is not None and base.block_size == BLOCK_SIZE
        self.capture: Path | inplace.InPlace | _Later | None = None  # the catalog database (_capture_catalog)
        self.place = -1  # where the catalog read in place goes in the stream (`TarballWriter.hold_place`)
        self.stored = 0  # bytes of file data stored
        self.stage_dir = stage_dir
        self.bar: Progress | None = None
        self.current = ""  # the file being read, for warnings
        self.writing = f"writing {shown(run.instance, writer.path)}"  # the step between files, named once

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(n)

    def unread(self, items: list[tuple[str, os.stat_result]], unchanged: set[str],
               ) -> tuple[list[dict | None], list[str | None]]:
        """For each scanned item that is a file taken from the full unread (in `unchanged`, see `_scan`): its
        manifest entry, which refers to the full, and that entry as JSON; None for the others."""
        entries: list[dict | None] = []
        rendered: list[str | None] = []
        for path, _ in items:
            if path in unchanged:
                entry, text = taken_from_base(path)
            else:
                entry = text = None
            entries.append(entry)
            rendered.append(text)
        return entries, rendered

    def _shown(self, path: str) -> str:
        return "/" + path

    def add(self, path: str, st: os.stat_result) -> dict | None:
        mode = stat.S_IMODE(st.st_mode) & 0o777
        if stat.S_ISDIR(st.st_mode):
            self.writer.add_entry(path, kind="dir", mode=mode, mtime_ns=st.st_mtime_ns)
            return {"path": path, "type": "dir", "mode": mode, "mtime_ns": st.st_mtime_ns}
        if stat.S_ISLNK(st.st_mode):
            if self.items is not None:
                self.links = self._judge_links(self.items)
                self.items = None
            target = self.links.get(path)
            if target is None:
                return None
            self.writer.add_entry(path, kind="symlink", mode=mode, mtime_ns=st.st_mtime_ns, target=target)
            return {"path": path, "type": "symlink", "mode": mode, "mtime_ns": st.st_mtime_ns, "target": target}
        if stat.S_ISREG(st.st_mode):
            return self._add_file(path, st, mode)
        self.run.log(f"skipped {self._shown(path)}: not a regular file, directory or symbolic link")
        return None

    def _judge_links(self, items: list[tuple[str, os.stat_result]]) -> dict[str, str]:
        """The symbolic links among the scanned `items` to back up, with their targets: those that resolve
        inside their tree in the live tree as scanned, judged as a restore judges them (`LinkTree`); each of
        the others is logged and skipped (no accepted link leads through one)."""
        kinds: dict[str, str] = {}
        targets: dict[str, str] = {}
        for path, st in items:
            if stat.S_ISDIR(st.st_mode):
                kinds[path] = "dir"
            elif stat.S_ISREG(st.st_mode):
                kinds[path] = "file"
            elif stat.S_ISLNK(st.st_mode):
                try:
                    targets[path] = os.readlink(self.root / path)
                except FileNotFoundError:
                    self.run.log(f"skipped {self._shown(path)}: removed while the backup ran")
                    continue
                kinds[path] = "symlink"
        for path, why in LinkTree(kinds, targets, self.roots).refused().items():
            self.run.log(f"skipped {self._shown(path)}: {LINK_REFUSALS[why]} (-> {targets[path]})")
            del targets[path]
        return targets

    def check_links(self, entries: list[dict]) -> None:
        """That the links backed up still resolve in the tree the manifest lists (a file one led to may have
        gone while the backup ran): a backup that its restore would refuse is not written."""
        tree = tree_of(entries, self.roots)
        for path, why in tree.refused().items():
            raise BackupError(f"{self._shown(path)}: now {LINK_REFUSALS[why]} (-> {tree.targets[path]}): what it "
                              "led to changed while the backup ran; run the backup again")

    def _add_file(self, path: str, st: os.stat_result, mode: int) -> dict | None:
        """A file that has to be read (see `unread`): stored whole, by changed blocks, or found unchanged."""
        base = self.base.get(path) if self.base is not None else None
        if base is not None and base["type"] != "file":
            base = None
        staged = isinstance(self.capture, Path) and path == CATALOG_DB
        entry = {
            "path": path,
            "type": "file",
            "mode": mode,
            "mtime_ns": st.st_mtime_ns,
            "ctime_ns": 0 if staged else st.st_ctime_ns,
            "ino": 0 if staged else st.st_ino,
        }
        if staged:
            entry.update(staged=True, capture="backup-api")
        if path == CATALOG_DB and isinstance(self.capture, inplace.InPlace):
            return self._add_catalog_in_place(entry, self.capture)
        if path == CATALOG_DB and isinstance(self.capture, _Later):
            return self._read_catalog_here(entry, self.capture.base, st, mode)
        source = self.capture if staged else self.root / path
        self.run.step = f"reading {self._shown(path)}"
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            self.run.log(f"skipped {self._shown(path)}: removed while the backup ran")
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self.run.log(f"skipped {self._shown(path)}: replaced while the backup ran")
                return None
            size = os.fstat(fd).st_size
            if size <= BLOCK_SIZE:
                self._add_small(entry, _read_to_end(fd), base)
            elif base is not None and base.get("blocks") and self.base_blocks_usable:
                self._add_blocks(entry, fd, base)
            else:
                self._add_stream(entry, fd, size)
        finally:
            os.close(fd)
        self.run.step = self.writing
        return entry

    def _add_catalog_in_place(self, entry: dict, read: inplace.InPlace) -> dict:
        """An incremental's catalog database, read in place already (`inplace.read_catalog_in_place`): its
        changed blocks are stored now."""
        now = read.stat
        entry.update(capture="in-place", mtime_ns=now.st_mtime_ns, ctime_ns=now.st_ctime_ns, ino=now.st_ino)
        self.advance(read.diff.size)
        self._store_blocks(entry, read.base, read.packed, read.diff, read.compressed)
        self._read_in_place_logged(entry)
        return entry

    def _read_catalog_here(self, entry: dict, base: dict, st: os.stat_result, mode: int) -> dict | None:
        """The plain path's in-place read of an incremental's catalog database, in this thread when the tarball
        reaches it: read and compared with the full's record `base` while a read transaction holds writers
        off; staged after all (`_stage_catalog`) if it cannot be (WAL mode, one block or less)."""
        live = self.root / CATALOG_DB
        self.run.step = f"reading {self._shown(CATALOG_DB)}"
        scratch = None
        try:
            with read_in_place(live) as fd:
                if fd is not None and (now := os.fstat(fd)).st_size > BLOCK_SIZE:
                    scratch = tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=self.stage_dir)  # noqa: SIM115
                    diff = self._diff_blocks(entry, fd, base, scratch)
        except FileNotFoundError:
            self.run.log(f"skipped {self._shown(CATALOG_DB)}: removed while the backup ran")
            return None
        except (sqlite3.Error, OSError) as exc:
            if scratch is not None:
                scratch.close()
            raise catalog_unreadable(self.run.instance, live, exc) from None
        if scratch is None:
            self.capture = self.run._stage_catalog(self.stage_dir)
            return self._add_file(CATALOG_DB, st, mode) if self.capture is not None else None
        with scratch:
            entry.update(capture="in-place", mtime_ns=now.st_mtime_ns, ctime_ns=now.st_ctime_ns, ino=now.st_ino)
            self._store_blocks(entry, base, scratch, diff)
        self._read_in_place_logged(entry)
        return entry

    def _read_in_place_logged(self, entry: dict) -> None:
        self.run.log(
            f"read the catalog database {self._shown(CATALOG_DB)} in place, writers held off by a read "
            f"transaction meanwhile ({human_bytes(entry['size'])}, {len(entry.get('changed', ()))} runs "
            "of changed blocks)"
        )
        self.run.step = self.writing

    def _add_small(self, entry: dict, data: bytes, base: dict | None) -> None:
        if len(data) > BLOCK_SIZE:  # grew since it was looked at
            blocks = block_digests(data, BLOCK_SIZE)
            entry.update(size=len(data), sha256=hash_list(blocks), blocks=blocks.hex())
        else:
            entry.update(size=len(data), sha256=file_hash(data))
        digest = entry["sha256"]
        self.advance(len(data))
        if base is not None and base["sha256"] == digest:
            entry["stored"] = "base"
            return
        entry["stored"] = "whole"
        self.stored += len(data)
        self.writer.add_bytes(entry["path"], data, mode=entry["mode"], mtime_ns=entry["mtime_ns"])

    def _pieces(self, fd: int, size: int | None, digest: Callable[[memoryview, int], _D],
                inline: bool = False) -> Iterator[tuple[memoryview, _D]]:
        """(piece, `digest(piece, its first block)`) for 1 MiB pieces of the file, hashed on the pool a few
        pieces ahead; or `inline`, for a digest that holds the GIL anyway and is quick (XXH3), or a file of
        one piece, where handing it to the pool costs more than hashing it.

        With `size`, exactly that many bytes (a file that shrank while read is padded with zeros, as it was
        announced in the tar header already); without, up to the end of the file. A piece is a view of a
        buffer that is read into again: it must be used (copied, written out) before the next is asked for.
        """
        if inline or self.run.hasher is None:
            for piece, offset in self._read(fd, size, 1):
                yield piece, digest(piece, offset // BLOCK_SIZE)
            return
        ahead: deque[tuple[memoryview, Future[_D]]] = deque()
        for piece, offset in self._read(fd, size, AHEAD + 2):
            ahead.append((piece, self.run.hasher.submit(digest, piece, offset // BLOCK_SIZE)))
            if len(ahead) > AHEAD:
                piece, digests = ahead.popleft()
                yield piece, digests.result()
        while ahead:
            piece, digests = ahead.popleft()
            yield piece, digests.result()

    def _read(self, fd: int, size: int | None, ring: int) -> Iterator[tuple[memoryview, int]]:
        """(piece, its offset) for 1 MiB pieces of the file, as `_pieces` describes them, read into `ring`
        buffers in turn: one is read into again only once its piece was hashed and handed on (hashed on the
        pool, at most AHEAD + 1 pieces are in use at a time)."""
        buffers = self.run.buffers
        while len(buffers) < ring:
            buffers.append(bytearray(READ_SIZE))
        done = 0
        turn = 0
        while size is None or done < size:
            want = READ_SIZE if size is None else min(READ_SIZE, size - done)
            buffer = buffers[turn]
            turn = (turn + 1) % ring
            got = _read_into(fd, buffer, want, done)
            if size is not None and got < want:
                # Shrunk while read (as `tar` warns "file changed as we read it"): stored as read, padded.
                self.run.log(f"warning: {self._shown(self.current)} changed while being read; stored as read")
                buffer[got:want] = bytes(want - got)
                got = want
            if not got:
                break
            yield memoryview(buffer)[:got], done
            done += got

    def _add_stream(self, entry: dict, fd: int, size: int) -> None:
        """A large file stored whole, streamed; its size is fixed by the header written first."""
        self.current = path = entry["path"]
        self.writer.write(tar_header(path, size=size, mode=entry["mode"], mtime_ns=entry["mtime_ns"]))
        digests = []
        quick = []
        quick_pieces = []
        # A full also lists each block's and each piece's XXH3, so that its incrementals need not sha256
        # unchanged blocks.
        full = self.run.kind == "full"
        pieces = self._pieces(fd, size, _full_digests if full else _sha_digests, inline=size <= READ_SIZE)
        for piece, (found, found_quick, found_piece) in pieces:
            digests.append(found)
            quick.append(found_quick)
            quick_pieces.append(found_piece)
            self.writer.write(piece)
            self.advance(len(piece))
        self.writer.write(padding(size))
        self.stored += size
        blocks = b"".join(digests)
        entry.update(size=size, sha256=hash_list(blocks), stored="whole", blocks=blocks.hex())
        if full:
            entry["xxh3"] = b"".join(quick).hex()
            entry["xxh3_pieces"] = b"".join(quick_pieces).hex()

    def _add_blocks(self, entry: dict, fd: int, base: dict) -> None:
        """A large file of an incremental: only the runs of blocks that differ from the full's are stored."""
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=self.stage_dir) as scratch:
            self._store_blocks(entry, base, scratch, self._diff_blocks(entry, fd, base, scratch))

    def _diff_blocks(self, entry: dict, fd: int, base: dict, scratch: BinaryIO) -> _Diff:
        """Read a file up to its end and compare it block by block with the full's record `base`, a piece at a
        time (`_diff_piece`); the blocks that differ go to `scratch` (in memory, or a scratch file in the
        staging directory once they are many), because the tar headers can only be written once it is known
        which blocks changed."""
        self.current = entry["path"]
        old, old_quick, old_pieces = _full_lists(base)
        diff = _Diff()
        for piece, offset in self._read(fd, None, 1):
            if not offset and len(piece) <= BLOCK_SIZE:
                diff.first = bytes(piece)
            diff.digests.append(_diff_piece(piece, offset // READ_SIZE, old, old_quick, old_pieces, diff.changed,
                                            scratch))
            diff.size += len(piece)
            self.advance(len(piece))
        return diff

    def _store_blocks(self, entry: dict, base: dict, scratch: BinaryIO, diff: _Diff,
                      compressed: int | None = None) -> None:
        """Record what `_diff_blocks` found, and store the runs of changed blocks kept in `scratch` (as
        `compressed` bytes of gzip members of their tar members, if given)."""
        size = diff.size
        if size <= BLOCK_SIZE:  # shrunk to one block while read: a small file after all
            self._add_small(entry, diff.first, base)
            return
        blocks = b"".join(diff.digests)
        entry.update(size=size, sha256=hash_list(blocks), blocks=blocks.hex())
        if entry["sha256"] == base["sha256"]:
            entry["stored"] = "base"
            return
        # Only the changed runs' digests are listed: the others are the full's (manifest.py).
        changed = [blocks[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES] for i in diff.changed]
        entry.update(stored="blocks", changed=runs(diff.changed), blocks=b"".join(changed).hex())
        self.stored += sum(min((first + n) * BLOCK_SIZE, size) - first * BLOCK_SIZE for first, n in entry["changed"])
        if compressed is not None:
            self.writer.fill_place(self.place, scratch.fileno(), compressed)
            return
        scratch.seek(0)
        for first_block, count in entry["changed"]:
            length = min((first_block + count) * BLOCK_SIZE, size) - first_block * BLOCK_SIZE
            self.writer.add_bytes(block_member(entry["path"], first_block), scratch.read(length),
                                  mtime_ns=entry["mtime_ns"])


class _Later:
    """The plain path's capture of an incremental's catalog: read in place when the tarball reaches it,
    compared with the full's record `base` (`_Tarball._read_catalog_here`)."""

    def __init__(self, base: dict) -> None:
        self.base = base


class _Diff:
    """What reading a file against the full's record of it found (`_Tarball._diff_blocks`, `_diff_mapped`)."""

    def __init__(self) -> None:
        self.size = 0
        self.digests: list[bytes] = []  # the block digests, a piece's at a time
        self.changed: list[int] = []  # the blocks that differ from the full's, in order
        self.first = b""  # the file's content if it turned out to be one block or less


def _catalog_base(record: dict | None, block_size: int) -> dict | None:
    """The full's record of the catalog database, if an incremental can compare it block by block."""
    if record is None or block_size != BLOCK_SIZE:
        return None
    return record if record["type"] == "file" and record.get("blocks") else None


def _full_lists(base: dict) -> tuple[bytes, bytes, bytes]:
    """The full's record of a file: its block digests, and XXH3 lists of its blocks and pieces (b"" if the
    full did not keep them)."""
    old = bytes.fromhex(base["blocks"])
    old_quick = bytes.fromhex(base.get("xxh3", ""))
    old_pieces = bytes.fromhex(base.get("xxh3_pieces", ""))
    if len(old_pieces) != QUICK_BYTES * -(-len(old) // (DIGEST_BYTES * PIECE_BLOCKS)):
        old_pieces = b""  # (none: the full found the file grown past one block while it read it)
    return old, old_quick, old_pieces


def _diff_piece(piece: memoryview, index: int, old: bytes, old_quick: bytes, old_pieces: bytes,
                changed: list[int], scratch: BinaryIO | None) -> bytes:
    """Compare piece `index` of a file with the full's block digests `old` (and XXH3 lists `old_quick`,
    `old_pieces`: either may be empty): a piece whose XXH3 is the full's takes the full's digests (XXH3 of a
    whole piece runs without the GIL); in another, each block is compared (`block_digests_against`). The
    blocks that differ are added to `changed`, their bytes written to `scratch` (if given). The piece's block
    digests."""
    first = index * PIECE_BLOCKS
    blocks = -(-len(piece) // BLOCK_SIZE)
    stored = old[first * DIGEST_BYTES : (first + blocks) * DIGEST_BYTES]
    if (old_pieces and len(stored) == blocks * DIGEST_BYTES
            and piece_digest(piece) == old_pieces[index * QUICK_BYTES : (index + 1) * QUICK_BYTES]):
        return stored  # the common case: the same piece as the full's
    if old_quick:
        quick = old_quick[first * QUICK_BYTES : (first + blocks) * QUICK_BYTES]
        found = block_digests_against(piece, BLOCK_SIZE, quick, stored)
    else:  # a file the full found grown past one block while reading it has no XXH3 lists: all are hashed
        found = block_digests(piece, BLOCK_SIZE)
    if found != stored:
        for i in range(blocks):
            if found[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES] != stored[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES]:
                changed.append(first + i)
                if scratch is not None:
                    scratch.write(piece[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE])
    return found


def _manifest_bound(items: list[tuple[str, os.stat_result]]) -> int:
    """More than the compressed size of a full's manifest listing `items` (JSON entries, block digests)."""
    bound = 4096
    for path, st in items:
        bound += 320 + 2 * len(path)
        if stat.S_ISREG(st.st_mode):
            bound += 2 * (DIGEST_BYTES + QUICK_BYTES) * block_count(st.st_size, BLOCK_SIZE)
    return bound


def _full_digests(piece: memoryview, first: int) -> tuple[bytes, bytes, bytes]:
    """A piece's block digests, XXH3 digests and XXH3 of the whole piece, as a full lists them."""
    return block_digests(piece, BLOCK_SIZE), quick_digests(piece, BLOCK_SIZE), piece_digest(piece)


def _sha_digests(piece: memoryview, first: int) -> tuple[bytes, bytes, bytes]:
    return block_digests(piece, BLOCK_SIZE), b"", b""


def catalog_unreadable(instance: Instance, live: Path, exc: sqlite3.Error | OSError) -> BackupError:
    """The error of a backup that could not read the catalog database in place."""
    reason = os_reason(exc) if isinstance(exc, OSError) else _sqlite_reason(exc)
    return BackupError(f"backup failed while reading the catalog database {shown(instance, live)}: {reason}; "
                       f"{_nothing_written(instance)}")


def _in_wal_mode(con: sqlite3.Connection) -> bool:
    return con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


@contextmanager
def read_in_place(live: Path) -> Iterator[int | None]:
    """An fd on the live catalog database that no writer can change while it is open; None if the database
    is in WAL mode (its main file alone is not the database; stage it instead).

    A read transaction holds SQLite's SHARED lock meanwhile: a writer may prepare its changes but cannot
    commit them into the file until the lock is released (it waits, as for any reader). POSIX locks belong to
    the process, and closing any fd of the file drops all of them: so the fd is opened only after the
    transaction has begun, and closed only after it has ended.
    """
    con = sqlite3.connect(f"file:{quote(str(live))}?mode=ro", uri=True, timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM sqlite_master").fetchall()  # takes the SHARED lock and keeps it
        if _in_wal_mode(con):
            con.execute("ROLLBACK")
            yield None
            return
        fd = os.open(live, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            try:
                yield fd
            finally:
                con.execute("ROLLBACK")
        finally:
            os.close(fd)
    finally:
        con.close()


def _read_into(fd: int, buffer: bytearray, size: int, offset: int) -> int:
    """Read up to `size` bytes at `offset` into the start of `buffer`; fewer only at end of file."""
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.preadv(fd, [view[got:size]], offset + got)
        if not n:
            break
        got += n
    return got


def _read_to_end(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, READ_SIZE):
        parts.append(chunk)
    return b"".join(parts)


def _base_parts(instance: Instance, base: BackupRecord) -> list[FullPart]:
    """The manifests of the full an incremental builds on (from its base index if it has a sound one),
    checked against the record of it."""
    parts = read_index(instance, base)
    if parts is None:
        try:
            parts = [FullPart.of(read_manifest(path)) for path in base.files]
        except (CorruptArchive, OSError) as exc:
            reason = exc.message if isinstance(exc, CorruptArchive) else os_reason(exc)
            raise BackupError(f"the full backup {base.label} to build on cannot be read: {reason}") from None
    for i, part in enumerate(parts):
        expected = PARTS["v2"][i]
        if (part.kind, part.part, part.label) != ("full", expected, base.label) or (
            base.checksums and part.checksum != base.checksums[i]
        ):
            raise BackupError(f"{base.files[i].name} is not the full backup {base.label} it should be")
    if len(parts) != 2 or parts[0].backup_id != parts[1].backup_id:
        raise BackupError(f"the tarballs of full backup {base.label} do not belong together")
    return parts


def _recover_catalog_journal(instance: Instance, log: Callable[[str], None]) -> None:
    """Roll back what a killed writer left in the catalog database, before it is captured (under the lock).

    A writer killed in a transaction leaves its rollback journal beside the database, "hot": the database
    file may hold half of the transaction, which the journal undoes. SQLite undoes it on the next read through
    a connection that may write; a read-only one, as the capture uses, fails instead ("attempt to write a
    readonly database"), and so would every backup. So the database is read once through a read-write
    connection here. A journal a live writer is using (it holds its lock) is left alone by SQLite.
    """
    live = instance.root / CATALOG_DB
    journal = live.with_name(live.name + "-journal")
    if not _journal_has_header(journal) or os.path.islink(live) or not os.path.isfile(live):
        return
    try:
        con = sqlite3.connect(f"file:{quote(str(live))}?mode=rw", uri=True, timeout=30, isolation_level=None)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        message = (f"backup failed: the catalog database {shown(instance, live)} has a rollback journal left by a "
                   f"writer that was killed, and it could not be rolled back: {_sqlite_reason(exc)}; "
                   f"{_nothing_written(instance)}")
        log(message)
        raise BackupError(message) from None
    if not _journal_has_header(journal):
        log(f"recovered the catalog database {shown(instance, live)}: a writer killed in a transaction had left "
            f"its rollback journal {shown(instance, journal)}; the unfinished transaction was rolled back")


def _journal_has_header(journal: Path) -> bool:
    """Whether a rollback journal is there and not finished: SQLite deletes it, truncates it or zeroes its
    header once its transaction is committed or rolled back, and takes one whose first byte is not zero as
    one to roll back (if no writer holds the database)."""
    try:
        fd = os.open(journal, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.pread(fd, 1, 0) not in (b"", b"\0")
    finally:
        os.close(fd)


def _staging_location(instance: Instance, staging: str) -> Path:
    """Where the staging directory `staging` is; refused unless it lies inside /data2, outside /data2/backup."""
    location = instance.resolve(staging)
    parts = location.real.relative_to(instance.root).parts
    shown_as = staging if location.shell == staging else f"{staging} (that is, {location.shell})"
    if len(parts) < 2 or parts[0] != STAGING_ROOT:
        raise BackupError(
            f"alation.backup.data_temp_dir is {shown_as}, which is not inside /{STAGING_ROOT}: a backup stages "
            f"its files inside /{STAGING_ROOT} only (`alation_conf alation.backup.data_temp_dir -s /data2/tmp`)"
        )
    for keep in PROTECTED:
        if parts[: len(keep)] == keep:
            raise BackupError(
                f"alation.backup.data_temp_dir is {shown_as}, which lies in /{'/'.join(keep)}, where backups are "
                "kept: set it to a directory of its own (`alation_conf alation.backup.data_temp_dir -s /data2/tmp`)"
            )
    return location.real


def _staging_dir(instance: Instance, staging: Path, label: str, log: Callable[[str], None]) -> Path:
    """A new directory of this run's own in the staging directory `staging` (created if missing), after
    removing the ones of runs that were killed. Only such run directories are ever removed: whatever else
    is in `staging` stays."""
    staging.mkdir(parents=True, exist_ok=True)
    with os.scandir(staging) as listing:
        leftovers = [i.path for i in listing if RUN_DIR.fullmatch(i.name) and i.is_dir(follow_symlinks=False)]
    for path in leftovers:
        shutil.rmtree(path)
        log(f"removed leftover {shown(instance, Path(path))} of an interrupted run")
    own = staging / f"alation-backup-{label}-{secrets.token_hex(6)}"
    own.mkdir(0o700)
    return own


def _sqlite_reason(exc: sqlite3.Error) -> str:
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return "no space left on device"  # (SQLite says "database or disk is full")
    return str(exc)
