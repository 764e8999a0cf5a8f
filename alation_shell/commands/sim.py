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
from alation_shell.commands.builtins import described, subcommand_rows
from alation_shell.errors import UsageError
from alation_shell.node import clock
from alation_shell.progress import human_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup import BackupRecord
    from alation_shell.backup.records import DamagedBackup

# After the usage lines, which list the subcommands the table declares.
ABOUT = """\

`sim` is an addition of this emulator, not a command of the real Alation shell. The virtual clock starts at
Monday 2026-03-02 09:00 UTC and runs with real time plus what `sim advance` adds; backups are named after it.
"""


def run(ctx: Context, args: list[str]) -> int:
    """Entry point of `sim`; its subcommands and their arguments are those its table entry declares."""
    assert ctx.command is not None
    if not args or args[0] in ("-h", "--help", "help"):
        return _help(ctx)
    sub, rest = ctx.command.subcommand(args[0]), args[1:]
    if sub is None:
        names = ", ".join(s.name for s in ctx.command.subcommands)
        raise UsageError(f"unknown subcommand {args[0]!r}; one of {names}")
    if rest and rest[0] in ("-h", "--help"):
        return _help(ctx)
    sub.check(rest)
    if sub.name == "advance":
        return advance(ctx, rest[0])
    if sub.name == "verify":
        return verify(ctx, rest[0] if rest else None)
    if sub.name == "backups":
        if rest not in ([], ["--json"]):
            raise UsageError(f"backups takes no argument but --json, not {rest[0]!r}")
        return backups(ctx, json_out=bool(rest))
    return {"clock": show_clock, "reset": reset}[sub.name](ctx)


def _help(ctx: Context) -> int:
    """`sim --help`: a usage line per subcommand, as the table declares them, then what `sim` is."""
    assert ctx.command is not None
    for line in described(subcommand_rows(ctx.command, "sim "), indent="       ", first="usage: "):
        ctx.out(line)
    ctx.stdout.write(ABOUT)
    return 0


def timeline_line(record: BackupRecord) -> str:
    """'2026-03-04 Wed 01:00  incr   0.4 MiB  base 202603030100' (V1 backups end in '  V1')."""
    line = f"{clock.format_time(record.created)}  {record.kind:<4}  {human_bytes(record.size):>9}"
    if record.base:
        line += f"  base {record.base}"
    if record.format == "v1":
        line += "  V1"
    return line


def damaged_line(damaged: DamagedBackup) -> str:
    """'2026-03-01 Sun 01:00  DAMAGED  <file>: <what is wrong>' (the time its name gives)."""
    try:
        when = clock.format_time(datetime.strptime(damaged.label, "%Y%m%d%H%M").replace(tzinfo=UTC))
    except ValueError:
        when = f"{damaged.label:<20}"
    return f"{when}  DAMAGED  {damaged.problem}"


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
    """`sim advance DURATION`: one line per day's activity and per backup, in time order.

    A cancel stops it between two events: the clock stays at the last one done (a backup's work stops at
    its next step, and the clock stays before it), so that the instance is as a shorter advance leaves it.
    """
    from alation_shell.backup.run import run_backup
    from alation_shell.node.activity import simulate_day

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
        ctx.cancel.check()
        if kind == 0:
            day = (when - timedelta(days=1)).date()
            summary = simulate_day(instance, day)
            # Only now: if the activity was refused (a backup or restore running), the next advance runs it.
            clock.advance_to(instance, when)
            ctx.out(f"{clock.format_time(when)}  activity of {day:%a %Y-%m-%d}: {summary}")
        else:
            outcome = run_backup(instance, ctx.registry, when, trigger="scheduled backup", progress=ctx.progress)
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
    """`sim backups [--json]`: the cycle drawn as a timeline, oldest first (training/timeline.py), damaged
    files shown where their names put them."""
    from alation_shell.backup.records import scan_backups
    from alation_shell.training import timeline

    scan = scan_backups(ctx.instance)
    if json_out:
        ctx.out(timeline.as_json(ctx.instance, scan.records))
        return 0
    if not scan.records and not scan.damaged:
        ctx.err("no backups in /data2/backup (`alation_action backup_all` or `sim advance 1d` takes one)")
        return 0
    damaged = sorted(((d.label, damaged_line(d)) for d in scan.damaged), key=lambda row: row[0])
    for line in timeline.draw(scan.records, colour=ctx.terminal.colour and ctx.interactive, among=damaged):
        ctx.out(line)
    return 0


def verify(ctx: Context, path: str | None) -> int:
    """`sim verify [FILE]`: exit 1 if any backup checked is damaged (or, with no FILE, any file in
    /data2/backup named like a backup is not one)."""
    from alation_shell.backup import find_backup, verify_backup
    from alation_shell.backup.records import DamagedBackup, scan_backups

    instance = ctx.instance
    damaged_files = []
    if path is None:
        scan = scan_backups(instance)
        records, damaged_files = scan.records, scan.damaged
        if not records and not damaged_files:
            ctx.err("no backups in /data2/backup to verify")
            return 0
    else:
        records = [find_backup(instance, instance.resolve(path, ctx.session.cwd).real)]
    damaged = len(damaged_files)
    items: list[BackupRecord | DamagedBackup] = [*records, *damaged_files]
    for item in sorted(items, key=lambda item: item.label):
        if isinstance(item, DamagedBackup):  # found by the scan: nothing more to read
            ctx.out(f"DAMAGED  {item.label}  {item.problem}")
            continue
        names = ", ".join(p.name for p in item.files)
        problems = verify_backup(instance, item, progress=ctx.progress)
        if problems:
            damaged += 1
            ctx.out(f"DAMAGED  {item.label} {item.kind}  {names}")
            for problem in problems:
                ctx.out(f"         {problem}")
        else:
            ctx.out(f"OK       {item.label} {item.kind}  {names}")
    if damaged:
        ctx.err(f"sim: {damaged} of {len(items)} backups damaged")
        return 1
    return 0


def reset(ctx: Context) -> int:
    """`sim reset`: remove every backup, reset the clock and the cycle (after YES)."""
    from alation_shell import backup
    from alation_shell.backup import ledger
    from alation_shell.backup.records import scan_backups
    from alation_shell.backup.run import BackupLog
    from alation_shell.commands.actions import ask_yes

    ask_yes(ctx, "this removes every backup in /data2/backup and puts the virtual clock back to "
            f"{clock.format_time(clock.START)} UTC.")
    instance = ctx.instance
    with backup.BackupLock(instance, "reset"):
        # A new ledger first (even if the old one is damaged): labels start again from the clock, which
        # starts again too.
        ledger.reset(instance)
        scan = scan_backups(instance)
        records = scan.records
        for record in reversed(records):  # incrementals go before the full they need
            backup.delete_backup(instance, record)
        damaged = backup.delete_damaged(instance, scan.damaged)
        partials = backup.clean_partials(instance)
        cycle.reset(instance)
        clock.reset(instance)
        parts = [_count(len(records), "backup")]
        parts += [_count(damaged, "damaged file")] if damaged else []
        parts += [_count(len(partials), "partial file")] if partials else []
        removed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
        BackupLog(instance)(f"sim reset: removed {removed}; virtual clock back to the start")
    ctx.out(f"removed {removed}")
    ctx.out(f"virtual time is now {clock.format_time(clock.now(instance))} UTC")
    return 0


def _count(n: int, noun: str) -> str:
    """`1 backup`, `2 backups`."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
