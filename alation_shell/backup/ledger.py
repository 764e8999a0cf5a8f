"""The instance's ledger of its own backups (`var/backup_ledger.json`): what it wrote, and the last label.

Backups are named after the virtual minute they are taken in, but two taken in one minute, or a backup taken
after the clock was set back, must not share or reuse a name: the ledger keeps the last label this instance
gave (its high-water mark), and the next label is the later of the backup's own minute and the minute after
it. So labels strictly increase in the order backups are taken, and sorting this instance's backups by label
sorts them by when they were taken.

The ledger also says which backups in /data2/backup this instance wrote: each label it gave, with the
backup's random id and file names. Retention and the incremental cycle act on those only, never on a tarball
copied in to be restored (or left by a previous life of the instance), which they could not tell from the
name: a name is easily copied, the random id of a backup this instance wrote is not. The ledger lives in
var/, outside /data2/backup, for the same reason as the base index (records.py): nothing brought in with
the tarballs can claim to be this instance's.

Every change is made by the holder of the backup lock. `sim reset`, which removes every backup and puts
the clock back to its start, starts a new ledger: the next backup is named after the clock again.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alation_shell.backup.records import BackupError, BackupRecord, shown
from alation_shell.instance import VAR_BACKUP_LEDGER, Instance
from alation_shell.storage import write_json

FILE = VAR_BACKUP_LEDGER
LABEL_FORMAT = "%Y%m%d%H%M"
_LABEL = re.compile(r"\d{12}")


def _path(instance: Instance) -> Path:
    return instance.var / FILE


def read(instance: Instance) -> dict:
    """The ledger: {"last_label": str | None, "backups": {label: {"backup_id", "files"}}}; empty if none.

    A damaged ledger is reported (BackupError naming it), never silently replaced: it is what keeps
    retention away from tarballs this instance did not write.
    """
    path = _path(instance)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"last_label": None, "backups": {}}
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise BackupError(_damaged(instance, reason)) from None
    if not _valid(data):
        raise BackupError(_damaged(instance, "not a ledger of backups"))
    return data


def _valid(data: object) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("backups"), dict):
        return False
    last = data.get("last_label")
    if last is not None and not (isinstance(last, str) and _LABEL.fullmatch(last)):
        return False
    return all(
        isinstance(label, str) and _LABEL.fullmatch(label) and isinstance(entry, dict)
        and isinstance(entry.get("backup_id"), str)
        and isinstance(entry.get("files"), list) and all(isinstance(n, str) for n in entry["files"])
        for label, entry in data["backups"].items()
    )


def _damaged(instance: Instance, reason: str) -> str:
    where = shown(instance, _path(instance))
    return (f"{where} is damaged ({reason}); it was left as it is. Remove it to start a new ledger "
            "(backups already in /data2/backup are then kept, never removed by retention)")


def next_label(instance: Instance, directory: Path, when: datetime) -> tuple[str, datetime]:
    """The label of a backup taken at `when`, and the moment it is dated at (call under the backup lock).

    The label is `when`'s minute, unless this instance already gave that label or a later one: then the
    minute after the last label it gave, and the backup is dated at the start of that minute. A name that
    a file in `directory` already has (a tarball copied in) is skipped too.
    """
    when = when.astimezone(UTC)
    moment = when.replace(second=0, microsecond=0)
    last = read(instance)["last_label"]
    if last is not None:
        after = datetime.strptime(last, LABEL_FORMAT).replace(tzinfo=UTC) + timedelta(minutes=1)
        moment = max(moment, after)
    taken = set()
    for name in os.listdir(directory):
        name = name.lstrip(".")
        if len(name) > 12 and name[:12].isdecimal() and name[12] == "_":
            taken.add(name[:12])
    while moment.strftime(LABEL_FORMAT) in taken:
        moment += timedelta(minutes=1)
    return moment.strftime(LABEL_FORMAT), max(when, moment)


def claim(instance: Instance, label: str, backup_id: str, names: list[str]) -> None:
    """Record, before anything of it is written, that this instance takes backup `label` (id, file names):
    the label is used from now on, even if the backup fails."""
    data = read(instance)
    data["last_label"] = label
    data["backups"][label] = {"backup_id": backup_id, "files": names}
    write_json(_path(instance), data)


def owns(ledger: dict, record: BackupRecord) -> bool:
    """Whether this instance wrote the backup `record` (its label, id and file names are in the ledger)."""
    entry = ledger["backups"].get(record.label)
    return (entry is not None and entry["backup_id"] == record.backup_id
            and entry["files"] == [p.name for p in record.files])


def own_backups(instance: Instance, records: list[BackupRecord]) -> list[BackupRecord]:
    """The backups among `records` that this instance wrote, in the order they were taken."""
    ledger = read(instance)
    return sorted((r for r in records if owns(ledger, r)), key=lambda r: r.label)


def forget(instance: Instance, record: BackupRecord) -> None:
    """Drop a removed backup from the ledger (its label stays used: the last label is kept)."""
    data = read(instance)
    if owns(data, record):
        del data["backups"][record.label]
        write_json(_path(instance), data)


def reset(instance: Instance) -> None:
    """Start a new ledger (`sim reset`, once every backup is removed)."""
    _path(instance).unlink(missing_ok=True)
