"""Fast path: an incremental's catalog database read in place by a forked child, beside the rest of the backup.

The plain path (create.py, `_Tarball._read_catalog_here`) reads the live file in the backup's own thread, when
the alation tarball reaches it, under a read transaction. Here the transaction is taken as soon as the backup
starts, and a child process (child.py says why a child) maps the file rather than reads it (`_diff_mapped`)
and makes the changed blocks into the incremental's tar members, compressed as they are found (`_RunPacker`),
in a file in staging that the alation tarball takes them from (`TarballWriter.fill_place`: it holds the
catalog's place in the stream and writes the files after it meanwhile). Without fork (tuning.py), the same
work runs in the stager thread.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from isal import isal_zlib

from alation_shell.backup import create, tuning
from alation_shell.backup.archive import COMPRESS_LEVEL, padding, tar_header
from alation_shell.backup.fast import child
from alation_shell.backup.manifest import BLOCK_SIZE, block_member
from alation_shell.node.layout import CATALOG_DB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

class InPlace:
    """The catalog database as read in place for an incremental: its stat then, the full's record it was
    compared with, what the comparison found, and the changed runs ready to store (`packed`)."""

    def __init__(self, stat: os.stat_result, base: dict, diff: create._Diff, packed: BinaryIO, compressed: int) -> None:
        self.stat = stat
        self.base = base
        self.diff = diff
        self.packed = packed  # the changed runs as tar members, in gzip members: `compressed` bytes
        self.compressed = compressed


class _RunPacker:
    """Writes the catalog database's runs of changed blocks, taken from the mapped file `view` as they are
    found (`add`, in order), to the file `out` as the incremental's tar members, in gzip members of about a
    piece each compressed on `pool` meanwhile the comparison goes on (this runs in the child process of
    `read_catalog_in_place`)."""

    def __init__(self, view: memoryview, mtime_ns: int, out: int, pool: ThreadPoolExecutor) -> None:
        self.view = view
        self.mtime_ns = mtime_ns
        self.out = out
        self.pool = pool
        self.run: list[int] = []  # [first block, count] of the run being found
        self.pending = bytearray()
        self.ahead: deque[Future[bytes]] = deque()
        self.written = 0

    def add(self, block: int) -> None:
        if self.run and self.run[0] + self.run[1] == block:
            self.run[1] += 1
            return
        self._member()
        self.run = [block, 1]

    def finish(self) -> int:
        """Write out the rest; the bytes written in all."""
        self._member()
        if self.pending:
            self.ahead.append(self.pool.submit(isal_zlib.compress, self.pending, COMPRESS_LEVEL, 31))
        self._write_out(0)
        return self.written

    def _member(self) -> None:
        if not self.run:
            return
        first, count = self.run
        start = first * BLOCK_SIZE
        end = min((first + count) * BLOCK_SIZE, len(self.view))
        self.pending += tar_header(block_member(CATALOG_DB, first), size=end - start, mtime_ns=self.mtime_ns)
        self.pending += self.view[start:end]
        self.pending += padding(end - start)
        if len(self.pending) >= create.READ_SIZE:
            self.ahead.append(self.pool.submit(isal_zlib.compress, self.pending, COMPRESS_LEVEL, 31))
            self.pending = bytearray()
            self._write_out(create.AHEAD)

    def _write_out(self, limit: int) -> None:
        while len(self.ahead) > limit:
            data = self.ahead.popleft().result()
            _write_all(self.out, data)
            self.written += len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _diff_mapped(view: memoryview, base: dict, packer: _RunPacker) -> create._Diff:
    """`_Tarball._diff_blocks` for the catalog database in place, `view` of it mapped rather than read (which saves
    copying it); the changed blocks are not copied out either: `packer` takes them from `view`."""
    old, old_quick, old_pieces = create._full_lists(base)
    diff = create._Diff()
    diff.size = len(view)
    for index in range(-(-len(view) // create.READ_SIZE)):
        found = len(diff.changed)
        with view[index * create.READ_SIZE : (index + 1) * create.READ_SIZE] as piece:
            diff.digests.append(create._diff_piece(piece, index, old, old_quick, old_pieces, diff.changed, None))
        for block in diff.changed[found:]:
            packer.add(block)
    if len(view) <= BLOCK_SIZE:
        diff.first = bytes(view)
    return diff


def read_catalog_in_place(run: create._BackupRun, stage_dir: Path, base: dict) -> InPlace | None:
    """Read the live catalog database where it lies, while a read transaction holds writers off, and
    compare it block by block with the full's record `base`; None if it is in WAL mode (its main file
    alone is not the database), missing, or one block or less (then it is staged).

    The work is done by a child process beside the scan of the other trees (see above), or by this thread if
    the policy forbids forking or the file is too small to be worth a child. This process holds the
    transaction until the child has answered (POSIX ties the lock to the process that took it).
    """
    live = run.instance.root / CATALOG_DB
    if not os.path.isfile(live) or os.path.islink(live) or not run._catalog_in_place():
        return None  # (then there is nothing to stage either, which _stage_catalog says)
    packed: BinaryIO | None = None
    try:
        with create.read_in_place(live) as fd:
            if fd is None:
                return None
            now = os.fstat(fd)
            if now.st_size <= BLOCK_SIZE:
                return None
            packed = open(os.open(stage_dir / "catalog-changed-blocks",  # noqa: SIM115 - closed by the caller
                                  os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "w+b")
            out = packed.fileno()

            # The mapping is not closed by `work`: a child's exit unmaps it after the answer is sent
            # (child.py), and without a child it goes when this function returns.
            kept: list[object] = []
            forked = run.policy.fork and now.st_size >= run.policy.fork_from

            def work() -> tuple[int, bytes, list[int], bytes, int]:
                # Mapped: only for a file that nothing can shrink meanwhile (a mapped page past the end of
                # a file raises SIGBUS): the catalog under its read transaction, which SQLite only ever
                # truncates while it holds the EXCLUSIVE lock; and in a child, which it would end alone.
                mapped = mmap.mmap(fd, now.st_size, prot=mmap.PROT_READ)
                view = memoryview(mapped)
                kept.extend((mapped, view))
                # In a child, a thread of its own (the parent's pools have no threads there); else the shared pool.
                with ThreadPoolExecutor(1) if forked else _Borrowed(tuning.shared_pool()) as pool:
                    packer = _RunPacker(view, now.st_mtime_ns, out, pool)
                    diff = _diff_mapped(view, base, packer)
                    compressed = packer.finish()
                return diff.size, b"".join(diff.digests), diff.changed, diff.first, compressed

            run.in_place.set_result(True)  # from here on, an InPlace or an error
            if forked:
                size, digests, changed, first, compressed = child.run_in_child(work, keep=(fd, out))
            else:
                size, digests, changed, first, compressed = work()
    except FileNotFoundError:
        if packed is not None:
            packed.close()
        return None
    except (sqlite3.Error, OSError) as exc:
        if packed is not None:
            packed.close()
        raise create.catalog_unreadable(run.instance, live, exc) from None
    except BaseException:
        if packed is not None:
            packed.close()
        raise
    diff = create._Diff()
    diff.size, diff.changed, diff.first = size, changed, first
    diff.digests.append(digests)
    return InPlace(now, base, diff, packed, compressed)


class _Borrowed:
    """A pool used for a while and not shut down after (the process's shared pool)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    def __enter__(self) -> ThreadPoolExecutor:
        return self.pool

    def __exit__(self, *exc: object) -> None:
        pass
