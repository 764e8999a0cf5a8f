"""`help`, `history`, `clear` and `exit`."""

from __future__ import annotations

from alation_shell.commands import Command
from alation_shell.commands.base import Context
from alation_shell.errors import UnknownCommand, UsageError

ADDITION = "  [emulator addition]"


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
    for command in table.visible():
        mark = ADDITION if command.addition else ""
        ctx.out(f"  {command.name:<19} {command.summary}{mark}")
    return 0


def _describe(ctx: Context, command: Command) -> None:
    """`help COMMAND`: what it does, its usage, then its subcommands and flags as the table declares them."""
    ctx.out(f"{command.name}: {command.summary}{ADDITION if command.addition else ''}")
    ctx.out(f"usage: {command.usage}")
    if command.subcommands:
        ctx.out("subcommands:")
        for sub in command.subcommands:
            ctx.out(f"  {' '.join([sub.name, *(a.shown for a in sub.args)]):<22} {sub.about}")
    if command.flags:
        ctx.out("flags:")
        for flag in command.flags:
            ctx.out(f"  {flag.shown:<22} {flag.about}")


def history(ctx: Context, args: list[str]) -> int:
    """Print this session's commands, numbered, like bash's `history [N]`."""
    entries = ctx.session.history
    if len(args) > 1 or (args and not args[0].isdigit()):
        raise UsageError("history takes an optional COUNT")
    start = max(len(entries) - int(args[0]), 0) if args else 0
    for number, line in enumerate(entries[start:], start + 1):
        ctx.out(f"{number:5}  {line}")
    return 0


def clear(ctx: Context, args: list[str]) -> int:
    """Clear the screen: escape codes, where the session's terminal takes them."""
    if ctx.terminal.escapes:
        ctx.stdout.write("\x1b[H\x1b[2J")
    return 0


def exit_(ctx: Context, args: list[str]) -> int:
    """Leave the shell (or the shell `sudo su` started, for the one before it); `exit N` with status N."""
    if len(args) > 1 or (args and not args[0].lstrip("-").isdigit()):
        raise UsageError("exit takes an optional numeric STATUS")
    status = int(args[0]) & 0xFF if args else 0
    if ctx.session.su_stack:
        ctx.session.user, ctx.session.cwd = ctx.session.su_stack.pop()
        return status
    ctx.stop = True
    if args:
        ctx.session_status = status
    return 0
