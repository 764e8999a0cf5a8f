"""The project's own packaging builds without warnings: the first `scripts/shell` on a fresh machine is quiet."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_builds_without_build_backend_warnings(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                        "--wheel-dir", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "BuildBackendWarning" not in r.stderr and "deprecated" not in r.stderr.lower(), r.stderr
    [wheel] = tmp_path.glob("alation_shell-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "alation_shell/config/parameters.json" in names and "alation_shell/commands/actions/actions.json" in names
    assert "alation_shell/training/scenarios/incremental-backups.toml" in names
    assert not any(name.startswith(("tests/", "scripts/")) for name in names)

