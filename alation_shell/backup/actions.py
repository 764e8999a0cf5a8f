"""The backup actions: `alation_action backup_all` and `alation_action destructive_restore_all`.

`run_backup` is the one code path of every backup, taken by hand or by the schedule (`sim advance`): under the
backup lock it cleans up after interrupted runs, asks the cycle what to take, takes it at the virtual time,
then applies retention. Every step goes to /opt/alation/site/logs/alation_backup.log, each line stamped with
the virtual time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from alation_shell import backup
from alation_shell.backup import retention
from alation_shell.backup.cycle import INCR_BACKUP, BackupCycle, backup_taken
from alation_shell.backup.manifest import Manifest
from alation_shell.backup.records import BackupRecord, partner_name, read_manifest, record_from_manifests, scan_backups
from alation_shell.backup.restore import check_room
from alation_shell.commands.base import Context
from alation_shell.errors import BackupInProgress, ShellError
from alation_shell.instance import BACKUP_LOG, RESTORE_DIR, Instance
from alation_shell.progress import human_bytes
from alation_shell.training import clock

RESTORE_FILE = "alation.backup.restore_file"
EB_RESTORE_FILE = "alation.backup.eb_restore_file"
STAGING = "alation.backup.data_temp_dir"
FOLLOW_UP = (
    "Next steps, as after a restore on a real server:",
    "  re-apply your alation_conf settings (they are not part of a backup), then `alation_action deploy_conf_all`",
    "  `alation_action restart_alation`",
    "  `alation_action rebuild_es_index` (the search index is not part of a backup)",
)


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
    ctx: Context, when: datetime, *, trigger: str, milestone: Callable[[str], None] | None = None
) -> BackupOutcome:
    """Take the next backup of the cycle at virtual time `when`, then apply retention.

    `trigger` names who asked (logged); `milestone` also gets every step's log line as it happens (notes
    for the operator come back in the outcome instead).
    """
    instance, registry = ctx.instance, ctx.registry
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
                progress=ctx.progress, log=log, staging=str(registry.get(STAGING)),
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


def finish_interrupted_restore(ctx: Context) -> None:
    """Before a command touches the data: complete the swap of a restore that was interrupted during it (or
    remove the staging of one interrupted before it), under the backup lock, and say so. Nothing if another
    process holds the lock: a restore that is running has its staging to itself."""
    instance = ctx.instance
    try:
        with backup.BackupLock(instance, "recovery"):
            swapping = (instance.root / RESTORE_DIR / "journal.json").exists()
            removed = backup.clean_partials(instance)
    except BackupInProgress:
        return
    if not removed:
        return
    if swapping:
        what = "completed the swap of an interrupted restore: the data is the restored backup's"
    else:
        what = "removed the staging of a restore interrupted before its swap: the data is as it was before it"
    BackupLog(instance)(f"{what} (removed " + ", ".join(backup.shown(instance, p) for p in removed) + ")")
    ctx.err(f"note: {what}")


def backup_all(ctx: Context) -> int:
    """`alation_action backup_all`: take the next backup of the cycle now (virtual time)."""
    # On a pipe every step prints as it happens; on a terminal progress bars show it instead.
    milestone = None if ctx.interactive else (lambda line: ctx.out(f"  {line}"))
    try:
        now = clock.now(ctx.instance)
    except OSError as exc:  # (the clock's state is written on first use)
        step = "starting the virtual clock in /var/clock.json"
        raise backup.BackupError(backup.failure_message(ctx.instance, step, exc)) from None
    outcome = run_backup(ctx, now, trigger="alation_action backup_all", milestone=milestone)
    for note in outcome.notes:
        ctx.err(note)
    record = outcome.record
    kind = "incremental" if record.kind == "incr" else "full"
    fmt = "Backup V1" if record.format == "v1" else "Backup V2"
    base = f", base full {record.base}" if record.base else ""
    ctx.out(f"backup {record.label} complete: {kind} ({fmt}{base}), {human_bytes(record.size)}")
    for path in record.files:
        ctx.out(f"  {ctx.instance.shell_path(path)}  {human_bytes(path.stat().st_size)}")
    for old in outcome.removed:
        ctx.out(f"removed old {old.kind} backup {old.label} (retention: keep_cycles "
                f"{ctx.registry.get(retention.KEEP_CYCLES)})")
    return 0


def _restore_path(ctx: Context, name: str) -> Path | None:
    """The host path of a restore parameter's file; None when unset; BackupError if it does not exist."""
    value = str(ctx.registry.get(name))
    if not value:
        return None
    location = ctx.instance.resolve(value)
    if not location.real.is_file():
        raise backup.BackupError(f"{name} is {value}, which does not exist (or is not a file)")
    return location.real


def destructive_restore_all(ctx: Context) -> int:
    """`alation_action destructive_restore_all`: verify, ask for YES, then replace the data with the backup."""
    from alation_shell.actions import action, confirm

    instance = ctx.instance
    alation_file = _restore_path(ctx, RESTORE_FILE)
    if alation_file is None:
        raise backup.BackupError(
            f"{RESTORE_FILE} is not set: `alation_conf {RESTORE_FILE} -s /data2/backup/<...>_alation_backup.tar.gz`"
        )
    eb_file = _restore_path(ctx, EB_RESTORE_FILE)
    log = BackupLog(instance)
    with backup.BackupLock(instance, "restore"):
        log("destructive_restore_all: verifying " + ", ".join(
            backup.shown(instance, p) for p in (alation_file, eb_file) if p is not None))
        try:
            first = read_manifest(alation_file)
            _check_pairing(ctx, alation_file, eb_file, first)
            files = [alation_file] if eb_file is None else [alation_file, eb_file]
            record = record_from_manifests(files, [first, *(read_manifest(path) for path in files[1:])])
            check_room(instance, alation_file, eb_file)  # before reading it all, and before asking
            problems = backup.verify_backup(instance, record, progress=ctx.progress)
        except backup.CorruptArchive as exc:
            problems = [exc.message]
        if problems:
            for problem in problems:
                log(f"restore refused: {problem}")
            raise backup.CorruptArchive(
                f"{alation_file.name} failed verification, nothing was changed: " + "; ".join(problems)
            )
        base = f" on full {record.base}" if record.base else ""
        ctx.out(f"verified backup {record.label} ({record.kind}{base}, {human_bytes(record.size)})")
        try:
            confirm(ctx, action("destructive_restore_all"))
        except ShellError as exc:
            log(f"restore of backup {record.label} aborted: {exc.message}")
            raise
        restored = backup.restore_backup(instance, alation_file, eb_file, progress=ctx.progress, log=log)
    ctx.out(f"restored backup {restored.label} ({restored.kind}{base}): the catalog database, site data and "
            "event bus are as they were at "
            f"{clock.format_time(restored.created)} UTC")
    for line in FOLLOW_UP:
        ctx.out(line)
    return 0


def _check_pairing(ctx: Context, alation_file: Path, eb_file: Path | None, manifest: Manifest) -> None:
    """The restore parameters name what the backup needs: the alation tarball, and for V2 its event-bus one."""
    if manifest.part == "eb":
        raise backup.BackupError(
            f"{RESTORE_FILE} names the event-bus tarball {alation_file.name}; set it to "
            f"{partner_name(manifest, 'alation')} and {EB_RESTORE_FILE} to the event-bus one"
        )
    if manifest.backup_format == "v2" and eb_file is None:
        partner = alation_file.with_name(partner_name(manifest, "eb"))
        raise backup.BackupError(
            f"{EB_RESTORE_FILE} is not set: `alation_conf {EB_RESTORE_FILE} -s {backup.shown(ctx.instance, partner)}`"
        )
    if manifest.backup_format == "v1" and eb_file is not None:
        raise backup.BackupError(
            f"{alation_file.name} is a Backup V1 backup, which holds the event bus too: "
            f"`alation_conf --reset {EB_RESTORE_FILE}`"
        )
