"""The incremental cycle, decided from the settings and the real backups in /data2/backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alation_shell import backup
from alation_shell.backup import cycle
from alation_shell.backup.cycle import BackupCycle
from alation_shell.session import Session

FIRST_NIGHT = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def take(shell: Session, count: int = 1) -> list[str]:
    """Take `count` nightly backups as the cycle decides them: 'full/v2', 'full/v1' or 'incr<-BASE'."""
    kinds = []
    for _ in range(count):
        plan = BackupCycle.plan(shell.instance, shell.registry)
        night = FIRST_NIGHT + timedelta(days=len(backup.list_backups(shell.instance)))
        record = backup.create_backup(shell.instance, kind=plan.kind, base=plan.base, fmt=plan.fmt, when=night)
        cycle.backup_taken(shell.instance, plan, record)
        kinds.append(f"incr<-{record.base}" if record.kind == "incr" else f"full/{record.format}")
    return kinds


def labels(shell: Session) -> list[str]:
    return [r.label for r in backup.list_backups(shell.instance)]


def conf(shell: Session, *lines: str) -> None:
    for line in lines:
        result = shell.execute(f"alation_conf {line}")
        assert result.ok, result.stderr


def test_off_by_default_every_backup_full(shell: Session) -> None:
    assert take(shell, 3) == ["full/v2"] * 3
    assert BackupCycle.plan(shell.instance, shell.registry).reason == "incremental backups are off"


def test_seed_example_four_versions(shell: Session) -> None:
    take(shell, 2)  # backups from before the change
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 4")
    kinds = take(shell, 7)
    first, second = labels(shell)[2], labels(shell)[7]
    assert kinds == ["full/v2", *[f"incr<-{first}"] * 4, "full/v2", f"incr<-{second}"]
    plan = BackupCycle.plan(shell.instance, shell.registry)
    assert (plan.kind, plan.base.label, plan.taken, plan.versions) == ("incr", second, 1, 4)
    assert plan.reason == f"incremental 2 of 4 on full {second}"


def test_six_versions_gives_a_full_once_a_week(shell: Session) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 6")
    kinds = take(shell, 15)
    assert [i for i, k in enumerate(kinds) if k.startswith("full")] == [0, 7, 14]


def test_zero_versions_every_backup_full(shell: Session) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True")
    assert take(shell, 2) == ["full/v2"] * 2
    assert "every backup is full" in BackupCycle.plan(shell.instance, shell.registry).reason


@pytest.mark.parametrize(
    "change",
    [
        "alation.backup_v2.incr_backup -s True",  # the same value again
        "alation.backup_v2.incr_backup_versions -s 4",  # the same value again
        "alation.backup_v2.incr_backup_versions -s 2",
    ],
)
def test_setting_a_parameter_starts_a_new_cycle(shell: Session, change: str) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 4")
    take(shell, 2)
    conf(shell, change)
    assert BackupCycle.plan(shell.instance, shell.registry).reason.startswith("a new cycle starts")
    assert take(shell, 2) == ["full/v2", f"incr<-{labels(shell)[2]}"]


def test_use_backup_v2_false_is_always_full_v1(shell: Session) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 4",
         "alation.backup.use_backup_v2 -s False")
    assert take(shell, 2) == ["full/v1"] * 2
    # Back to V2: a new cycle, and a V1 full is never the base of a V2 incremental.
    conf(shell, "alation.backup.use_backup_v2 -s True")
    assert take(shell, 2) == ["full/v2", f"incr<-{labels(shell)[2]}"]


def test_missing_or_damaged_base_full_gives_a_full(shell: Session) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 4")
    take(shell, 2)
    full = backup.list_backups(shell.instance)[0]
    full.files[1].unlink()  # its event-bus tarball is gone
    plan = BackupCycle.plan(shell.instance, shell.registry, [full])
    assert (plan.kind, plan.reason) == ("full", f"the last full backup {full.label} is missing or damaged")
    assert take(shell) == ["full/v2"]  # the incomplete full is no longer listed at all
    newest = backup.list_backups(shell.instance)[-1]
    newest.files[0].write_bytes(newest.files[0].read_bytes()[:200])  # truncated: its manifest is unreadable
    assert not cycle.quick_check(newest)
    assert BackupCycle.plan(shell.instance, shell.registry, [newest]).kind == "full"


def test_change_during_a_backup_still_starts_a_new_cycle(shell: Session) -> None:
    conf(shell, "alation.backup_v2.incr_backup -s True", "alation.backup_v2.incr_backup_versions -s 4")
    plan = BackupCycle.plan(shell.instance, shell.registry)  # a full, planned ...
    conf(shell, "alation.backup_v2.incr_backup_versions -s 3")  # ... the operator changes the cycle ...
    record = backup.create_backup(shell.instance, kind=plan.kind, base=None, fmt=plan.fmt, when=FIRST_NIGHT)
    cycle.backup_taken(shell.instance, plan, record)  # ... and the full completes
    assert BackupCycle.plan(shell.instance, shell.registry).kind == "full"


def test_next_backup_unpacks(shell: Session) -> None:
    kind, base, fmt = cycle.next_backup(shell.instance, shell.registry)
    assert (kind, base, fmt) == ("full", None, "v2")
