"""The backup engine: Backup V2 with incremental cycles, Backup V1, verify and restore.

This is the package's public face: other packages use the names below (`from alation_shell import backup`,
then `backup.create_backup(...)`), not its modules. The rooms:

  create.py   take full and incremental backups (the plain path, correct on its own)
  verify.py   verify, delete, clean up what interrupted runs left
  restore.py  restore (verified before anything is replaced), finish an interrupted one
  records.py  list and find backups (sidecars, base indexes); manifest.py and archive.py, the format
  lock.py, ledger.py, cycle.py, schedule.py, retention.py: the lock, names given, cycles, schedule, retention
  tuning.py   the one policy (BackupTuning) behind which fast/ sits: in-place catalog capture in a forked
              child, restore lanes, staging placement, overlapped removal; and the threads all runs share

Names are loaded when first used, so that importing one module of the package (the lock, say) does not load
the engine.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.create import LOCK_SHOWN, create_backup, failure_message
    from alation_shell.backup.lock import BackupLock
    from alation_shell.backup.records import BackupError, BackupRecord, find_backup, list_backups, shown
    from alation_shell.backup.restore import check_room, restore_backup
    from alation_shell.backup.verify import clean_partials, delete_backup, delete_damaged, verify_backup
    from alation_shell.errors import BackupInProgress, CorruptArchive

_WHERE = {
    "BackupError": "alation_shell.backup.records",
    "BackupRecord": "alation_shell.backup.records",
    "find_backup": "alation_shell.backup.records",
    "list_backups": "alation_shell.backup.records",
    "shown": "alation_shell.backup.records",
    "BackupLock": "alation_shell.backup.lock",
    "BackupInProgress": "alation_shell.errors",
    "CorruptArchive": "alation_shell.errors",
    "LOCK_SHOWN": "alation_shell.backup.create",
    "create_backup": "alation_shell.backup.create",
    "failure_message": "alation_shell.backup.create",
    "check_room": "alation_shell.backup.restore",
    "restore_backup": "alation_shell.backup.restore",
    "clean_partials": "alation_shell.backup.verify",
    "delete_backup": "alation_shell.backup.verify",
    "delete_damaged": "alation_shell.backup.verify",
    "verify_backup": "alation_shell.backup.verify",
}

__all__ = [
    "BackupError",
    "BackupInProgress",
    "BackupLock",
    "BackupRecord",
    "CorruptArchive",
    "LOCK_SHOWN",
    "check_room",
    "clean_partials",
    "create_backup",
    "delete_backup",
    "delete_damaged",
    "failure_message",
    "find_backup",
    "list_backups",
    "restore_backup",
    "shown",
    "verify_backup",
]


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
