"""A restore interrupted during its swap is finished before any command touches the data, and simulated
activity never runs during a backup or restore (issue 9, item 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.instance import Instance
from alation_shell.session import Session
from tests.backup import change_catalog, night, state
from tests.conftest import env_for, tool

ROOTS = ["data1/eventbus", "data1/pgsql", "data1/site_data"]


def interrupted_mid_swap(instance: Instance) -> tuple[dict, dict]:
    """A restore killed after it swapped in the restored event bus, before the catalog and site data (the
    mix the issue found `sim advance` working on). Returns the restored state and the state before."""
    backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    at_backup = state(instance)
    stage = instance.root / "data1/.restore"
    new = stage / "new-5f0c3a9e1b2d"
    for root in ROOTS:  # what a restore stages: the trees as they were at the backup
        shutil.copytree(instance.root / root, new / root, symlinks=True)
    change_catalog(instance, "after")
    before = state(instance)
    (stage / "journal.json").write_text(json.dumps({"roots": ROOTS, "present": ROOTS, "staged": new.name}))
    (stage / "old/data1").mkdir(parents=True)
    os.rename(instance.root / "data1/eventbus", stage / "old/data1/eventbus")
    os.rename(new / "data1/eventbus", instance.root / "data1/eventbus")
    return at_backup, before


@pytest.mark.parametrize("command", ["ls /data1", "alation_conf alation.backup_v2.incr_backup", "sudo ls /data1/pgsql"])
def test_any_command_on_the_data_finishes_the_swap_first(shell: Session, command: str) -> None:
    at_backup, _ = interrupted_mid_swap(shell.instance)
    result = shell.execute(command)
    assert result.ok, result.stderr
    assert "note: completed the swap of an interrupted restore" in result.stderr
    assert ".restore" not in result.stdout
    assert not os.path.lexists(shell.instance.root / "data1/.restore")
    assert state(shell.instance) == at_backup
    assert "completed the swap of an interrupted restore" in shell.instance.backup_log.read_text()


def test_sim_advance_runs_the_day_on_the_restored_data_only(shell: Session, tmp_path: Path) -> None:
    instance = shell.instance
    interrupted_mid_swap(instance)
    # The same instance with the swap completed by hand: what the day's activity must have worked on.
    control = Instance(shutil.copytree(instance.root, tmp_path / "control", symlinks=True))
    backup.clean_partials(control)
    result = shell.execute("sim advance 1d")
    assert result.ok, result.stderr
    assert "note: completed the swap of an interrupted restore" in result.stderr
    assert Session(control).execute("sim advance 1d").ok
    assert state(instance) == state(control)


def test_a_restore_interrupted_before_its_swap_is_rolled_back(shell: Session) -> None:
    instance = shell.instance
    before = state(instance)
    staged = instance.root / "data1/.restore/new-5f0c3a9e1b2d/data1"
    staged.mkdir(parents=True)
    (staged / "half-unpacked").write_text("x")
    result = shell.execute("ls /data1")
    assert result.ok and "note: removed the staging of a restore interrupted before its swap" in result.stderr
    assert not os.path.lexists(instance.root / "data1/.restore") and state(instance) == before


def test_commands_that_do_not_touch_the_data_leave_it_alone(shell: Session) -> None:
    interrupted_mid_swap(shell.instance)
    for command in ("help", "pwd", "history"):
        assert shell.execute(command).ok
    assert (shell.instance.root / "data1/.restore/journal.json").exists()


HOLDER = """
import sys, time
from alation_shell.backup.lock import BackupLock
from alation_shell.instance import Instance
with BackupLock(Instance(sys.argv[1]), "restore"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def restore_running_elsewhere(instance: Instance):  # noqa: ANN201 - a generator fixture
    """Another process holding the backup lock, as a running restore does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(instance.root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_activity_is_refused_while_another_process_restores(shell: Session, restore_running_elsewhere) -> None:  # noqa: ANN001
    instance = shell.instance
    before = state(instance)
    result = shell.execute("sim advance 1d")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"sim: a restore is in progress (pid {restore_running_elsewhere.pid}")
    assert "try again when it has finished" in result.stderr and len(result.stderr.splitlines()) == 1
    assert state(instance) == before


def test_a_running_restores_staging_is_left_to_it(shell: Session, restore_running_elsewhere) -> None:  # noqa: ANN001
    staged = shell.instance.root / "data1/.restore/new-5f0c3a9e1b2d/data1"
    staged.mkdir(parents=True)
    result = shell.execute("ls /data1/pgsql")
    assert result.ok and "note" not in result.stderr
    assert staged.is_dir()


def test_the_standalone_console_command_finishes_the_swap_too(instance: Instance) -> None:
    at_backup, _ = interrupted_mid_swap(instance)
    result = subprocess.run([tool("alation_conf"), "alation.backup_v2.incr_backup"], env=env_for(instance.root),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "note: completed the swap of an interrupted restore" in result.stderr
    assert state(instance) == at_backup
