"""The one policy behind the fast paths (tuning.py): threads shared by every backup of the process, lanes leased."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup import tuning
from alation_shell.instance import Instance
from tests.backup import change_catalog, night, state
from tests.conftest import copy_of

RUNS = 4  # backups at once, each on its own instance (as sessions of one server would)


class Sampling:
    """A progress bar that counts the process's threads each time the backup reports progress."""

    most = 0

    def __init__(self, name: str, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        Sampling.most = max(Sampling.most, threading.active_count())

    def finish(self) -> None:
        pass


@pytest.fixture
def policy() -> Iterator[None]:
    before = tuning.tuning()
    yield
    tuning.set_tuning(before)


def test_backups_at_once_share_one_pool_of_threads(seeded_template: Path, tmp_path: Path) -> None:
    """Four backups on four instances at once: hashing and compressing share the process's pool, so that the
    threads they add are that pool's plus what each backup runs beside itself (the catalog capture, the
    tarball's writer), not a pool per backup."""
    instances = [copy_of(seeded_template, tmp_path / f"i{i}") for i in range(RUNS)]
    for instance in instances:  # enough data that every backup is hashing and compressing at once
        (instance.root / "data1/site_data/uploads/bulk.csv").write_bytes(b"catalog rows, " * (1 << 21))
    start = threading.Barrier(RUNS)
    failures: list[BaseException] = []
    baseline = threading.active_count()

    def one(instance: Instance) -> None:
        try:
            start.wait()
            record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0),
                                          progress=Sampling)
            assert backup.verify_backup(instance, record) == []
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    Sampling.most = 0
    runners = [threading.Thread(target=one, args=(i,)) for i in instances]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert failures == []
    policy = tuning.tuning()
    per_backup = 2 if policy.fast else 0  # its stager and its tarball writer (none on the plain path)
    shared = policy.threads if policy.fast else 0
    assert Sampling.most <= baseline + RUNS + RUNS * per_backup + shared


def test_a_restore_that_finds_no_lane_free_writes_without_lanes(instance: Instance, policy: None) -> None:
    """The lanes are leased from one count for the whole process: with none left, a restore writes in its
    own thread, and restores the same state."""
    full = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(instance, "day1")
    at_incr = state(instance)
    incr = backup.create_backup(instance, kind="incr", base=full, fmt="v2", when=night(1))
    change_catalog(instance, "day2")
    tuning.set_tuning(tuning.BackupTuning(lanes=0))
    with tuning.lanes(2) as granted:
        assert not granted
    backup.restore_backup(instance, incr.alation_file)
    assert state(instance) == at_incr


def test_lanes_are_given_back(policy: None) -> None:
    tuning.set_tuning(tuning.BackupTuning(lanes=2))
    with tuning.lanes(2) as first, tuning.lanes(2) as second:
        assert first and not second
    with tuning.lanes(2) as again:
        assert again


def test_the_environment_turns_the_fast_paths_and_forking_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tuning.FAST_VARIABLE, "0")
    plain = tuning.BackupTuning.from_environment()
    assert not plain.fast and not plain.fork
    monkeypatch.setenv(tuning.FAST_VARIABLE, "1")
    monkeypatch.setenv(tuning.FORK_VARIABLE, "0")
    no_fork = tuning.BackupTuning.from_environment()
    assert no_fork.fast and not no_fork.fork
