"""Helpers of the backup tests: snapshots of the backed-up trees and of the catalog's rows."""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import hashlib
import os
import sqlite3
import stat
import struct
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alation_shell.backup.lock import BackupLock
from alation_shell.instance import Instance

TREES = ("data1/pgsql", "data1/site_data", "data1/eventbus")
DB = "data1/pgsql/rosemeta.db"
DB_COMPANIONS = ("rosemeta.db-wal", "rosemeta.db-shm", "rosemeta.db-journal")
NIGHT = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


@contextlib.contextmanager
def backup_lock_held_elsewhere(instance: Instance) -> Iterator[None]:
    """Hold the backup lock in another thread for the block, as a running backup would."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with BackupLock(instance, "backup"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        yield
    finally:
        release.set()
        holder.join()


def night(n: int) -> datetime:
    """The virtual time of the n-th nightly backup."""
    return NIGHT + timedelta(days=n)


def tree_snapshot(root: Path, trees: tuple[str, ...] = TREES) -> dict[str, tuple]:
    """path -> (kind, content sha256 or link target, mode, mtime_ns) of every entry under `trees`.

    The catalog database's bytes are left out (a staged copy need not be byte-identical; `db_rows` compares
    its content), and so are its journal companions, which a backup does not take.
    """
    out: dict[str, tuple] = {}
    for tree in trees:
        top = root / tree
        if not os.path.lexists(top):
            continue
        for path in [top, *sorted(top.rglob("*"))]:
            rel = path.relative_to(root).as_posix()
            if path.name in DB_COMPANIONS and rel.startswith("data1/pgsql/"):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(path), None, st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            elif not stat.S_ISREG(st.st_mode):
                out[rel] = ("special", None, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                content = None if rel == DB else hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = ("file", content, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def db_rows(path: Path) -> dict[str, list]:
    """The schema and every row of every table of a SQLite database."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = sorted(con.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=repr)
        rows: dict[str, list] = {"": schema}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            rows[table] = sorted(con.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
        return rows
    finally:
        con.close()


def state(instance: Instance) -> tuple[dict, dict]:
    """What a restore must bring back: the trees file for file, and the catalog row for row."""
    return tree_snapshot(instance.root), db_rows(instance.root / DB)


def everything(root: Path) -> dict[str, tuple]:
    """Every file of the data disks, database bytes included: for "nothing was touched" checks."""
    snap = tree_snapshot(root, ("data1", "etc"))
    snap[DB] = ("file", hashlib.sha256((root / DB).read_bytes()).hexdigest())
    return snap


def change_catalog(instance: Instance, tag: str) -> None:
    """Some catalog activity: rows added, edited and deleted; a site file added, one edited, one removed;
    event-bus records appended."""
    root = instance.root
    con = sqlite3.connect(root / DB)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS test_activity (id INTEGER PRIMARY KEY, tag TEXT, body TEXT)")
        con.executemany(
            "INSERT INTO test_activity (tag, body) VALUES (?, ?)", [(tag, f"{tag} row {i} " * 20) for i in range(200)]
        )
        con.execute("UPDATE test_activity SET body = body || ' edited' WHERE id % 7 = 0")
        con.execute("DELETE FROM test_activity WHERE id % 11 = 0")
        con.commit()
    finally:
        con.close()
    uploads = root / "data1/site_data/uploads"
    (uploads / f"added-{tag}.csv").write_text(f"id,name\n1,{tag}\n" * 50)
    files = sorted(p for p in uploads.rglob("*") if p.is_file() and not p.name.startswith("added-"))
    if files:
        files[0].write_bytes(files[0].read_bytes() + f"edited {tag}\n".encode())
        files[-1].unlink()
    segments = sorted((root / "data1/eventbus").rglob("*.log"))
    if segments:
        with open(segments[-1], "ab") as f:
            f.write(f'{{"event": "{tag}"}}\n'.encode() * 100)


# Tarballs named like backups whose manifest is hostile (issue 9, item 6).
HOSTILE_NESTED = "202603010100_17-0-0-49181_alation_backup.tar.gz"
HOSTILE_STRING = "202603010200_17-0-0-49181_alation_backup.tar.gz"
STRING_MIB = 1000


def manifest_tarball(path: Path, pieces: list[bytes]) -> Path:
    """A gzip tarball whose first member is `backup_manifest.json` made of `pieces` (each compressed once, as a
    gzip member of its own: a gzip stream may be a series of members), then the end of the archive."""
    size = sum(len(piece) for piece in pieces)
    info = tarfile.TarInfo("backup_manifest.json")
    info.size = size
    members: dict[bytes, bytes] = {}
    with open(path, "wb") as f:
        f.write(gzip.compress(info.tobuf(tarfile.USTAR_FORMAT)))
        for piece in pieces:
            if piece not in members:
                members[piece] = gzip.compress(piece)
            f.write(members[piece])
        f.write(gzip.compress(bytes(-size % 512) + bytes(1024)))
    return path


def hostile_nested(directory: Path) -> Path:
    """The 1 KB tarball whose manifest is JSON nested 50,000 deep."""
    return manifest_tarball(directory / HOSTILE_NESTED, [b"[" * 50_000 + b"]" * 50_000])


def hostile_string(directory: Path) -> Path:
    """The 1 MB tarball whose manifest is one JSON string of 1000 MiB."""
    return manifest_tarball(directory / HOSTILE_STRING, [b'"', *[b"a" * (1 << 20)] * STRING_MIB, b'"'])


class Opens:
    """How many times files were opened since the last look, as the kernel reports it (inotify IN_OPEN): to
    tell whether a listing read a tarball, whoever did the reading (this process or another)."""

    IN_OPEN = 0x20

    def __init__(self, *paths: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        for path in paths:
            assert libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_OPEN) >= 0
        self.seen()

    def seen(self) -> int:
        """Opens since the last call."""
        count = 0
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return count
            at = 0
            while at < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, at)
                count += bool(mask & self.IN_OPEN)
                at += 16 + length

    def close(self) -> None:
        os.close(self.fd)
