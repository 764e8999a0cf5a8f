"""`sim`: the emulator's own command (not part of the real Alation shell): the virtual clock and backups.

`sim advance` walks the virtual clock forward event by event: at each midnight it runs the day's simulated
catalog activity (the day that just ended), and at each scheduled time it runs the backup through the same
code path as `alation_action backup_all`. So a nightly backup holds the day before's changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from alation_shell.backup import cycle, schedule
from alation_shell.backup.cycle import BackupCycle
from alation_shell.commands.base import Context
from alation_shell.errors import Aborted, UsageError
from alation_shell.progress import human_bytes
from alation_shell.training import clock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.engine import BackupRecord

SUBCOMMANDS = ("clock", "advance", "backups", "verify", "reset")

HELP = """\
usage: sim clock              the virtual time, the backup schedule and the next backup's place in the cycle
       sim advance DURATION   move the virtual clock forward (90m, 36h, 7d, 2w, 1d12h), running each
                              day's simulated catalog activity and every scheduled backup that falls due
       sim backups [--json]   the backups in /data2/backup as a timeline: time, the line joining each
                              incremental to its full, type, size bar, base full, a rule at each new cycle;
                              --json: label, time, kind, format, size, base, cycle, files for each
       sim verify [FILE]      check every backup (or the one FILE belongs to): OK, or what is wrong
       sim reset              remove every backup and put the clock and the backup cycle back to the start
                              (asks for YES; the catalog data and alation_conf settings stay as they are)

`sim` is an addition of this emulator, not a command of the real Alation shell. The virtual clock starts at
Monday 2026-03-02 09:00 UTC and runs with real time plus what `sim advance` adds; backups are named after it.
"""


def run(ctx: Context, args: list[str]) -> int:
    """Entry point of `sim`."""
    if not args or args[0] in ("-h", "--help", "help"):
        ctx.stdout.write(HELP)
        return 0
    sub, rest = args[0], args[1:]
    if sub not in SUBCOMMANDS:
        raise UsageError(f"unknown subcommand {sub!r}; one of {', '.join(SUBCOMMANDS)}")
    if rest and rest[0] in ("-h", "--help"):
        ctx.stdout.write(HELP)
        return 0
    if sub == "advance":
        if len(rest) != 1:
            raise UsageError("advance takes one DURATION, e.g. 7d")
        return advance(ctx, rest[0])
    if sub == "verify":
        if len(rest) > 1:
            raise UsageError("verify takes at most one FILE")
        return verify(ctx, rest[0] if rest else None)
    if sub == "backups" and rest in ([], ["--json"]):
        return backups(ctx, json_out=bool(rest))
    if rest:
        raise UsageError(f"{sub} takes no argument" + (" but --json" if sub == "backups" else ""))
    return {"clock": show_clock, "reset": reset}[sub](ctx)


def timeline_line(record: BackupRecord) -> str:
    """'2026-03-04 Wed 01:00  incr   0.4 MiB  base 202603030100' (V1 backups end in '  V1')."""
    line = f"{clock.format_time(record.created)}  {record.kind:<4}  {human_bytes(record.size):>9}"
    if record.base:
        line += f"  base {record.base}"
    if record.format == "v1":
        line += "  V1"
    return line


def show_clock(ctx: Context) -> int:
    """`sim clock`."""
    now = clock.now(ctx.instance)
    sched, waiting = schedule.in_effect(ctx.instance, ctx.registry)
    plan = BackupCycle.plan(ctx.instance, ctx.registry)
    ctx.out(f"virtual time  {clock.format_time(now)} UTC")
    ctx.out(f"schedule      {sched.describe()}")
    if waiting:
        ctx.out(f"              ({schedule.configured(ctx.registry).describe()} after "
                "`sudo /etc/init.d/supervisord restart`)")
    ctx.out(f"next backup   {clock.format_time(sched.next_due(now))} UTC, {plan.kind}: {plan.reason}")
    return 0


def advance(ctx: Context, text: str) -> int:
    """`sim advance DURATION`: one line per day's activity and per backup, in time order."""
    from alation_shell.backup.actions import run_backup
    from alation_shell.training.activity import simulate_day

    delta = clock.parse_duration(text)
    instance = ctx.instance
    start = clock.now(instance)
    end = start + delta
    sched, waiting = schedule.in_effect(instance, ctx.registry)
    if waiting:
        ctx.err(f"note: {', '.join(waiting)} changed but supervisord was not restarted: backups still run "
                f"at {sched.describe()} (`sudo /etc/init.d/supervisord restart` applies the new schedule)")
    # A day's activity runs at the midnight that ends it, before a backup due at that same midnight.
    events = [(midnight, 0) for midnight in _midnights(start, end)]
    events += [(due, 1) for due in sched.due_times(start, end)]
    notes_given: set[str] = set()
    for when, kind in sorted(events):
        if kind == 0:
            clock.advance_to(instance, when)
            day = (when - timedelta(days=1)).date()
            summary = simulate_day(instance, day)
            ctx.out(f"{clock.format_time(when)}  activity of {day:%a %Y-%m-%d}: {summary}")
        else:
            outcome = run_backup(ctx, when, trigger="scheduled backup")
            # Only now: if the backup failed, the clock stays before it and the next advance runs it again.
            clock.advance_to(instance, when)
            ctx.out(timeline_line(outcome.record))
            for old in outcome.removed:
                ctx.out(f"  removed old {old.kind} backup {old.label} (retention)")
            for note in outcome.notes:
                if note not in notes_given:  # the same note every night says nothing new
                    notes_given.add(note)
                    ctx.err(note)
    clock.advance_to(instance, end)
    ctx.out(f"virtual time is now {clock.format_time(end)} UTC")
    return 0


def _midnights(start: datetime, end: datetime) -> list[datetime]:
    """Every 00:00 UTC in (start, end]."""
    day = start.astimezone(UTC).date() + timedelta(days=1)
    found = []
    while (midnight := datetime.combine(day, time(0, tzinfo=UTC))) <= end:
        found.append(midnight)
        day += timedelta(days=1)
    return found


def backups(ctx: Context, json_out: bool = False) -> int:
    """`sim backups [--json]`: the cycle drawn as a timeline, oldest first (training/timeline.py)."""
    import os

    from alation_shell.backup.engine import list_backups
    from alation_shell.training import timeline

    records = list_backups(ctx.instance)
    if json_out:
        ctx.out(timeline.as_json(ctx.instance, records))
        return 0
    if not records:
        ctx.err("no backups in /data2/backup (`alation_action backup_all` or `sim advance 1d` takes one)")
        return 0
    colour = ctx.interactive and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    for line in timeline.draw(records, colour=colour):
        ctx.out(line)
    return 0


def verify(ctx: Context, path: str | None) -> int:
    """`sim verify [FILE]`: exit 1 if any backup checked is damaged."""
    from alation_shell.backup.engine import find_backup, list_backups, verify_backup

    instance = ctx.instance
    if path is None:
        records = list_backups(instance)
        if not records:
            ctx.err("no backups in /data2/backup to verify")
            return 0
    else:
        records = [find_backup(instance, instance.resolve(path, ctx.session.cwd).real)]
    damaged = 0
    for record in records:
        names = ", ".join(p.name for p in record.files)
        problems = verify_backup(instance, record, progress=ctx.progress)
        if problems:
            damaged += 1
            ctx.out(f"DAMAGED  {record.label} {record.kind}  {names}")
            for problem in problems:
                ctx.out(f"         {problem}")
        else:
            ctx.out(f"OK       {record.label} {record.kind}  {names}")
    if damaged:
        ctx.err(f"sim: {damaged} of {len(records)} backups damaged")
        return 1
    return 0


def reset(ctx: Context) -> int:
    """`sim reset`: remove every backup, reset the clock and the cycle (after YES)."""
    from alation_shell.backup import engine
    from alation_shell.backup.actions import BackupLog

    ctx.err("WARNING: this removes every backup in /data2/backup and puts the virtual clock back to "
            f"{clock.format_time(clock.START)} UTC.")
    answer = ctx.ask("Type YES to continue: ")
    if answer is None or answer.strip() != "YES":
        raise Aborted("answer was not YES; aborted, nothing was changed")
    instance = ctx.instance
    with engine.BackupLock(instance, "reset"):
        records = engine.list_backups(instance)
        for record in reversed(records):  # incrementals go before the full they need
            engine.delete_backup(instance, record)
        partials = engine.clean_partials(instance)
        cycle.reset(instance)
        clock.reset(instance)
        BackupLog(instance)(f"sim reset: removed {len(records)} backups; virtual clock back to the start")
    ctx.out(f"removed {len(records)} backups" + (f" and {len(partials)} partial files" if partials else ""))
    ctx.out(f"virtual time is now {clock.format_time(clock.now(instance))} UTC")
    return 0
