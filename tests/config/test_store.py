"""alation_conf.toml: atomic writes, the parse cache, and corrupt files reported and left alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from alation_shell.config.catalog import catalog
from alation_shell.config.store import ConfigStore
from alation_shell.errors import ConfigCorrupt


@pytest.fixture
def store(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "etc/alation_conf.toml", catalog(), cache=tmp_path / "var/conf.cache")


def test_missing_file_means_all_defaults(store: ConfigStore) -> None:
    assert store.load() == {}


def test_update_writes_toml_that_tomllib_reads(store: ConfigStore) -> None:
    store.update(lambda v: {**v, "alation.backup_v2.incr_backup": True, "alation.backup.scheduled_day": "tue,sat"})
    data = tomllib.loads(store.path.read_text())
    assert data == {"alation.backup.scheduled_day": "tue,sat", "alation.backup_v2.incr_backup": True}
    assert store.path.read_text().startswith("# Alation configuration")
    # No temp file is left beside it.
    assert sorted(p.name for p in store.path.parent.iterdir()) == [".alation_conf.toml.lock", "alation_conf.toml"]


def test_cache_is_keyed_on_exact_bytes(store: ConfigStore) -> None:
    store.update(lambda v: {**v, "alation.backup_v2.incr_backup_versions": 4})
    assert store.load() == {"alation.backup_v2.incr_backup_versions": 4}
    # A hand edit of the same size within the same second is still seen: the cache compares content.
    store.path.write_text(store.path.read_text().replace("= 4", "= 5"))
    assert store.load() == {"alation.backup_v2.incr_backup_versions": 5}


def test_garbage_cache_is_ignored(store: ConfigStore) -> None:
    store.update(lambda v: {**v, "alation.backup_v2.incr_backup_versions": 4})
    assert store.cache is not None
    store.cache.write_bytes(b"\x00garbage")
    assert store.load() == {"alation.backup_v2.incr_backup_versions": 4}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"alation.backup_v2.incr_backup" = \n', r"line 1: invalid TOML"),
        (
            '# ok\n"alation.backup_v2.incr_backup" = true\n"alation.nope" = 1\n',
            r"line 3: unknown parameter 'alation.nope'",
        ),
        ('\n"alation.backup_v2.incr_backup_versions" = "four"\n', r"line 2: invalid value 'four'"),
        ('"alation.backup.scheduled_hour" = 99\n', r"line 1: invalid value '99'.*from 0 to 23"),
        ('"alation.backup_v2.incr_backup" = "True"\n', r"line 1: invalid value 'True'"),
    ],
)
def test_corrupt_file_is_reported_with_line_and_never_overwritten(
    store: ConfigStore, text: str, message: str
) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(text)
    with pytest.raises(ConfigCorrupt, match=message):
        store.load()
    with pytest.raises(ConfigCorrupt):
        store.update(lambda v: {**v, "alation.backup_v2.incr_backup": True})
    assert store.path.read_text() == text


def test_non_utf8_file_is_corrupt(store: ConfigStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b'"alation.email.host" = "\xff"\n')
    with pytest.raises(ConfigCorrupt, match="not UTF-8"):
        store.load()


# Sets a value in a real process that is killed between writing its temp file and renaming it.
KILLED_SETTER = """
import os, signal, sys
from pathlib import Path
from alation_shell.config.catalog import catalog
from alation_shell.config.store import ConfigStore
store = ConfigStore(Path(sys.argv[1]), catalog())
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
store.update(lambda v: {**v, "alation.backup_v2.incr_backup_versions": 6})
"""


def test_the_temp_file_of_a_killed_set_is_removed_by_the_next(store: ConfigStore) -> None:
    store.update(lambda v: {**v, "alation.backup_v2.incr_backup": True})
    before = store.path.read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILLED_SETTER, str(store.path)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    temps = sorted(p.name for p in store.path.parent.glob(".alation_conf.toml.*.tmp"))
    assert len(temps) == 1 and store.path.read_bytes() == before  # the kill left its temp file, nothing else
    with subprocess.Popen(["sleep", "60"]) as alive:  # a temp file of a live process is not touched
        busy = store.path.with_name(f".alation_conf.toml.{alive.pid}.tmp")
        busy.write_bytes(b"being written")
        try:
            store.update(lambda v: {**v, "alation.backup_v2.incr_backup_versions": 2})
            assert sorted(p.name for p in store.path.parent.iterdir()) == sorted([
                ".alation_conf.toml.lock", busy.name, "alation_conf.toml"])
        finally:
            alive.kill()
    assert store.load() == {"alation.backup_v2.incr_backup": True, "alation.backup_v2.incr_backup_versions": 2}
