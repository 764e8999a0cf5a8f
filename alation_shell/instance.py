"""The sandbox ("instance"): one directory that stands for the Alation chroot, and the paths inside it.

Shell paths (`/data2/backup`) are resolved with chroot semantics: `..` stops at the root and absolute
symlink targets point inside the instance, so no path typed in the shell can reach the host.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alation_shell.errors import InstanceError, PathOutsideInstance
from alation_shell.storage import atomic_write, read_json, write_json

HOME_ENV = "ALATION_SHELL_HOME"
DEFAULT_SEED = 5959
MAX_SYMLINKS = 40

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
    "home/alation",
    "var",
)


def default_home() -> Path:
    """`$ALATION_SHELL_HOME`, else the platform's user data dir + `alation-shell/instance`."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    if sys.platform.startswith("linux"):
        # platformdirs' XDG rule, inlined: importing platformdirs costs more than the rest of a piped run.
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(base) / "alation-shell" / "instance"
    import platformdirs

    return Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "instance"


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
        self.root = Path(os.path.realpath(root))

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
        return instance

    def is_initialized(self) -> bool:
        return self.meta_file.is_file()

    def init(self, seed: int = DEFAULT_SEED, size: int | None = None) -> None:
        """Create and seed the instance deterministically from `seed`; `size` asks for a bigger catalog."""
        if self.root.exists() and not self.root.is_dir():
            raise InstanceError(f"{self.root} exists and is not a directory")
        try:
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
        except OSError as exc:
            raise InstanceError(f"cannot create instance at {self.root}: {exc.strerror or exc}") from exc

    def remove(self) -> None:
        """Delete this instance (only a directory that is one: it must hold `var/instance.json`)."""
        import shutil

        if not self.is_initialized():
            raise InstanceError(f"{self.root} is not an instance; not removing it")
        shutil.rmtree(self.root)

    @property
    def meta(self) -> dict:
        meta = read_json(self.meta_file, {})
        return meta if isinstance(meta, dict) else {}

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
            if candidate.is_symlink():
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

    def shell_path(self, real: Path) -> str:
        """The shell's name for a host path inside the instance."""
        rel = Path(os.path.realpath(real)).relative_to(self.root)
        return "/" + rel.as_posix() if rel.parts else "/"
