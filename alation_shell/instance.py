"""The sandbox ("instance"): one directory that stands for the Alation chroot, and the paths inside it.

Shell paths (`/data2/backup`) are resolved with chroot semantics: `..` stops at the root and absolute
symlink targets point inside the instance, so no path typed in the shell can reach the host.

Code that writes instance data opens its paths through `Instance.at` (and `open_file`, `open_dir`, `write_file`,
`host_path` built on it): a walk from the root one component at a time, each opened relative to the
directory before it without following links, so that no symbolic link, however it got there, is followed
out of the instance by the kernel.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from alation_shell.errors import InstanceError, PathOutsideInstance
from alation_shell.node.layout import ALATION_BUILD, BACKUP_LOG, CONF_FILE
from alation_shell.storage import StateFile, whole, write_json

HOME_ENV = "ALATION_SHELL_HOME"
MAX_SYMLINKS = 40
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")
SEEDING = ".alation-shell-seeding"  # present while an instance is created: the directory is ours to seed again
META_TEXT = ("hostname", "label", "user", "release", "build")  # optional; each shown in the prompt or names

def default_home() -> Path:
    """`$ALATION_SHELL_HOME`, else the platform's user data dir + `alation-shell/instance`."""
    env = os.environ.get(HOME_ENV)
    if env is not None:
        if not env:
            raise InstanceError(f"{HOME_ENV} is set but empty: set it to the instance directory, or unset it "
                                "to use the default location")
        return Path(env)
    if sys.platform.startswith("linux"):
        # platformdirs' XDG rule, inlined: importing platformdirs costs more than the rest of a piped run.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(base) / "alation-shell" / "instance"
    import platformdirs

    return Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "instance"


def _is_name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 256 and value.isprintable()


# The emulator's own state, under the instance's var/: every file of it named here, in one place.
VAR_META = "instance.json"  # hostname, label, user, release, build
VAR_CLOCK = "clock.json"  # the virtual clock (node/clock.py)
VAR_CLOCK_LOCK = "clock.lock"
VAR_SCHEDULE = "schedule.json"  # the backup schedule in effect (backup/schedule.py)
VAR_SERVICES = "services.json"  # supervisord's programs (node/supervisord.py)
VAR_PENDING_RESTARTS = "pending_restarts.json"
VAR_BACKUP_CYCLE = "backup_cycle.json"  # "a new cycle starts" (backup/cycle.py)
VAR_BACKUP_LEDGER = "backup_ledger.json"  # the backups this instance wrote (backup/ledger.py)
VAR_DAMAGED_BACKUPS = "damaged_backups.json"  # tarballs found damaged (backup/records.py)
VAR_BACKUP_INDEX = "backup_index"  # a directory: fulls' parsed manifests (backup/records.py)
VAR_LICENSE = "license.json"  # the license applied (commands/actions/license.py)
VAR_DJANGO_SETTINGS = "django_settings.json"  # what alation_django_shell's documented calls set
VAR_INDEX_REBUILD_LOCK = "rebuild_es_index.lock"
VAR_CONF_CACHE = "cache/alation_conf.marshal"  # alation_conf.toml parsed (config/registry.py)
VAR_HISTORY = "shell_history"  # the REPL's history
VAR_WALKTHROUGH = "walkthrough.json"  # a walkthrough's progress (training/walkthrough.py)


class Location:
    """A path as the shell shows it (`shell`) and where it really is (`real`)."""

    __slots__ = ("shell", "real")

    def __init__(self, shell: str, real: Path) -> None:
        self.shell = shell
        self.real = real

    def __repr__(self) -> str:
        return f"Location({self.shell!r}, {self.real!r})"


class Instance:
    """One emulated Alation server: its chroot directory and the state files under `var/`."""

    def __init__(self, root: Path | str) -> None:
        if not os.fspath(root):  # realpath("") would be the working directory
            raise InstanceError("the instance directory is empty: give a directory (--home DIR)")
        self.root = Path(os.path.realpath(root))
        self._meta: dict | None = None

    # Well-known files -------------------------------------------------------------------------
    @property
    def conf_file(self) -> Path:
        return self.root / CONF_FILE

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def meta_file(self) -> Path:
        return self.var / VAR_META

    @property
    def backup_log(self) -> Path:
        return self.root / BACKUP_LOG

    # Life cycle -------------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return self.meta_file.is_file()

    def check_can_create(self) -> None:
        """InstanceError unless an instance may be seeded here: nothing there, an empty directory, or one that
        an interrupted `init` left. Never among someone's own files."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return
        except NotADirectoryError:
            raise InstanceError(f"{self.root} exists and is not a directory") from None
        except OSError as exc:
            raise InstanceError(f"cannot read {self.root}: {exc.strerror}") from None
        if names and SEEDING not in names:
            raise InstanceError(f"{self.root} is not empty and is not an instance; not creating one among its "
                                "files: choose another directory (--home DIR or $ALATION_SHELL_HOME)")

    def begin_creation(self) -> None:
        """Start creating an instance here (`node.seed.create_instance` fills it): only where one may be
        (`check_can_create`); the directory is marked as being created until `finish_creation`."""
        self.check_can_create()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / SEEDING).touch()
        except OSError as exc:
            raise InstanceError(f"cannot create instance at {self.root}: {exc.strerror or exc}") from exc

    def finish_creation(self, meta: dict) -> None:
        """Record `meta` in var/instance.json: from now on the directory is an instance."""
        try:
            write_json(self.meta_file, meta)
            (self.root / SEEDING).unlink()
        except OSError as exc:
            raise InstanceError(f"cannot create instance at {self.root}: {exc.strerror or exc}") from exc
        self._meta = None

    def remove(self) -> None:
        """Delete this instance (only a directory that is one: it must hold `var/instance.json`)."""
        from alation_shell.backup.restore import remove_tree  # shutil.rmtree recurses: a deep tree breaks it

        if not self.is_initialized():
            raise InstanceError(f"{self.root} is not an instance; not removing it")
        try:
            remove_tree(self.root)
        except OSError as exc:
            raise InstanceError(f"cannot remove the instance at {self.root}: {exc.strerror or exc}") from None

    @property
    def meta(self) -> dict:
        """What `var/instance.json` says (read once); StateCorrupt, naming its host path, if it is damaged."""
        if self._meta is None:
            file = StateFile(
                self.meta_file, str(self.meta_file),
                "fix it ({} is valid: every field then takes its default), or replace the instance: "
                f"`alation-shell init --force --home {self.root}`",
            )
            meta = file.read() or {}
            file.field(meta, "seed", whole(0, 10**18), "a whole number", required=False)
            for name in META_TEXT:
                file.field(meta, name, _is_name, "one line of printable text", required=False)
            self._meta = meta
        return self._meta

    @property
    def build_version(self) -> str:
        """The dotted build number, e.g. `17.0.0.49181` (backup names carry it with dashes)."""
        return str(self.meta.get("build", ".".join(map(str, ALATION_BUILD))))

    # Paths inside the chroot ------------------------------------------------------------------
    def resolve(self, path: str, cwd: str = "/") -> Location:
        """Resolve a shell path against `cwd` with chroot semantics; the result is always inside root."""
        if "\0" in path:
            raise PathOutsideInstance(f"{path!r}: invalid path (NUL byte)")
        parts: list[str] = [] if path.startswith("/") else [p for p in cwd.split("/") if p]
        pending = path.split("/")
        links = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            candidate = self.root.joinpath(*parts, part)
            try:
                is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
            except OSError:  # missing, or unreachable (a name too long, ...): what is done with it says so
                is_link = False
            if is_link:
                links += 1
                if links > MAX_SYMLINKS:
                    raise PathOutsideInstance(f"{path}: too many levels of symbolic links")
                target = os.readlink(candidate)
                if target.startswith("/"):
                    parts = []
                pending = target.split("/") + pending
                continue
            parts.append(part)
        return Location("/" + "/".join(parts), self.root.joinpath(*parts))

    def real_path(self, shell_path: str) -> Path:
        """Where an absolute shell path (e.g. `/data2/backup`) lives on the host."""
        return self.resolve(shell_path).real

    def shell_name(self, path: object) -> str | None:
        """The shell's name for a host path (str, bytes or Path) inside the instance, taken as written;
        None for a path outside it, which is never shown."""
        if not isinstance(path, str | bytes | os.PathLike):
            return None
        text, root = os.fsdecode(path), str(self.root)
        if text == root:
            return "/"
        return text[len(root):] if text.startswith(root + "/") else None

    def shell_path(self, real: Path) -> str:
        """The shell's name for a host path inside the instance."""
        rel = Path(os.path.realpath(real)).relative_to(self.root)
        return "/" + rel.as_posix() if rel.parts else "/"

    # Confined access: what writers of instance data open their paths with --------------------
    def at(self, path: str, *, parents: bool = False) -> At:
        """`with instance.at("data1/eventbus/x") as (dir_fd, name):` the directory that holds `path` (an open
        fd) and the name of `path` in it, to use with `dir_fd=` calls that do not follow a final link
        (`os.open(name, flags | O_NOFOLLOW, dir_fd=dir_fd)`, `os.unlink`, `os.utime(follow_symlinks=False)`).

        `path` is relative to the instance root (a leading `/` is the root too). It is walked one component
        at a time from the root, each directory opened relative to the one before with O_NOFOLLOW, so the
        kernel follows no link. A link met on the way, or as the last component, is resolved here with
        chroot semantics (an absolute target starts at the instance root; `..` goes to the parent of the
        directory reached) and the walk goes on; a `..` above the root is refused (PathOutsideInstance), and
        so are more than MAX_SYMLINKS links. `parents` creates missing directories on the way. The last
        component need not exist; when it is there, it is not a link. OSErrors name the shell path.
        """
        return At(self.root, path, parents)

    def open_file(self, path: str, flags: int = os.O_RDONLY, mode: int = 0o644, *, parents: bool = False) -> int:
        """An fd on instance path `path`, opened through `at` (O_CREAT in `flags` creates it)."""
        with self.at(path, parents=parents) as (dir_fd, name):
            try:
                return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
            except OSError as exc:
                raise _named(exc, path) from None

    def open_dir(self, path: str, *, create: bool = False) -> int:
        """An fd on directory `path` of the instance, opened through `at`; `create` makes it and its parents."""
        with self.at(path, parents=create) as (dir_fd, name):
            try:
                if create and name != ".":
                    try:  # noqa: SIM105 - contextlib costs the piped path an import
                        os.mkdir(name, 0o777, dir_fd=dir_fd)
                    except FileExistsError:
                        pass
                return os.open(name, _DIR, dir_fd=dir_fd)
            except OSError as exc:
                raise _named(exc, path) from None

    def read_file(self, path: str, limit: int = -1) -> bytes:
        """The content of instance file `path` (at most `limit` bytes), opened through `at`."""
        with os.fdopen(self.open_file(path), "rb") as f:
            return f.read(limit)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, mtime: float | None = None) -> None:
        """Replace instance file `path` with `data` atomically (written aside, fsynced, renamed), through
        `at`; its directories are created; `mtime` dates it."""
        with self.at(path, parents=True) as (dir_fd, name):
            tmp = f".{name}.{os.getpid()}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                             dir_fd=dir_fd)
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    if mtime is not None:
                        os.utime(tmp, (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
                    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except BaseException:
                    try:  # noqa: SIM105 - contextlib costs the piped path an import
                        os.unlink(tmp, dir_fd=dir_fd)
                    except FileNotFoundError:
                        pass
                    raise
                os.fsync(dir_fd)
            except OSError as exc:
                raise _named(exc, path) from None

    def set_mtime(self, path: str, mtime: float) -> None:
        """Date instance path `path` (access and modification time), through `at` (a final link itself)."""
        with self.at(path) as (dir_fd, name):
            try:
                os.utime(name, (mtime, mtime), dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                raise _named(exc, path) from None

    def host_path(self, path: str) -> Path:
        """The host path of instance path `path`, for what can only take a path: resolved through `at`, and
        checked that its real path (the kernel's resolution) is that very path."""
        walk = self.at(path)
        with walk as (_, name):
            found = self.root.joinpath(*walk.names, name) if name != "." else self.root.joinpath(*walk.names)
        if os.path.realpath(found) != str(found):
            raise PathOutsideInstance(f"/{path.lstrip('/')}: changed while it was being opened; refused")
        return found

    def database_path(self, path: str) -> Path:
        """The host path of the SQLite database at instance path `path` (`host_path`), checked that none of
        the files SQLite keeps beside it (journal, WAL) is a symbolic link, which SQLite would follow."""
        found = self.host_path(path)
        for suffix in _SQLITE_COMPANIONS:
            if os.path.islink(f"{found}{suffix}"):
                raise PathOutsideInstance(f"/{path.lstrip('/')}{suffix} is a symbolic link; refused (SQLite "
                                          "would write through it)")
        return found


class At:
    """The context manager `Instance.at` gives: (directory fd, name) of a path walked safely."""

    __slots__ = ("root", "path", "parents", "fd", "names")

    def __init__(self, root: Path, path: str, parents: bool) -> None:
        self.root = root
        self.path = path
        self.parents = parents
        self.fd = -1
        self.names: list[str] = []  # the directories walked to, below the root: no link among them

    def __enter__(self) -> tuple[int, str]:
        self.fd, self.names, name = _walk(self.root, self.path, self.parents)
        return self.fd, name

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _named(exc: OSError, path: str) -> OSError:
    """`exc` naming the shell path `path` (an fd-relative call names only the last component)."""
    return OSError(exc.errno, exc.strerror, "/" + path.lstrip("/"))


def _walk(root: Path, path: str, parents: bool) -> tuple[int, list[str], str]:
    """`Instance.at`'s walk: (fd of the directory holding `path`, that directory's components below the root,
    the name of `path` in it: "." when the walk ends on a directory by "", "." or "..")."""
    if "\0" in path:
        raise PathOutsideInstance(f"{path!r}: invalid path (NUL byte)")
    fds = [os.open(root, _DIR)]
    names: list[str] = []  # the directories walked, below the root
    pending = path.split("/")[::-1]  # the components still to walk, the next one last
    links = 0
    part = ""
    try:
        while True:
            while pending and pending[-1] in ("", "."):
                pending.pop()
            if not pending:
                return fds.pop(), names, "."
            part = pending.pop()
            if part == "..":
                if len(fds) == 1:
                    raise PathOutsideInstance(f"/{path.lstrip('/')}: leads out of the instance (a `..` above its "
                                              "root, through a symbolic link); refused")
                os.close(fds.pop())
                names.pop()
                continue
            last = all(p in ("", ".") for p in pending)
            try:
                st = os.stat(part, dir_fd=fds[-1], follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return fds.pop(), names, part
                if not parents:
                    raise
                os.mkdir(part, 0o777, dir_fd=fds[-1])
                st = None
            if st is not None and (st.st_mode & 0o170000) == 0o120000:  # a symbolic link
                links += 1
                if links > MAX_SYMLINKS:
                    raise PathOutsideInstance(f"/{path.lstrip('/')}: too many levels of symbolic links")
                target = os.readlink(part, dir_fd=fds[-1])
                if target.startswith("/"):
                    for fd in fds[1:]:
                        os.close(fd)
                    del fds[1:], names[:]
                pending.extend(target.split("/")[::-1])
                continue
            if last:
                return fds.pop(), names, part
            fds.append(os.open(part, _DIR, dir_fd=fds[-1]))  # not a link: O_NOFOLLOW refuses one put here since
            names.append(part)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, "/" + "/".join([*names, part])) from None
    finally:
        for fd in fds:
            os.close(fd)
