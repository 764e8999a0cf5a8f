"""`alation_supervisor` (supervisorctl over the emulated program groups), `sudo`, and the init scripts
`/etc/init.d/supervisord` and `/etc/init.d/alation` (also as `service NAME VERB`).
"""

from __future__ import annotations

from alation_shell.commands.base import Context
from alation_shell.errors import ShellError, UsageError
from alation_shell.node import supervisord as services

HELP = """\
usage: alation_supervisor status [GROUP ...]
       alation_supervisor start|stop|restart GROUP ...

GROUP is `all`, a group (`web:*`, `celery:*`, `lineage`) or one program (`web:uwsgi`, `celery:search`).
A restart applies the configuration changes waiting for it (`alation_supervisor status` lists them).
`status` exits 3 when a program is not running, as supervisorctl does.
"""
NOT_RUNNING = 3  # supervisorctl's (LSB) status when a program is not running
NO_PRIVILEGE = 4  # LSB init scripts: "user had insufficient privilege"
USERS = ("root", "alation", "alationadmin")
OK_COLUMN = 60  # RHEL init scripts print `[  OK  ]` from this (1-based) column


def run(ctx: Context, args: list[str]) -> int:
    """`alation_supervisor VERB [GROUP ...]`."""
    if not args:
        raise UsageError("a command is needed: status, start, stop or restart")
    verb, names = args[0], args[1:]
    if verb in ("-h", "--help", "help"):
        ctx.stdout.write(HELP)
        return 0
    if verb not in services.VERBS:
        raise UsageError(f"unknown command {verb!r}: status, start, stop or restart")
    if verb == "status":
        return _status(ctx, names)
    if not names:
        raise UsageError(f"{verb} requires a process name (a GROUP, or `all`)")
    results = getattr(services, verb)(ctx.instance, names)
    for name, outcome in results:
        ctx.out(f"{name}: {outcome}")
    report_applied(ctx, services.covered_kinds([name for name, outcome in results if outcome == "started"]))
    return 1 if any(outcome.startswith("ERROR") for _, outcome in results) else 0


def _status(ctx: Context, names: list[str]) -> int:
    chosen = services.select(names) if names else None
    shown = [p for p in services.programs(ctx.instance) if chosen is None or p.name in chosen]
    width = max(30, *(len(p.name) for p in shown)) + 3
    from alation_shell.node import clock

    now = clock.timestamp(ctx.instance)  # uptimes on the virtual clock, as `date` shows it
    for program in shown:
        ctx.out(f"{program.name:<{width}}{program.state:<10}{program.describe(now)}")
    restarts = ctx.registry.catalog.restarts
    for kind, parameters in services.pending_restarts(ctx.instance).items():
        hint = restarts.get(kind, {}).get("hint", kind)
        ctx.err(f"pending: {', '.join(parameters)} needs {hint}")
    return 0 if all(p.running for p in shown) else NOT_RUNNING


def report_applied(ctx: Context, kinds: list[str]) -> None:
    """Clear the pending restarts of `kinds` and say which parameters are now in effect."""
    for parameters in services.clear_pending_restarts(ctx.instance, kinds).values():
        ctx.err(f"note: now in effect: {', '.join(parameters)}")


# sudo and init scripts --------------------------------------------------------------------------
def sudo(ctx: Context, args: list[str]) -> int:
    """`sudo COMMAND ...`: init scripts and `su` as root; any other command as itself."""
    if not args:
        raise UsageError("a COMMAND is needed")
    command, rest = args[0], args[1:]
    if command.startswith("-"):
        raise UsageError(f"option {command!r} is not emulated; give the COMMAND directly")
    if command == "su":
        return _su(ctx, rest)
    if command == "service":
        if not rest:
            raise UsageError("service needs a NAME and a COMMAND (e.g. sudo service supervisord restart)")
        return _init_script(ctx, rest[0], rest[1:], f"service {rest[0]}", as_root=True)
    if command.startswith("/etc/init.d/"):
        return _init_script(ctx, command.rsplit("/", 1)[1], rest, command, as_root=True)
    ctx.as_root = True
    return ctx.session.dispatch(ctx, args)


def supervisord(ctx: Context, args: list[str]) -> int:
    """`/etc/init.d/supervisord VERB` typed without sudo."""
    return _init_script(ctx, "supervisord", args, "/etc/init.d/supervisord", as_root=_is_root(ctx))


def alation(ctx: Context, args: list[str]) -> int:
    """`/etc/init.d/alation VERB` typed without sudo."""
    return _init_script(ctx, "alation", args, "/etc/init.d/alation", as_root=_is_root(ctx))


def service(ctx: Context, args: list[str]) -> int:
    """`service NAME VERB` typed without sudo."""
    if not args:
        raise UsageError("a NAME and a COMMAND are needed (e.g. sudo service supervisord restart)")
    return _init_script(ctx, args[0], args[1:], f"service {args[0]}", as_root=_is_root(ctx))


def _is_root(ctx: Context) -> bool:
    return ctx.as_root


def _init_script(ctx: Context, name: str, args: list[str], shown: str, *, as_root: bool) -> int:
    """Run the init script `name` (`shown` is how the operator typed it, for messages)."""
    verb = args[0] if len(args) == 1 else ""
    if name == "alation":
        if verb == "shell":
            ctx.err("you are already in the Alation shell (`exit` leaves it)")
            return 0
        ctx.err(f"{shown}: manages the Alation chroot from the host: `exit` the Alation shell first")
        return 1
    if name != "supervisord":
        ctx.err(f"{shown}: unrecognized service")
        return 1
    if verb == "status":
        ctx.out(f"supervisord (pid  {services.supervisord_pid(ctx.instance)}) is running...")
        return 0
    if verb != "restart":
        raise ShellError(f"usage: {shown} {{restart|status}}", exit_code=2)
    if not as_root:
        ctx.err(f"{shown}: Permission denied: restarting supervisord needs root: `sudo {shown} restart`")
        return NO_PRIVILEGE
    return _restart_supervisord(ctx)


def _restart_supervisord(ctx: Context) -> int:
    from alation_shell.backup import schedule

    ctx.out(f"{'Stopping supervisord: ':<{OK_COLUMN - 1}}[  OK  ]")
    services.restart_supervisord(ctx.instance)
    ctx.out(f"{'Starting supervisord: ':<{OK_COLUMN - 1}}[  OK  ]")
    # supervisord re-reads its configuration: the backup schedule and every restarted program's settings.
    schedule.record_in_effect(ctx.instance, ctx.registry)
    pending = services.pending_restarts(ctx.instance)
    report_applied(ctx, [kind for kind in pending if kind != "deploy"])
    if "supervisord" in pending:
        ctx.err(f"note: backups now run at {schedule.configured(ctx.registry).describe()}")
    if "deploy" in pending:
        hint = ctx.registry.catalog.restart_hint("deploy")
        ctx.err(f"note: still pending: {', '.join(pending['deploy'])} needs {hint}")
    return 0


def su(ctx: Context, args: list[str]) -> int:
    """`su [-] [USER] [-c COMMAND]` typed without sudo: root switches at once; anyone else would be asked a
    password, and the emulator knows none."""
    if not ctx.as_root:
        raise ShellError("Authentication failure (the emulator knows no passwords: use `sudo su - USER`)")
    return _su(ctx, args)


def _su(ctx: Context, args: list[str]) -> int:
    """`sudo su [-] [USER] [-c COMMAND]`: become USER (root by default) in a shell of its own, which `exit`
    leaves for the one before; `-` also goes to USER's home. With `-c`, run COMMAND as USER and come back, as
    scripts do (`su - alation -c "alation_conf ..."`)."""
    login = False
    users = []
    command: str | None = None
    rest = iter(args)
    for arg in rest:
        if arg in ("-", "-l", "--login"):
            login = True
        elif arg in ("-c", "--command") or arg.startswith("--command="):
            command = arg.partition("=")[2] if "=" in arg else next(rest, None)
            if command is None:
                raise UsageError("option requires an argument -- 'c'")
        elif arg.startswith("-"):
            raise UsageError(f"su option {arg!r} is not emulated")
        else:
            users.append(arg)
    if len(users) > 1:
        raise UsageError("su takes one USER")
    user = users[0] if users else "root"
    if user not in USERS:
        ctx.err(f"su: user {user} does not exist")
        return 1
    session = ctx.session
    before = (session.user, session.cwd, len(session.su_stack))
    if command is None:
        session.su_stack.append((session.user, session.cwd))  # `exit` goes back there
    session.user = user
    if login:
        home = "/root" if user == "root" else f"/home/{user}"
        ctx.instance.resolve(home).real.mkdir(parents=True, exist_ok=True)  # the account's home exists
        session.cwd = home
    if command is None:
        return 0
    from alation_shell.pipeline import run_string

    try:
        return run_string(ctx, command)
    finally:
        session.user, session.cwd = before[0], before[1]
        del session.su_stack[before[2]:]
