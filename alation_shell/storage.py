"""Durable small-file primitives: atomic writes (temp file, fsync, rename, fsync dir) and file locks."""

from __future__ import annotations

import fcntl
import os
import stat

from alation_shell.errors import StateCorrupt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from alation_shell.instance import Instance

MAX_STATE_BYTES = 1 << 20  # state files hold a few hundred bytes; a bigger one is not ours


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


class StateFile:
    """One JSON object file of emulator state (`var/clock.json`, ...): read strictly, written atomically.

    A file that cannot be read raises StateCorrupt naming it as the operator knows it (`shown`), saying what is
    wrong and how to mend it (`repair`); nothing rewrites a file it could not read, so it is left as it is.
    """

    __slots__ = ("path", "shown", "repair")

    def __init__(self, path: Path, shown: str, repair: str) -> None:
        self.path = path
        self.shown = shown
        self.repair = repair

    @classmethod
    def under_var(cls, instance: Instance, name: str, repair: str) -> StateFile:
        """The state file `var/NAME` of `instance`, named `/var/NAME` as the shell shows it."""
        return cls(instance.var / name, f"/var/{name}", repair)

    def read(self) -> dict | None:
        """The JSON object the file holds; None if there is no file."""
        import json

        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.damaged(f"cannot be read ({exc.strerror})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self.damaged("not a regular file")
            parts = []
            size = 0
            while size <= MAX_STATE_BYTES and (part := os.read(fd, MAX_STATE_BYTES + 1 - size)):
                parts.append(part)
                size += len(part)
        except OSError as exc:
            raise self.damaged(f"cannot be read ({exc.strerror})") from None
        finally:
            os.close(fd)
        raw = b"".join(parts)
        if size > MAX_STATE_BYTES:
            raise self.damaged(f"too large (more than {MAX_STATE_BYTES >> 10} KiB)")
        if not raw.strip():
            raise self.damaged("empty (it should hold a JSON object)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise self.damaged(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
        except UnicodeDecodeError as exc:
            raise self.damaged(f"not UTF-8 text (byte {exc.start})") from None
        except RecursionError:
            raise self.damaged("not valid JSON (nested too deeply)") from None
        except ValueError:  # the one other refusal of json.loads: an integer of more than 4300 digits
            raise self.damaged("not valid JSON (a number has too many digits)") from None
        if not isinstance(value, dict):
            raise self.damaged(f"not a JSON object (it holds {_json_kind(value)})")
        return value

    def field(self, data: dict, name: str, fits: Callable[[object], bool], expected: str, *,
              required: bool = True) -> object:
        """`data[name]` if it `fits`; StateCorrupt if it does not, or if it is missing and `required`."""
        if name not in data:
            if required:
                raise self.damaged(f"field {name!r} missing")
            return None
        value = data[name]
        if not fits(value):
            raise self.damaged(f"field {name!r} is not {expected}")
        return value

    def damaged(self, what: str) -> StateCorrupt:
        """The error for this file: `/var/clock.json: empty ...; the file was left as it is: REPAIR`."""
        return StateCorrupt(f"{self.shown}: {what}; the file was left as it is: {self.repair}")

    def write(self, value: dict) -> None:
        write_json(self.path, value)


def whole(low: int, high: int) -> Callable[[object], bool]:
    """A test for a JSON integer in [low, high] (not a boolean)."""
    return lambda value: type(value) is int and low <= value <= high


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
