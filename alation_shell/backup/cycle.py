"""Where the next backup falls in the incremental cycle (SPEC §6, seed 000).

With `alation.backup_v2.incr_backup = True` and `incr_backup_versions = N`, a cycle is one full backup and
then N incrementals, each based on the cycle's full (never on the previous incremental), then a new full.
The position in the cycle is derived from the backups in /data2/backup that this instance wrote (its
ledger, ledger.py, says which, and in what order they were taken); the only state kept
(`var/backup_cycle.json`) is the mark "a new cycle starts", set when an incremental setting changes and
cleared by the next full backup.
"""

from __future__ import annotations

import time

from alation_shell.instance import VAR_BACKUP_CYCLE, Instance
from alation_shell.storage import StateFile, locked, whole

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.records import BackupRecord
    from alation_shell.config.registry import Registry

INCR_BACKUP = "alation.backup_v2.incr_backup"
INCR_VERSIONS = "alation.backup_v2.incr_backup_versions"
USE_V2 = "alation.backup.use_backup_v2"


def _state_file(instance: Instance) -> StateFile:
    return StateFile.under_var(
        instance, VAR_BACKUP_CYCLE,
        "remove it (the next backup then takes its place in the cycle of the backups in /data2/backup), "
        "or set alation.backup_v2.incr_backup again to start a new cycle",
    )


def _new_cycle_mark(instance: Instance) -> int | None:
    file = _state_file(instance)
    state = file.read()
    if state is None:
        return None
    return file.field(state, "new_cycle", whole(0, 1 << 63), "a whole number", required=False)


def start_new_cycle(instance: Instance) -> None:
    """Make the next backup a full one (setting an incremental parameter starts a new cycle)."""
    file = _state_file(instance)
    with locked(file.path.with_suffix(".lock")):
        # A fresh mark each time: a full planned before this change must not clear it when it completes.
        file.write({"new_cycle": time.time_ns()})


def reset(instance: Instance) -> None:
    """Forget the cycle state (`sim reset`)."""
    path = _state_file(instance).path
    with locked(path.with_suffix(".lock")):
        path.unlink(missing_ok=True)


class BackupCycle:
    """The next backup's place in the cycle: its kind, the full it builds on, its format, and why."""

    __slots__ = ("kind", "base", "fmt", "reason", "versions", "taken", "mark")

    def __init__(
        self,
        kind: str,
        base: BackupRecord | None,
        fmt: str,
        reason: str,
        *,
        versions: int = 0,
        taken: int = 0,
        mark: int | None = None,
    ) -> None:
        self.kind = kind  # "full" or "incr"
        self.base = base  # the full an incremental builds on
        self.fmt = fmt  # "v2" or "v1"
        self.reason = reason
        self.versions = versions  # incrementals per cycle (0 when the cycle has none)
        self.taken = taken  # incrementals already taken on `base`
        self.mark = mark  # the new-cycle mark this plan saw

    @classmethod
    def plan(
        cls, instance: Instance, registry: Registry, records: list[BackupRecord] | None = None
    ) -> BackupCycle:
        """Decide the next backup from the settings and the backups on disk (`records`, oldest first).

        Only backups this instance wrote count, in the order they were taken (ledger.py): an incremental is
        never based on a full copied in from elsewhere."""
        mark = _new_cycle_mark(instance)
        if not registry.get(USE_V2):
            return cls("full", None, "v1", "Backup V1 takes full backups only", mark=mark)
        if not registry.get(INCR_BACKUP):
            return cls("full", None, "v2", "incremental backups are off", mark=mark)
        versions = int(registry.get(INCR_VERSIONS))
        if versions == 0:
            return cls("full", None, "v2", "incr_backup_versions is 0: every backup is full", mark=mark)
        if mark is not None:
            return cls("full", None, "v2", "a new cycle starts (incremental settings changed)",
                       versions=versions, mark=mark)
        if records is None:
            from alation_shell.backup.records import list_backups

            records = list_backups(instance)
        from alation_shell.backup.ledger import own_backups

        records = own_backups(instance, records)
        fulls = [r for r in records if r.format == "v2" and r.kind == "full"]
        if not fulls:
            return cls("full", None, "v2", "no full backup to build on yet", versions=versions)
        last_full = fulls[-1]
        if not quick_check(last_full):
            return cls("full", None, "v2", f"the last full backup {last_full.label} is missing or damaged",
                       versions=versions)
        taken = sum(1 for r in records if r.kind == "incr" and r.base == last_full.label)
        if taken >= versions:
            return cls("full", None, "v2", f"the cycle of {versions} incrementals is complete",
                       versions=versions, taken=taken)
        return cls("incr", last_full, "v2", f"incremental {taken + 1} of {versions} on full {last_full.label}",
                   versions=versions, taken=taken)

    def __iter__(self):  # noqa: ANN204 - lets `kind, base, fmt = next_backup(...)` unpack
        return iter((self.kind, self.base, self.fmt))

    def __repr__(self) -> str:
        return f"BackupCycle({self.kind!r}, base={self.base.label if self.base else None!r}, {self.fmt!r})"


def next_backup(instance: Instance, registry: Registry) -> BackupCycle:
    """The next backup's (kind, base record or None, format); unpacks as a tuple, also carries the reason."""
    return BackupCycle.plan(instance, registry)


def quick_check(record: BackupRecord) -> bool:
    """A cheap test that a full can still serve as a base: each tarball is there and starts with the manifest
    of this full (only the first member is read; `sim verify` reads everything)."""
    from alation_shell.backup.records import read_manifest
    from alation_shell.errors import ShellError

    try:
        for i, path in enumerate(record.files):
            manifest = read_manifest(path)
            if (manifest.kind, manifest.label) != ("full", record.label) or (
                record.checksums and manifest.checksum != record.checksums[i]
            ):
                return False
    except (OSError, ShellError):
        return False
    return bool(record.files)


def backup_taken(instance: Instance, plan: BackupCycle, record: BackupRecord) -> None:
    """After a successful backup: a full ends the "new cycle" mark it was planned under."""
    if record.kind != "full" or plan.mark is None:
        return
    path = _state_file(instance).path
    with locked(path.with_suffix(".lock")):
        if _new_cycle_mark(instance) == plan.mark:
            path.unlink(missing_ok=True)
