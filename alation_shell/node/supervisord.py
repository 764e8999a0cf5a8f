"""Emulated supervisord state: program groups and the restarts that configuration changes are waiting for.

Programs are named as supervisorctl names them (`group:program`, or just `program` when it is a group of
its own, like `lineage`). Their state lives in `var/services.json`; an instance that never touched its
services has every program RUNNING since the virtual clock started. Times are on the virtual clock.
"""

from __future__ import annotations

import time

from alation_shell.errors import ShellError
from alation_shell.instance import VAR_PENDING_RESTARTS, VAR_SERVICES, Instance
from alation_shell.storage import StateFile, locked, whole

VERBS = ("status", "start", "stop", "restart")

CELERY_QUEUES = (
    "alationanalytics", "beat", "cognates", "default", "fastqueue", "ingestion", "metrics", "parsing",
    "scheduling", "search", "stewardship",
)
PROGRAMS = tuple(sorted((
    "web:uwsgi",
    *(f"celery:{queue}" for queue in CELERY_QUEUES),
    "lineage",
    "backup_scheduler",
    "eventbus",
    "search_es",
)))
# What the completer offers after `alation_supervisor VERB`.
GROUPS = ("all", "web:*", "celery:*", *PROGRAMS)

# The programs `alation_action restart_alation` restarts: the application, not its infrastructure.
APP_GROUPS = ("web:*", "celery:*", "lineage")
# A pending restart of a kind is cleared once every one of these programs has been restarted.
# `supervisord` (the backup schedule) and `deploy` are cleared only by their own commands.
RESTART_COVERS = {
    "web": ("web:uwsgi",),
    "lineage": ("lineage",),
    "alation": tuple(p for p in PROGRAMS if p.split(":")[0] in ("web", "celery", "lineage")),
}

RUNNING = "RUNNING"
STOPPED = "STOPPED"
FIRST_PID = 1200


class NoSuchProcess(ShellError):
    """A name supervisorctl does not know, worded as supervisorctl words it."""


class Program:
    """One supervisord program and its state."""

    __slots__ = ("name", "state", "pid", "start", "stop")

    def __init__(self, name: str, state: str, pid: int, start: float | None, stop: float | None) -> None:
        self.name = name
        self.state = state
        self.pid = pid
        self.start = start
        self.stop = stop

    @property
    def group(self) -> str:
        return self.name.split(":")[0]

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def describe(self, now: float) -> str:
        """supervisorctl's description column: `pid 1234, uptime 0:01:02`, a stop time, or `Not started`."""
        if self.running:
            import datetime

            uptime = datetime.timedelta(seconds=max(int(now - (self.start or now)), 0))
            return f"pid {self.pid}, uptime {uptime}"
        if self.stop is None:
            return "Not started"
        return time.strftime("%b %d %I:%M %p", time.gmtime(self.stop))  # virtual times, on the server's UTC

    def as_json(self) -> dict:
        return {"state": self.state, "pid": self.pid, "start": self.start, "stop": self.stop}


def _state_file(instance: Instance) -> StateFile:
    return StateFile.under_var(instance, VAR_SERVICES, "remove it to have every program RUNNING again")


def _read_state(instance: Instance) -> dict:
    """The services state; on first use every program RUNNING since the instance was created."""
    file = _state_file(instance)
    data = file.read()
    if data is not None:
        _check_state(file, data)
        return data
    from alation_shell.node.clock import START

    boot = START.timestamp()  # the server came up when the virtual clock starts
    programs = {
        name: {"state": RUNNING, "pid": FIRST_PID + 7 * i, "start": boot, "stop": None}
        for i, name in enumerate(PROGRAMS)
    }
    return {"supervisord_pid": FIRST_PID - 1, "next_pid": FIRST_PID + 7 * len(PROGRAMS), "programs": programs}


def _check_state(file: StateFile, data: dict) -> None:
    pid = whole(1, (1 << 31) - 1)
    file.field(data, "supervisord_pid", pid, "a process id")
    file.field(data, "next_pid", pid, "a process id")
    file.field(data, "programs", lambda v: isinstance(v, dict), "an object")
    for name in PROGRAMS:
        spec = data["programs"].get(name)
        if spec is None:
            continue
        if not (isinstance(spec, dict) and spec.get("state") in (RUNNING, STOPPED) and whole(0, (1 << 31) - 1)(
                spec.get("pid")) and _is_time(spec.get("start", 0)) and _is_time(spec.get("stop", 0))):
            raise file.damaged(f"program {name!r} is not an object with a state (RUNNING or STOPPED), a pid, "
                               "and start and stop times")


def _virtual_now(instance: Instance) -> float:
    """Seconds since 1970 on the virtual clock: start and stop times are on the timeline `date` shows."""
    from alation_shell.node import clock

    return clock.timestamp(instance)


def _is_time(value: object) -> bool:
    """None, or seconds since 1970 that the standard time functions can show."""
    return value is None or (type(value) in (int, float) and 0 <= value < 1e11)  # NaN fails both tests


def _programs_of(data: dict) -> dict[str, Program]:
    found = {}
    for name in PROGRAMS:
        spec = data["programs"].get(name) or {"state": STOPPED, "pid": 0, "start": None, "stop": None}
        found[name] = Program(name, spec["state"], spec["pid"], spec.get("start"), spec.get("stop"))
    return found


def programs(instance: Instance) -> list[Program]:
    """Every program, sorted by name as supervisorctl sorts them."""
    return list(_programs_of(_read_state(instance)).values())


def supervisord_pid(instance: Instance) -> int:
    """The pid of the emulated supervisord itself (a new one after each supervisord restart)."""
    return int(_read_state(instance)["supervisord_pid"])


def select(specs: list[str]) -> dict[str, bool]:
    """Program names for `all`, `group`, `group:*` or `group:program`, each with whether it was named
    explicitly (supervisorctl reports `already started` / `not running` only for those).

    NoSuchProcess for the first name that matches nothing, so a command does nothing if any name is wrong.
    """
    chosen: dict[str, bool] = {}
    for spec in specs:
        if spec == "all":
            for name in PROGRAMS:
                chosen.setdefault(name, False)
            continue
        group, _, program = spec.partition(":")
        if program in ("", "*"):
            members = [name for name in PROGRAMS if name.split(":")[0] == group]
            if not members:
                raise NoSuchProcess(f"{group}: ERROR (no such group)")
            for name in members:
                chosen.setdefault(name, False)
            continue
        name = program if program == group and program in PROGRAMS else spec
        if name not in PROGRAMS:
            raise NoSuchProcess(f"{spec}: ERROR (no such process)")
        chosen[name] = True
    return {name: chosen[name] for name in PROGRAMS if name in chosen}


def _change(instance: Instance, specs: list[str], *, stop: bool, start: bool) -> list[tuple[str, str]]:
    """Stop and/or start the selected programs; supervisorctl's result per program, in its order."""
    chosen = select(specs)
    results: list[tuple[str, str]] = []
    file = _state_file(instance)
    with locked(file.path.with_suffix(".lock")):
        data = _read_state(instance)
        found = _programs_of(data)
        now = _virtual_now(instance)
        if stop:
            for name, explicit in chosen.items():
                program = found[name]
                if program.running:
                    program.state, program.stop = STOPPED, now
                    results.append((name, "stopped"))
                elif explicit:
                    results.append((name, "ERROR (not running)"))
        if start:
            for name, explicit in chosen.items():
                program = found[name]
                if not program.running:
                    program.state, program.start, program.pid = RUNNING, now, data["next_pid"]
                    data["next_pid"] += 7  # each start forks a few helpers: pids are not consecutive
                    results.append((name, "started"))
                elif explicit:
                    results.append((name, "ERROR (already started)"))
        data["programs"] = {name: program.as_json() for name, program in found.items()}
        file.write(data)
    return results


def start(instance: Instance, specs: list[str]) -> list[tuple[str, str]]:
    """Start the selected programs that are not running."""
    return _change(instance, specs, stop=False, start=True)


def stop(instance: Instance, specs: list[str]) -> list[tuple[str, str]]:
    """Stop the selected programs that are running."""
    return _change(instance, specs, stop=True, start=False)


def restart(instance: Instance, specs: list[str]) -> list[tuple[str, str]]:
    """Stop, then start, the selected programs (as supervisorctl: every stop result, then every start)."""
    return _change(instance, specs, stop=True, start=True)


def restart_supervisord(instance: Instance) -> None:
    """supervisord itself restarts: a new supervisord pid, and every program stopped and started again."""
    restart(instance, ["all"])
    file = _state_file(instance)
    with locked(file.path.with_suffix(".lock")):
        data = _read_state(instance)
        data["supervisord_pid"] = data["next_pid"]
        data["next_pid"] += 7
        file.write(data)


def covered_kinds(started: list[str]) -> list[str]:
    """The pending-restart kinds that the programs just (re)started take care of: they read the new values."""
    restarted = set(started)
    return [kind for kind, needs in RESTART_COVERS.items() if restarted.issuperset(needs)]


# Pending restarts ------------------------------------------------------------------------------
def _pending_file(instance: Instance) -> StateFile:
    return StateFile.under_var(
        instance, VAR_PENDING_RESTARTS,
        "remove it to forget the pending restarts (the changed values stay set in alation_conf)",
    )


def pending_restarts(instance: Instance) -> dict[str, list[str]]:
    """Restart kind (`alation`, `supervisord`, `lineage`, ...) -> parameters waiting for it."""
    file = _pending_file(instance)
    data = file.read()
    if data is None:
        return {}
    for kind, names in data.items():
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise file.damaged(f"the restart {kind!r} does not list parameter names")
    return data


def add_pending_restart(instance: Instance, restart: str, parameters: list[str]) -> None:
    """Remember that `parameters` take effect only after `restart`."""
    file = _pending_file(instance)
    with locked(file.path.with_suffix(".lock")):
        data = pending_restarts(instance)
        names = data.setdefault(restart, [])
        names.extend(p for p in parameters if p not in names)
        file.write(data)


def clear_pending_restarts(instance: Instance, restarts: list[str]) -> dict[str, list[str]]:
    """Forget the pending restarts of the given kinds; returns what was cleared."""
    file = _pending_file(instance)
    with locked(file.path.with_suffix(".lock")):
        data = pending_restarts(instance)
        cleared = {kind: data.pop(kind) for kind in restarts if kind in data}
        if cleared:
            file.write(data)
        return cleared
