"""Fast path: a restore's files written on two threads of their own ("lanes"), beside the reading thread.

How a restore runs with lanes (restore.py has the plain `PlainWriter`, which does the same in the reading
thread): each tarball is decompressed on a thread of its own and read member by member in the main thread,
which checks each header against the manifest and hands the data over; the two lanes create each file, hash
each piece (into the member's `MemberDigest`) and write it at its offset, close the file and check its digest.
A small file is all done on one lane, handed over in a batch with others; the pieces of a large file (kept by
block, so its pieces hash independently) go to both lanes in turn. The restore is then bound by the CPU of
both cores (decompression, sha256, the kernel's copying into the page cache, and the parsing), not by one
thread. The lanes are leased from the process's count (tuning.lanes): a restore that finds none free writes
without them.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from alation_shell.backup.archive import MemberDigest, pwrite_all


class Writer:
    """Creates, writes and checks the restored files on two threads of their own ("lanes"), while the reading
    thread parses the tarball and hands its data over (decompression has a thread of its own, too).

    A file of one piece goes to one lane, which does all of it in order: create it (or open it, for blocks of
    a file from the full), hash the piece and write it at its offset, close it, check its digest; the pieces
    of a larger file go to both lanes in turn (see `target`). A restore is mostly small files, so the work is
    handed over in batches, sent when one holds BATCH bytes or OPS operations (or by `drain`): a small file
    costs the reading thread a few appends, not a hand-over of its own. At most IN_FLIGHT batches wait. The
    first error of a lane (a write error, a checksum mismatch) is raised in the reading thread at its next
    hand-over, or by `drain`; after it, the lanes do nothing more.
    """

    LANES = 2  # leased from the process's count (tuning.lanes)
    IN_FLIGHT = 8
    BATCH = 1 << 20
    OPS = 128

    def __init__(self, spread_from: int = 0) -> None:
        self.spread_from = spread_from  # a smaller file is not spread over the lanes (tuning.BackupTuning)
        self.lanes = [ThreadPoolExecutor(1, thread_name_prefix="restore-lane") for _ in range(self.LANES)]
        self.batches: list[list[tuple]] = [[] for _ in self.lanes]
        self.sizes = [0] * self.LANES
        self.turn = 0
        self.waiting: deque[Future[None]] = deque()
        self.open: set[_Target] = set()  # files opened by a lane and not closed yet
        self.lock = threading.Lock()
        self.failed = False

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.drain()
        finally:
            self.failed = True  # (only after a failure: batches not run yet do nothing)
            for lane in self.lanes:
                lane.shutdown(wait=True, cancel_futures=True)
            for target in self.open:
                os.close(target.fd)
            self.open.clear()

    def target(self, path: str, flags: int, offset: int, size: int, digest: MemberDigest) -> _Target:
        """A file to write `digest`'s member (`size` bytes) to, at `offset`, opened with `flags`.

        A member of one piece (most are) is done all on the next lane. A larger one is opened here, and its
        pieces go to the lanes in turn: they are hashed block by block, each into its own place in the digest
        list, so none waits for another; the file is closed and checked by whichever thread finishes last.
        """
        if size < self.spread_from or size <= digest.piece_size or digest.whole is not None:
            lane = self.next_lane()
            target = _Target(self, lane, offset, digest)
            self.add(lane, target.open_on_lane, path, flags, 0)
        else:
            target = _Target(self, -1, offset, digest)
            target.open_on_lane(path, flags)
        return target

    def next_lane(self) -> int:
        """The lanes in turn."""
        lane = self.turn
        self.turn = (lane + 1) % self.LANES
        return lane

    def add(self, lane: int, op: Callable[[object, object], None], a: object, b: object, size: int) -> None:
        """Queue `op(a, b)` on a lane (`size`: the bytes it holds)."""
        batch = self.batches[lane]
        batch.append((op, a, b))
        self.sizes[lane] += size
        if self.sizes[lane] >= self.BATCH or len(batch) >= self.OPS:
            self._send(lane)

    def each(self, op: Callable[[object, object], None], args: list[tuple[object, object]]) -> None:
        """Run `op(a, b)` for each pair, spread over the lanes, and wait for all of it."""
        for i, (a, b) in enumerate(args):
            self.add(i % self.LANES, op, a, b, 0)
        self.drain()

    def drain(self) -> None:
        """Wait until everything handed over is done (raising the first error of a lane)."""
        for lane in range(self.LANES):
            self._send(lane)
        self._wait(0)

    def _send(self, lane: int) -> None:
        batch = self.batches[lane]
        if batch:
            self.batches[lane] = []
            self.sizes[lane] = 0
            self.waiting.append(self.lanes[lane].submit(self._run, batch))
            self._wait(self.IN_FLIGHT)

    def _run(self, batch: list[tuple]) -> None:
        if self.failed:
            return
        try:
            for op, a, b in batch:
                op(a, b)
        except BaseException:
            self.failed = True
            raise

    def _wait(self, limit: int) -> None:
        while len(self.waiting) > limit:
            self.waiting.popleft().result()


class _Target:
    """A restored file (or a run of blocks in one) being written by the lanes of a `Writer`: the sink that
    `TarballReader.check_members` writes to (in the reading thread; the `*_on_lane` methods run on a lane).
    `lane` is the lane that does all of it, or -1: its pieces are spread over the lanes (`Writer.target`)."""

    __slots__ = ("writer", "lane", "offset", "digest", "fd", "holders")

    def __init__(self, writer: Writer, lane: int, offset: int, digest: MemberDigest) -> None:
        self.writer = writer
        self.lane = lane
        self.offset = offset
        self.digest = digest
        self.fd = -1
        self.holders = 1  # spread: the reading thread until close(), and each piece not written yet

    def write(self, piece: bytes) -> None:
        writer = self.writer
        if self.lane >= 0:
            writer.add(self.lane, self.write_on_lane, piece, self.offset, len(piece))
        else:
            with writer.lock:
                self.holders += 1
            writer.add(writer.next_lane(), self.write_spread, (self.digest.reserve(), piece), self.offset, len(piece))
        self.offset += len(piece)

    def close(self, complete: bool) -> None:
        if not complete:
            return  # the restore is failing: the descriptor is closed when the writer stops
        if self.lane >= 0:
            self.writer.add(self.lane, self.close_on_lane, None, None, 0)
        else:
            self._release()

    def open_on_lane(self, path: str, flags: int) -> None:
        self.fd = os.open(path, flags, 0o600)
        with self.writer.lock:
            self.writer.open.add(self)

    def write_on_lane(self, piece: bytes, offset: int) -> None:
        self.digest.update(piece)
        pwrite_all(self.fd, piece, offset)

    def close_on_lane(self, _a: object = None, _b: object = None) -> None:
        with self.writer.lock:
            self.writer.open.discard(self)
        os.close(self.fd)
        self.digest.check()

    def write_spread(self, place_piece: tuple[int, bytes], offset: int) -> None:
        place, piece = place_piece
        self.digest.update_at(place, piece)
        pwrite_all(self.fd, piece, offset)
        self._release()

    def _release(self) -> None:
        with self.writer.lock:
            self.holders -= 1
            if self.holders:
                return
        self.close_on_lane()
