"""Retention: keep the newest `alation.backup.keep_cycles` cycles in /data2/backup (0 keeps everything).

A cycle is one full backup and the incrementals built on it; an incremental always goes with its full, so a
full that a kept incremental needs is never removed, and the newest backup is always in a kept cycle.
Retention runs only after a successful backup, so the new full must exist before the oldest cycle goes.
"""

from __future__ import annotations

from alation_shell.instance import Instance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.engine import BackupRecord

KEEP_CYCLES = "alation.backup.keep_cycles"


def cycles(records: list[BackupRecord]) -> list[list[BackupRecord]]:
    """Group backups (oldest first) into cycles, oldest cycle first, each in backup order.

    An incremental whose full is gone forms a cycle with the others on that same full.
    """
    groups: dict[str, list[BackupRecord]] = {}
    for record in records:
        key = record.base if record.kind == "incr" and record.base else record.label
        groups.setdefault(key, []).append(record)
    # A cycle's age is its newest member's: the cycle holding the newest backup is always the newest.
    position = {id(r): i for i, r in enumerate(records)}
    return sorted(groups.values(), key=lambda group: max(position[id(r)] for r in group))


def plan_retention(records: list[BackupRecord], keep: int) -> list[BackupRecord]:
    """The backups to remove so that only the newest `keep` cycles stay (`keep` 0: none), oldest first."""
    if keep <= 0:
        return []
    grouped = cycles(records)
    return [record for group in grouped[: max(len(grouped) - keep, 0)] for record in group]


def apply_retention(instance: Instance, keep: int) -> list[BackupRecord]:
    """Remove the backups beyond the newest `keep` cycles; returns what was removed, oldest first."""
    from alation_shell.backup.engine import delete_backup, list_backups

    doomed = plan_retention(list_backups(instance), keep)
    # Incrementals before their full, so that a failure part-way never leaves an incremental without its full.
    for record in sorted(doomed, key=lambda r: r.kind != "incr"):
        delete_backup(instance, record)
    return doomed
