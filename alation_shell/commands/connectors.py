"""The OCF connector tools as the docs show them from the Alation shell: `kratos --version` (the Connector
Manager's CLI) and `alation_ypireti` (the OCF wrapper, run as user `alation`: `--help`, `sync`).

The emulated server has a Connector Manager with no connector installed: a sync finds nothing to do and says
so, and is logged in /opt/alation/site/logs/ypireti.log with the virtual time. What the real tools print is
not documented (the docs show a screenshot); the texts here are the emulator's.
"""

from __future__ import annotations

from alation_shell.commands.base import Context
from alation_shell.errors import ShellError, UsageError

CONNECTOR_MANAGER_VERSION = "1.7.3"
YPIRETI_LOG = "/opt/alation/site/logs/ypireti.log"
KRATOS_HELP = """\
Kratos is the command line tool of Alation Connector Manager.

Usage:
  kratos [command]

Available Commands:
  connector   manage the connectors installed on the agent
  help        help about any command
  status      show the agent's status

Flags:
  -h, --help      help for kratos
  -v, --version   version for kratos

In this emulator only --version and --help answer: the emulated server's Connector Manager has no connector.
"""
YPIRETI_HELP = """\
usage: alation_ypireti [-h] {sync,list} ...

Ypireti: the Alation application's side of the Open Connector Framework (OCF).
Run it in the Alation shell as user alation (sudo su alation).

commands:
  sync        bring the connectors known to Alation in line with Alation Connector Manager
  list        list the OCF connectors installed

options:
  -h, --help  show this help message and exit
"""


def kratos(ctx: Context, args: list[str]) -> int:
    """`kratos --version`, `kratos --help`; connector management is not emulated."""
    if not args or args[0] in ("-h", "--help", "help"):
        ctx.stdout.write(KRATOS_HELP)
        return 0
    if args[0] in ("-v", "--version", "version"):
        ctx.out(f"kratos version {CONNECTOR_MANAGER_VERSION}")
        return 0
    raise ShellError(f"{args[0]}: the emulated Connector Manager has no connector to manage "
                     "(only --version and --help answer)")


def alation_ypireti(ctx: Context, args: list[str]) -> int:
    """`alation_ypireti --help | sync | list` as user alation."""
    if not args or args[0] in ("-h", "--help"):
        ctx.stdout.write(YPIRETI_HELP)
        return 0
    if ctx.session.user != "alation" or ctx.as_root:
        raise ShellError("must be run as user alation: `sudo su alation` first")
    command, rest = args[0], args[1:]
    if command not in ("sync", "list"):
        raise UsageError(f"invalid choice: '{command}' (choose from 'sync', 'list')")
    if rest:
        raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
    if command == "list":
        ctx.out("No OCF connectors are installed.")
        return 0
    return _sync(ctx)


def _sync(ctx: Context) -> int:
    from alation_shell.node import clock

    log = ctx.instance.real_path(YPIRETI_LOG)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        job = sum(1 for line in log.read_text(encoding="utf-8").splitlines() if "sync job" in line and "started"
                  in line) + 1
    except FileNotFoundError:
        job = 1
    stamp = clock.now(ctx.instance).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"sync job {job} started by {ctx.session.user}",
             f"sync job {job}: 0 connectors in Alation, 0 on Alation Connector Manager: nothing to change",
             f"sync job {job} finished"]
    with open(log, "a", encoding="utf-8") as f:  # whole lines in one write: concurrent syncs never interleave
        f.write("".join(f"{stamp}  {line}\n" for line in lines))
    ctx.out(f"Sync job {job}: syncing OCF connectors with Alation Connector Manager")
    ctx.out("No connectors are installed: nothing to sync.")
    ctx.out(f"Sync job {job} finished (logged in {YPIRETI_LOG}).")
    return 0
