"""Emulated supervisord state: program groups and the restarts that configuration changes are waiting for."""

from __future__ import annotations

from alation_shell.instance import Instance
from alation_shell.storage import locked, read_json, write_json


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
