"""Retention: keep the newest `alation.backup.keep_cycles` cycles in /data2/backup (0 keeps everything).

A cycle is one full backup and the incrementals built on it; an incremental always goes with its full, so a
full that a kept incremental needs is never removed, and the newest backup is always in a kept cycle.
Retention runs only after a successful backup, so the new full must exist before the oldest cycle goes.

Only backups this instance wrote are counted and removed, in the order they were taken (ledger.py): a
tarball copied into /data2/backup to be restored is never removed, whatever its name. The backup just taken
and the full it builds on are never removed either, whatever the cycles say.
"""

from __future__ import annotations

from alation_shell.instance import Instance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.records import BackupRecord

KEEP_CYCLES = "alation.backup.keep_cycles"


def cycles(records: list[BackupRecord]) -> list[list[BackupRecord]]:
    """Group backups (in the order taken) into cycles, oldest cycle first, each in backup order.

    An incremental whose full is gone forms a cycle with the others on that same full.
    """
    groups: dict[str, list[BackupRecord]] = {}
    for record in records:
        key = record.base if record.kind == "incr" and record.base else record.label
        groups.setdefault(key, []).append(record)
    # A cycle's age is its newest member's: the cycle holding the newest backup is always the newest.
    position = {id(r): i for i, r in enumerate(records)}
    return sorted(groups.values(), key=lambda group: max(position[id(r)] for r in group))


def plan_retention(records: list[BackupRecord], keep: int, protect: BackupRecord | None = None,
                   ) -> list[BackupRecord]:
    """The backups to remove so that only the newest `keep` cycles stay (`keep` 0: none), oldest first;
    never `protect` (the backup just taken) or the full it builds on."""
    if keep <= 0:
        return []
    grouped = cycles(records)
    doomed = [record for group in grouped[: max(len(grouped) - keep, 0)] for record in group]
    if protect is not None:
        kept = {protect.label, protect.base}
        doomed = [r for r in doomed if r.label not in kept]
    return doomed


def apply_retention(instance: Instance, keep: int, taken: BackupRecord | None = None) -> list[BackupRecord]:
    """Remove this instance's backups beyond the newest `keep` cycles, never `taken` (the backup this run
    took) or its full; returns what was removed, oldest first."""
    from alation_shell.backup import ledger
    from alation_shell.backup.records import list_backups
    from alation_shell.backup.verify import delete_backup

    doomed = plan_retention(ledger.own_backups(instance, list_backups(instance)), keep, taken)
    # Incrementals before their full, so that a failure part-way never leaves an incremental without its full.
    for record in sorted(doomed, key=lambda r: r.kind != "incr"):
        delete_backup(instance, record)
    return doomed
