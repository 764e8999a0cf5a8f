"""Emulated supervisord state: program groups and the restarts that configuration changes are waiting for.

Programs are named as supervisorctl names them (`group:program`, or just `program` when it is a group of
its own, like `lineage`). Their state lives in `var/services.json`; an instance that never touched its
services has every program RUNNING since the instance was created. Uptime is real time.
"""

from __future__ import annotations

import time

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.storage import locked, read_json, write_json

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
        return time.strftime("%b %d %I:%M %p", time.localtime(self.stop))

    def as_json(self) -> dict:
        return {"state": self.state, "pid": self.pid, "start": self.start, "stop": self.stop}


def _state_file(instance: Instance):  # noqa: ANN202 - a Path
    return instance.var / "services.json"


def _read_state(instance: Instance) -> dict:
    """The services state; on first use every program RUNNING since the instance was created."""
    data = read_json(_state_file(instance), None)
    if isinstance(data, dict) and isinstance(data.get("programs"), dict):
        return data
    try:
        boot = instance.meta_file.stat().st_mtime
    except FileNotFoundError:
        boot = time.time()
    programs = {
        name: {"state": RUNNING, "pid": FIRST_PID + 7 * i, "start": boot, "stop": None}
        for i, name in enumerate(PROGRAMS)
    }
    return {"supervisord_pid": FIRST_PID - 1, "next_pid": FIRST_PID + 7 * len(PROGRAMS), "programs": programs}


def _programs_of(data: dict) -> dict[str, Program]:
    found = {}
    for name in PROGRAMS:
        spec = data["programs"].get(name) or {"state": STOPPED, "pid": 0, "start": None, "stop": None}
        found[name] = Program(name, spec["state"], spec["pid"], spec["start"], spec["stop"])
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
    path = _state_file(instance)
    with locked(path.with_suffix(".lock")):
        data = _read_state(instance)
        found = _programs_of(data)
        now = time.time()
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
        write_json(path, data)
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
    path = _state_file(instance)
    with locked(path.with_suffix(".lock")):
        data = _read_state(instance)
        data["supervisord_pid"] = data["next_pid"]
        data["next_pid"] += 7
        write_json(path, data)


def covered_kinds(started: list[str]) -> list[str]:
    """The pending-restart kinds that the programs just (re)started take care of: they read the new values."""
    restarted = set(started)
    return [kind for kind, needs in RESTART_COVERS.items() if restarted.issuperset(needs)]


# Pending restarts ------------------------------------------------------------------------------
def _pending_file(instance: Instance):  # noqa: ANN202
    return instance.var / "pending_restarts.json"


def pending_restarts(instance: Instance) -> dict[str, list[str]]:
    """Restart kind (`alation`, `supervisord`, `lineage`, ...) -> parameters waiting for it."""
    data = read_json(_pending_file(instance), {})
    return data if isinstance(data, dict) else {}


def add_pending_restart(instance: Instance, restart: str, parameters: list[str]) -> None:
    """Remember that `parameters` take effect only after `restart`."""
    path = _pending_file(instance)
    with locked(path.with_suffix(".lock")):
        data = pending_restarts(instance)
        names = data.setdefault(restart, [])
        names.extend(p for p in parameters if p not in names)
        write_json(path, data)


def clear_pending_restarts(instance: Instance, restarts: list[str]) -> dict[str, list[str]]:
    """Forget the pending restarts of the given kinds; returns what was cleared."""
    path = _pending_file(instance)
    with locked(path.with_suffix(".lock")):
        data = pending_restarts(instance)
        cleared = {kind: data.pop(kind) for kind in restarts if kind in data}
        if cleared:
            write_json(path, data)
        return cleared
