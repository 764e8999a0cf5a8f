"""Durable small-file primitives: atomic writes (temp file, fsync, rename, fsync dir) and file locks."""

from __future__ import annotations

import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib costs the piped path an import
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class locked:  # noqa: N801 - used like a function: `with locked(path):`
    """Hold an exclusive flock on `lock_path` for a `with` block.

    Non-blocking: `with locked(p, blocking=False) as held:` gives `held` False when another process has it.
    """

    def __init__(self, lock_path: Path, *, blocking: bool = True) -> None:
        self.lock_path = lock_path
        self.blocking = blocking
        self.fd = -1

    def __enter__(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        except BaseException:
            os.close(self.fd)
            raise
        return True

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing the descriptor releases the lock


def read_json(path: Path, default: object = None) -> object:
    """Read a JSON state file; `default` when it does not exist."""
    import json

    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default


def write_json(path: Path, value: object) -> None:
    """Atomically write a JSON state file."""
    import json

    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())
