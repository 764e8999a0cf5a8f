"""`help`, `history`, `clear` and `exit`."""

from __future__ import annotations

from collections.abc import Iterable

from alation_shell.commands import Command
from alation_shell.commands.base import Context, whole_number
from alation_shell.errors import UnknownCommand, UsageError

ADDITION = "  [emulator addition]"
HELP_WIDTH = 110


def help_(ctx: Context, args: list[str]) -> int:
    """List the commands, or show one command's usage."""
    if len(args) > 1:
        raise UsageError("help takes at most one COMMAND")
    table = ctx.session.table
    if args:
        command = table.get(args[0])
        if command is None:
            raise UnknownCommand(f"no command {args[0]!r} (`help` lists the commands)", exit_code=1)
        _describe(ctx, command)
        return 0
    ctx.out(f"{table.title} (`help COMMAND` or `COMMAND --help` for more):")
    commands = list(table.visible())
    width = max((len(command.name) for command in commands), default=0) + 2  # the longest name, two blanks
    for command in commands:
        mark = ADDITION if command.addition else ""
        ctx.out(f"  {command.name:<{width}}{command.summary}{mark}")
    return 0


def _describe(ctx: Context, command: Command) -> None:
    """`help COMMAND`: what it does, its usage, then its subcommands and flags as the table declares them."""
    ctx.out(f"{command.name}: {command.summary}{ADDITION if command.addition else ''}")
    ctx.out(f"usage: {command.usage}")
    if command.subcommands:
        ctx.out("subcommands:")
        for line in described(subcommand_rows(command)):
            ctx.out(line)
    if command.flags:
        ctx.out("flags:")
        for line in described((flag.shown, flag.about) for flag in command.flags):
            ctx.out(line)


def subcommand_rows(command: Command, prefix: str = "") -> list[tuple[str, str]]:
    """(`advance DURATION`, what it does) for each subcommand the table declares (`prefix`: e.g. `sim `)."""
    return [(" ".join([prefix + sub.name, *(a.shown for a in sub.args)]), sub.about) for sub in command.subcommands]


def described(rows: Iterable[tuple[str, str]], indent: str = "  ", first: str | None = None) -> list[str]:
    """Help's `NAME   what it does` lines, the text wrapped in its column (`first`: the first line's indent)."""
    import textwrap

    lines = []
    for i, (name, about) in enumerate(rows):
        lead = f"{first if i == 0 and first is not None else indent}{name:<22} "
        wrapped = textwrap.wrap(about, HELP_WIDTH - len(lead)) or [""]
        lines.append(lead + wrapped[0])
        lines += [" " * len(lead) + more for more in wrapped[1:]]
    return lines


def history(ctx: Context, args: list[str]) -> int:
    """Print this session's commands, numbered, like bash's `history [N]`."""
    entries = ctx.session.history
    count = whole_number(args[0]) if args else len(entries)
    if len(args) > 1 or count is None:
        raise UsageError("history takes an optional COUNT (a whole number)")
    start = max(len(entries) - count, 0)
    for number, line in enumerate(entries[start:], start + 1):
        ctx.out(f"{number:5}  {line}")
    return 0


def clear(ctx: Context, args: list[str]) -> int:
    """Clear the screen: escape codes, where the session's terminal takes them."""
    if ctx.terminal.escapes:
        ctx.stdout.write("\x1b[H\x1b[2J")
    return 0


def true_(ctx: Context, args: list[str]) -> int:
    """`true` and `:`: do nothing, successfully (bash's builtins; `cmd || true` in scripts). Arguments ignored."""
    return 0


def false_(ctx: Context, args: list[str]) -> int:
    """`false`: do nothing, unsuccessfully (status 1). Arguments ignored."""
    return 1


def exit_(ctx: Context, args: list[str]) -> int:
    """Leave the shell (or the shell `sudo su` started, for the one before it); `exit N` with status N."""
    status: int | None = 0
    if args:
        sign = args[0][:1] if args[0][:1] in ("-", "+") else ""
        status = whole_number(args[0][len(sign):])
        if status is not None:
            status = (-status if sign == "-" else status) & 0xFF  # bash: `exit -1` is 255
    if len(args) > 1 or status is None:
        raise UsageError("exit takes an optional numeric STATUS")
    if ctx.session.su_stack:
        ctx.session.user, ctx.session.cwd = ctx.session.su_stack.pop()
        return status
    ctx.stop = True
    if args:
        ctx.session_status = status
    return 0
