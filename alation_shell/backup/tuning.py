"""One policy for how hard backups and restores drive the machine (`BackupTuning`), and the threads they share.

The engine has a plain path, correct on its own: no fork, one thread (read, compress, write in turn), a
restore without lanes, plain staging and plain removal. The fast paths (fast/) sit behind this policy: the
catalog read in place by a forked child, hashing and compressing on threads, the restore's lanes, the staging
placement and the overlapped removal. They change how fast a backup is, never what it writes or restores.

Threads are a budget of the process, not of a backup: every backup and restore of the process hashes and
compresses on one pool sized once from the core count (`shared_pool`), and a restore's lanes are leased from
one count (`lanes`), so that many sessions in one server process never mean many backups' worth of threads.
Only leaf work goes to the shared pool (hash or compress a piece, remove a batch of files): nothing on it waits
for anything else on it, so it cannot deadlock however many backups share it.

`ALATION_SHELL_BACKUP_FAST=0` selects the plain path (the test suite runs the backup tests both ways);
`ALATION_SHELL_BACKUP_FORK=0` keeps the fast paths but never forks (for a threaded server process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FAST_VARIABLE = "ALATION_SHELL_BACKUP_FAST"
FORK_VARIABLE = "ALATION_SHELL_BACKUP_FORK"


def cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


class BackupTuning:
    """What the engine may do to go faster.

    fast: use the fast paths at all (else the plain path throughout).
    fork: read an incremental's catalog in place in a forked child, beside the scan (else in a thread).
    fork_from: the smallest catalog database (bytes) worth a child; a smaller one is read in the thread.
    spread_from: the smallest restored file (bytes) whose pieces are spread over both lanes.
    threads: the size of the pool shared by every backup and restore of the process.
    lanes: restore lanes the process may run at once (two per restore); a restore that finds none free
        writes in its own thread, as the plain path does.
    removers: files removed at once by the shared removal pool (each waits for the disk's discard).
    """

    def __init__(self, *, fast: bool = True, fork: bool = True, fork_from: int = 16 << 10,
                 spread_from: int = 1 << 20, threads: int | None = None, lanes: int | None = None,
                 removers: int = 8) -> None:
        self.fast = fast
        self.fork = fork and fast and hasattr(os, "fork")
        self.fork_from = fork_from
        self.spread_from = spread_from
        self.threads = threads or cores()
        self.lanes = lanes if lanes is not None else 2 * self.threads
        self.removers = removers

    @classmethod
    def from_environment(cls) -> BackupTuning:
        """The default policy, with the fast paths or forking turned off by the environment (`=0`)."""
        return cls(fast=os.environ.get(FAST_VARIABLE, "1") != "0", fork=os.environ.get(FORK_VARIABLE, "1") != "0")


_lock = threading.Lock()
_tuning: BackupTuning | None = None
_pools: dict[str, ThreadPoolExecutor] = {}
_lanes_free: list[int] = []


def tuning() -> BackupTuning:
    """The process's policy (read from the environment the first time)."""
    global _tuning
    with _lock:
        if _tuning is None:
            _tuning = BackupTuning.from_environment()
            _lanes_free[:] = [_tuning.lanes]
        return _tuning


def set_tuning(policy: BackupTuning) -> None:
    """Set the process's policy (before any backup runs: the shared pools keep the size they were made with)."""
    global _tuning
    with _lock:
        _tuning = policy
        _lanes_free[:] = [policy.lanes]


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = ThreadPoolExecutor(size, thread_name_prefix=f"backup-{name}")
        return pool


def shared_pool() -> ThreadPoolExecutor:
    """The pool every backup and restore of the process hashes and compresses on (leaf work only)."""
    return _pool("work", tuning().threads)


def removal_pool() -> ThreadPoolExecutor:
    """The pool that removes files for every restore of the process (leaf work only)."""
    return _pool("remove", tuning().removers)


@contextmanager
def lanes(wanted: int) -> Iterator[bool]:
    """Lease `wanted` restore lanes from the process's count: True if granted (give them back on exit),
    False if too few are free (then write without lanes)."""
    policy = tuning()
    with _lock:
        granted = policy.fast and _lanes_free[0] >= wanted
        if granted:
            _lanes_free[0] -= wanted
    try:
        yield granted
    finally:
        if granted:
            with _lock:
                _lanes_free[0] += wanted


class InlineExecutor:
    """An executor that runs what it is given at once, in the calling thread (the plain path's "pool")."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed over as the future's, as an executor does
            future.set_exception(exc)
        return future

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
