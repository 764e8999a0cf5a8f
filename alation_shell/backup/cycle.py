"""Where the next backup falls in the incremental cycle."""

from __future__ import annotations

from alation_shell.instance import Instance
from alation_shell.storage import write_json


def start_new_cycle(instance: Instance) -> None:
    """Make the next backup a full one (setting an incremental parameter starts a new cycle)."""
    write_json(instance.var / "backup_cycle.json", {"new_cycle": True})
