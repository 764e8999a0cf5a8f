"""The sandbox ("instance"): one directory that stands for the Alation chroot, and the paths inside it.

Shell paths (`/data2/backup`) are resolved with chroot semantics: `..` stops at the root and absolute
symlink targets point inside the instance, so no path typed in the shell can reach the host.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from alation_shell.errors import InstanceError, PathOutsideInstance
from alation_shell.storage import StateFile, atomic_write, whole, write_json

HOME_ENV = "ALATION_SHELL_HOME"
DEFAULT_SEED = 5959
MAX_SYMLINKS = 40
SEEDING = ".alation-shell-seeding"  # present while `init` seeds: the directory is ours to seed again
META_TEXT = ("hostname", "label", "user", "release", "build")  # optional; each shown in the prompt or names

# The Alation release the emulated server runs (2023.3 is build 17.0.0.49181).
ALATION_RELEASE = "2023.3"
ALATION_BUILD = (17, 0, 0, 49181)

# Directories of the emulated chroot (SPEC §2).
LAYOUT = (
    "etc/alation",
    "data1/pgsql",
    "data1/eventbus",
    "data1/site_data/config",
    "data1/site_data/uploads",
    "data1/es",
    "data2/backup",
    "data2/tmp",
    "opt/alation/site/logs",
    "opt/alation/site/saml",
    "opt/alation/django/main",
    "home/alationadmin",
    "var",
)


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
        return self.root / "etc/alation/alation_conf.toml"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def meta_file(self) -> Path:
        return self.var / "instance.json"

    @property
    def backup_log(self) -> Path:
        return self.root / "opt/alation/site/logs/alation_backup.log"

    # Life cycle -------------------------------------------------------------------------------
    @classmethod
    def open(cls, home: Path | str | None = None, *, create: bool = True) -> Instance:
        """Open the instance at `home` (or the default), seeding it on first use when `create`."""
        instance = cls(home if home is not None else default_home())
        if not instance.is_initialized():
            if not create:
                raise InstanceError(f"no instance at {instance.root} (run `alation-shell init`)")
            instance.init()
        instance.meta  # noqa: B018 - read now, so that a damaged instance.json is reported before anything runs
        return instance

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

    def init(self, seed: int = DEFAULT_SEED, size: int | None = None) -> None:
        """Create and seed the instance deterministically from `seed`; `size` asks for a bigger catalog."""
        self.check_can_create()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / SEEDING).touch()
            for sub in LAYOUT:
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            major, minor, patch, build = ALATION_BUILD
            atomic_write(
                self.root / "opt/alation/django/main/alation_version.py",
                (
                    f"ALATION_MAJOR_VERSION = {major}\nALATION_MINOR_VERSION = {minor}\n"
                    f"ALATION_PATCH_VERSION = {patch}\nALATION_BUILD_VERSION = {build}\n"
                    f"ALATION_RELEASE = '{ALATION_RELEASE}'\n"
                ).encode(),
            )
            from alation_shell.training.catalog import seed_catalog

            seed_catalog(self, seed=seed, size=size)
            write_json(
                self.meta_file,
                {
                    "seed": seed,
                    "hostname": "alation-demo",
                    "label": "DEMO",
                    "user": "alationadmin",
                    "release": ALATION_RELEASE,
                    "build": ".".join(map(str, ALATION_BUILD)),
                },
            )
            (self.root / SEEDING).unlink()
        except OSError as exc:
            raise InstanceError(f"cannot create instance at {self.root}: {exc.strerror or exc}") from exc

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
