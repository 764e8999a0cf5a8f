"""One backup or restore at a time per instance: an flock on /data2/backup/.backup.lock.

The lock file holds JSON about its holder (pid, host, phase, start, the backup being written) so that a second
process can say who is busy, and so that the next holder can tell that the previous run was killed (its state
is still "running") and clean up after it. The kernel drops an flock when its process dies, so a lock left by
a killed run is never stale. Within one thread the lock is re-entrant: the backup cycle can hold it across a
backup and the retention that follows.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading

from alation_shell.errors import BackupInProgress
from alation_shell.instance import Instance

LOCK_NAME = ".backup.lock"

_held: dict[tuple[str, int], BackupLock] = {}


class BackupLock:
    """`with BackupLock(instance, "backup") as lock:`; a second holder gets BackupInProgress."""

    def __init__(self, instance: Instance, phase: str = "backup", *, cleans: bool = True) -> None:
        """`cleans` False: a holder that does not clean up after a killed run (simulated activity) hands the
        killed run's record on to the next holder, which does."""
        self.instance = instance
        self.path = instance.root / "data2/backup" / LOCK_NAME
        self.phase = phase
        self.cleans = cleans
        self.previous: dict = {}  # what the previous holder left in the file
        self.state: dict = {}
        self._fd = -1
        self._outer: BackupLock | None = None
        self._key = (str(self.path), threading.get_ident())

    def __enter__(self) -> BackupLock:
        outer = _held.get(self._key)
        if outer is not None:
            self._outer = outer
            self.previous = outer.previous
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse(_read_all(fd))
            os.close(fd)
            raise BackupInProgress(busy_message(holder)) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.previous = _parse(_read_all(fd))
        self.state = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "phase": self.phase,
            "state": "running",
            "start": _virtual_now(self.instance),
        }
        try:
            self._store()
        except BaseException:  # (a full disk): not held, so that the next attempt is not refused as busy
            os.close(fd)
            self._fd = -1
            raise
        _held[self._key] = self
        return self

    def update(self, **fields: object) -> None:
        """Record progress for others to see (`label`, `files`, `step`)."""
        holder = self._outer or self
        holder.state.update(fields)
        holder._store()

    def __exit__(self, *exc: object) -> None:
        if self._outer is not None:
            return
        del _held[self._key]
        try:
            self.state["state"] = "done"
            if not self.cleans and self.previous.get("state") == "running":
                self.state = self.previous
            self._store()
        finally:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = -1

    def _store(self) -> None:
        data = json.dumps(self.state, sort_keys=True).encode()
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))


def busy_message(holder: dict) -> str:
    """`a backup is in progress (pid 123, started ...)`, from what the holder wrote in the lock file."""
    phase = holder.get("phase") if isinstance(holder.get("phase"), str) else "backup"
    details = []
    if isinstance(holder.get("pid"), int):
        details.append(f"pid {holder['pid']}")
    if isinstance(holder.get("start"), str):
        details.append(f"started {holder['start']}")
    if isinstance(holder.get("label"), str):
        details.append(f"backup {holder['label']}")
    detail = f" ({', '.join(details)})" if details else ""
    return f"a {phase} is in progress{detail}; try again when it has finished"


def _virtual_now(instance: Instance) -> str:
    """'2026-03-02 09:00:00 UTC': the virtual time, as the backup log and `date` show it."""
    from alation_shell.node import clock

    return clock.peek(instance).strftime("%Y-%m-%d %H:%M:%S UTC")  # a refused run leaves the instance as it was


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, min(size, 1 << 16), 0)


def _parse(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
