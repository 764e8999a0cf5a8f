"""One backup run, and the backup log.

`run_backup` is the one code path of every backup, taken by hand or by the schedule (`sim advance`): under the
backup lock it cleans up after interrupted runs, asks the cycle what to take, takes it at the virtual time,
then applies retention. Every step goes to /opt/alation/site/logs/alation_backup.log, each line stamped with
the virtual time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from alation_shell import backup
from alation_shell.backup import retention
from alation_shell.backup.cycle import INCR_BACKUP, BackupCycle, backup_taken
from alation_shell.backup.records import BackupRecord, scan_backups
from alation_shell.config.registry import Registry
from alation_shell.errors import BackupInProgress, ShellError
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.node.layout import BACKUP_LOG, RESTORE_DIR
from alation_shell.progress import Progress

STAGING = "alation.backup.data_temp_dir"
class BackupLog:
    """Appends lines to /opt/alation/site/logs/alation_backup.log, each stamped with the virtual time."""

    def __init__(self, instance: Instance, at: datetime | None = None) -> None:
        self.instance = instance
        self.at = at  # a scheduled backup's lines carry its due time
        self.lost: str | None = None  # why lines could not be written, once that happened

    def __call__(self, message: str) -> None:
        when = self.at if self.at is not None else clock.now(self.instance)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
        try:
            # One write of whole lines in append mode: concurrent writers never interleave within a line.
            # Opened through the instance's confinement: a link put in place of the log is not followed out.
            fd = self.instance.open_file(BACKUP_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, parents=True)
            with open(fd, "a", encoding="utf-8") as f:
                f.write("".join(f"{stamp}  {line}\n" for line in message.splitlines()))
                f.flush()
                os.utime(f.fileno(), (when.timestamp(), when.timestamp()))  # last written on the virtual clock
        except OSError as exc:
            # A log that cannot be written (a full disk) must not hide what the backup says on stderr.
            if self.lost is None:
                self.lost = f"warning: could not write to /{BACKUP_LOG}: {exc.strerror or exc}"


class BackupOutcome:
    """What one run of the backup did."""

    __slots__ = ("record", "removed", "notes")

    def __init__(self, record: BackupRecord, removed: list[BackupRecord], notes: list[str]) -> None:
        self.record = record
        self.removed = removed  # backups retention removed
        self.notes = notes  # things the operator should know (stderr)


def run_backup(
    instance: Instance,
    registry: Registry,
    when: datetime,
    *,
    trigger: str,
    progress: Callable[[str, int], Progress],
    milestone: Callable[[str], None] | None = None,
) -> BackupOutcome:
    """Take the next backup of the cycle at virtual time `when`, then apply retention.

    `registry` gives the backup settings; `trigger` names who asked (logged); `progress(label, total)` makes
    the reporter of each long step (its steps check for a cancel); `milestone` also gets every step's log line
    as it happens (notes for the operator come back in the outcome instead).
    """
    file_log = BackupLog(instance, at=when)

    def log(line: str) -> None:
        file_log(line)
        if milestone is not None:
            milestone(line)

    notes: list[str] = []
    record: BackupRecord | None = None
    step = f"taking the backup lock {backup.LOCK_SHOWN}"
    try:
        with backup.BackupLock(instance, "backup"):
            step = "removing what an interrupted run left"
            for path in backup.clean_partials(instance):
                log(f"removed leftover {backup.shown(instance, path)} of an interrupted run")
            step = "deciding the next backup"
            scan = scan_backups(instance)
            for damaged in scan.damaged:  # the cycle and retention go by the sound backups only
                notes.append(f"note: {damaged.problem}; not used as a backup")
                file_log(notes[-1])
            plan = BackupCycle.plan(instance, registry, scan.records)
            log(f"{trigger}: {plan.kind} backup ({plan.reason})")
            if plan.fmt == "v1" and registry.get(INCR_BACKUP):
                notes.append("note: incremental backups need Backup V2 (alation.backup.use_backup_v2 is False): "
                             "a full Backup V1 backup was taken")
                file_log(notes[-1])
            record = backup.create_backup(
                instance, kind=plan.kind, base=plan.base, fmt=plan.fmt, when=when,
                progress=progress, log=log, staging=str(registry.get(STAGING)),
            )
            try:
                backup_taken(instance, plan, record)
            except OSError as exc:  # the backup is complete; the cycle's mark stays: the next backup is full
                notes.append(f"warning: could not record that the new cycle has its full: {exc.strerror or exc}")
                file_log(notes[-1])
            keep = int(registry.get(retention.KEEP_CYCLES))
            try:
                removed = retention.apply_retention(instance, keep, taken=record)
            except (OSError, ShellError) as exc:
                reason = exc.message if isinstance(exc, ShellError) else (exc.strerror or str(exc))
                notes.append(f"warning: retention could not remove old backups: {reason}")
                file_log(notes[-1])
                removed = []
            for old in removed:
                log(f"retention (keep_cycles {keep}): removed {old.kind} backup {old.label}: "
                    + ", ".join(p.name for p in old.files))
    except OSError as exc:
        if record is not None:
            raise
        # Before the backup was written (create_backup reports its own failures, as BackupError).
        message = backup.failure_message(instance, step, exc)
        file_log(message)
        raise backup.BackupError(message) from None
    if file_log.lost is not None:
        notes.append(file_log.lost)
    return BackupOutcome(record, removed, notes)


def finish_interrupted_restore(instance: Instance) -> str | None:
    """Before a command touches the data: complete the swap of a restore that was interrupted during it (or
    remove the staging of one interrupted before it), under the backup lock, and say what was done (logged
    too). None when there was nothing to do, or another process holds the lock: a restore that is running has
    its staging to itself."""
    try:
        with backup.BackupLock(instance, "recovery"):
            swapping = (instance.root / RESTORE_DIR / "journal.json").exists()
            removed = backup.clean_partials(instance)
    except BackupInProgress:
        return None
    if not removed:
        return None
    if swapping:
        what = "completed the swap of an interrupted restore: the data is the restored backup's"
    else:
        what = "removed the staging of a restore interrupted before its swap: the data is as it was before it"
    BackupLog(instance)(f"{what} (removed " + ", ".join(backup.shown(instance, p) for p in removed) + ")")
    return what
