"""`help`, `history`, `clear` and `exit`."""

from __future__ import annotations

from alation_shell.commands import COMMANDS, visible
from alation_shell.commands.base import Context, whole_number
from alation_shell.errors import UnknownCommand, UsageError

ADDITION = "  [emulator addition]"


def help_(ctx: Context, args: list[str]) -> int:
    """List the commands, or show one command's usage."""
    if len(args) > 1:
        raise UsageError("help takes at most one COMMAND")
    if args:
        command = COMMANDS.get(args[0])
        if command is None:
            raise UnknownCommand(f"no command {args[0]!r} (`help` lists the commands)", exit_code=1)
        ctx.out(f"{command.name}: {command.summary}{ADDITION if command.addition else ''}")
        ctx.out(f"usage: {command.usage}")
        return 0
    ctx.out("Commands of the Alation shell (`help COMMAND` or `COMMAND --help` for more):")
    for command in visible():
        mark = ADDITION if command.addition else ""
        ctx.out(f"  {command.name:<19} {command.summary}{mark}")
    return 0


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
    if ctx.interactive:
        ctx.stdout.write("\x1b[H\x1b[2J")
    return 0


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
