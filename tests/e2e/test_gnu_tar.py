"""Our backups are ordinary tar.gz files: the real GNU tar and gzip list, test and extract them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup.manifest import MANIFEST_NAME
from alation_shell.backup.records import read_manifest
from alation_shell.instance import Instance
from tests.backup import DB, change_catalog, db_rows, night

TAR = shutil.which("tar") or "/usr/bin/tar"
pytestmark = pytest.mark.skipif(
    not os.path.exists(TAR) or "GNU tar" not in subprocess.run([TAR, "--version"], capture_output=True,
                                                                 text=True).stdout,
    reason="GNU tar is not installed",
)


def tar(*args: str) -> str:
    result = subprocess.run([TAR, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning ("trailing garbage", "unknown extended header", ...)
    return result.stdout


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def big_instance(instance: Instance) -> Instance:
    """A few MiB more than the seeded catalog, so that tarballs span many compressed chunks."""
    (instance.root / "data1/site_data/uploads/big.csv").write_bytes(os.urandom(3 << 20).hex().encode())
    return instance


def test_gnu_tar_lists_and_extracts_a_full_backup(big_instance: Instance, tmp_path: Path) -> None:
    root = big_instance.root
    record = backup.create_backup(big_instance, kind="full", base=None, fmt="v2", when=night(0))
    for path in record.files:
        subprocess.run(["gzip", "-t", str(path)], check=True)
        manifest = read_manifest(path)
        listed = tar("-tzf", str(path)).splitlines()
        assert listed[0] == MANIFEST_NAME
        assert [name.rstrip("/") for name in listed[1:]] == [e["path"] for e in manifest.entries]
        out = tmp_path / path.name
        out.mkdir()
        tar("-xzf", str(path), "-C", str(out))
        for entry in manifest.entries:
            extracted = out / entry["path"]
            if entry["type"] == "file" and entry["path"] != DB:
                assert sha(extracted) == sha(root / entry["path"]), entry["path"]
                assert (extracted.stat().st_mode & 0o777) == entry["mode"]
            elif entry["type"] == "dir":
                assert extracted.is_dir()
        if manifest.part == "alation":
            assert db_rows(out / DB) == db_rows(root / DB)  # the staged catalog, readable as it is


def test_gnu_tar_reads_incremental_and_v1_tarballs(big_instance: Instance, tmp_path: Path) -> None:
    base = backup.create_backup(big_instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(big_instance, "day1")
    record = backup.create_backup(big_instance, kind="incr", base=base, fmt="v2", when=night(1))
    v1 = backup.create_backup(big_instance, kind="full", base=None, fmt="v1", when=night(2))
    listed = tar("-tzf", str(record.alation_file)).splitlines()
    assert listed[0] == MANIFEST_NAME
    assert any(name.startswith("incr/blocks/data1/pgsql/rosemeta.db.") for name in listed)
    assert "data1/site_data/uploads/added-day1.csv" in listed
    out = tmp_path / "incr"
    out.mkdir()
    for path in [*record.files, *v1.files]:
        tar("-xzf", str(path), "-C", str(out))
    assert (out / "data1/site_data/uploads/added-day1.csv").read_bytes() == (
        big_instance.root / "data1/site_data/uploads/added-day1.csv"
    ).read_bytes()
    v1_listed = {name.rstrip("/") for name in tar("-tzf", str(v1.alation_file)).splitlines()}
    assert {"data1/pgsql", "data1/site_data", "data1/eventbus"} <= v1_listed
