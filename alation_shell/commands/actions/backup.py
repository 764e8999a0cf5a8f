"""The handlers of the backup actions: `alation_action backup_all` and `alation_action destructive_restore_all`.

Both drive the backup engine (alation_shell.backup) and print what it did; a backup run itself is
`backup.run.run_backup`, which `sim advance` takes too.
"""

from __future__ import annotations

from pathlib import Path

from alation_shell import backup
from alation_shell.backup import retention
from alation_shell.backup.manifest import Manifest
from alation_shell.backup.records import partner_name, read_manifest, record_from_manifests
from alation_shell.backup.restore import check_room
from alation_shell.backup.run import BackupLog, run_backup
from alation_shell.commands.actions import action, confirm
from alation_shell.commands.base import Context
from alation_shell.errors import ShellError
from alation_shell.node import clock
from alation_shell.progress import human_bytes

RESTORE_FILE = "alation.backup.restore_file"
EB_RESTORE_FILE = "alation.backup.eb_restore_file"
FOLLOW_UP = (
    "Next steps, as after a restore on a real server:",
    "  re-apply your alation_conf settings (they are not part of a backup), then `alation_action deploy_conf_all`",
    "  `alation_action restart_alation`",
    "  `alation_action rebuild_es_index` (the search index is not part of a backup)",
)


def backup_all(ctx: Context) -> int:
    """`alation_action backup_all`: take the next backup of the cycle now (virtual time)."""
    # On a pipe every step prints as it happens; on a terminal progress bars show it instead.
    milestone = None if ctx.interactive else (lambda line: ctx.out(f"  {line}"))
    try:
        now = clock.now(ctx.instance)
    except OSError as exc:  # (the clock's state is written on first use)
        step = "starting the virtual clock in /var/clock.json"
        raise backup.BackupError(backup.failure_message(ctx.instance, step, exc)) from None
    outcome = run_backup(ctx.instance, ctx.registry, now, trigger="alation_action backup_all",
                         progress=ctx.progress, milestone=milestone)
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
