"""Creating an instance: the emulated server's chroot laid out and seeded deterministically.

The sandbox (alation_shell.instance) only holds paths and the rule of where an instance may be created; what
a new one holds is the server's business, here. Entry points call `open_instance` (created on first use) or
`create_instance` (`alation-shell init`).
"""

from __future__ import annotations

from pathlib import Path

from alation_shell.errors import InstanceError
from alation_shell.instance import Instance, default_home
from alation_shell.node.layout import ALATION_BUILD, ALATION_RELEASE, LAYOUT, VERSION_FILE
from alation_shell.storage import atomic_write

DEFAULT_SEED = 5959


def open_instance(home: Path | str | None = None, *, create: bool = True) -> Instance:
    """The instance at `home` (or the default), created and seeded on first use when `create`."""
    instance = Instance(home if home is not None else default_home())
    if not instance.is_initialized():
        if not create:
            raise InstanceError(f"no instance at {instance.root} (run `alation-shell init`)")
        create_instance(instance)
    instance.meta  # noqa: B018 - read now, so that a damaged instance.json is reported before anything runs
    return instance


def create_instance(instance: Instance, seed: int = DEFAULT_SEED, size: int | None = None) -> None:
    """Lay out and seed `instance` deterministically from `seed` (`size` asks for a bigger catalog); only in a
    new or empty directory, or one an interrupted creation left (`Instance.begin_creation`)."""
    from alation_shell.node.catalog import seed_catalog

    instance.begin_creation()
    try:
        for sub in LAYOUT:
            (instance.root / sub).mkdir(parents=True, exist_ok=True)
        major, minor, patch, build = ALATION_BUILD
        atomic_write(
            instance.root / VERSION_FILE,
            (
                f"ALATION_MAJOR_VERSION = {major}\nALATION_MINOR_VERSION = {minor}\n"
                f"ALATION_PATCH_VERSION = {patch}\nALATION_BUILD_VERSION = {build}\n"
                f"ALATION_RELEASE = '{ALATION_RELEASE}'\n"
            ).encode(),
        )
        seed_catalog(instance, seed=seed, size=size)
    except OSError as exc:
        raise InstanceError(f"cannot create instance at {instance.root}: {exc.strerror or exc}") from exc
    instance.finish_creation({
        "seed": seed,
        "hostname": "alation-demo",
        "label": "DEMO",
        "user": "alationadmin",
        "release": ALATION_RELEASE,
        "build": ".".join(map(str, ALATION_BUILD)),
    })
