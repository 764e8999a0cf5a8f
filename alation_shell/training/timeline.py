"""`sim backups`: the backups drawn as a timeline, or listed as JSON for scripts.

One row per backup, oldest first: its virtual time, a line joining each incremental to the full it is based
on (`┌` the full, `├`/`└` its incrementals), its kind, its size as a bar scaled to the largest, and the full
an incremental needs. A rule marks where each new cycle (a new full) starts. Colour only when asked for
(a person at a terminal, NO_COLOR unset); never an escape code otherwise.

`--json` prints a list, one object per backup, oldest first, with these fields (stable; new ones may be
added, none renamed or removed):
    label   the backup's label, YYYYMMDDhhmm (its file names start with it)
    time    its virtual time, ISO 8601 UTC
    kind    "full" or "incr"
    format  "v2" or "v1"
    size    bytes of all its files
    base    an incremental's full (its label); null for a full
    cycle   the number of its cycle, counting from 1 at the oldest full listed
    files   its tarballs as shell paths, the alation one first
"""

from __future__ import annotations

import json
from datetime import UTC

from alation_shell.node import clock
from alation_shell.progress import human_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.backup.records import BackupRecord
    from alation_shell.instance import Instance

BAR_WIDTH = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"
_STYLE = {"full": "1;34", "incr": "36", "rule": "2", "missing": "33"}


def bar(size: int, largest: int, width: int = BAR_WIDTH) -> str:
    """`size` as a bar of `width` cells at most (eighths of a cell), at least a sliver when not zero."""
    if largest <= 0 or size <= 0:
        return ""
    eighths = max(round(size / largest * width * 8), 1)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def cycles(records: list[BackupRecord]) -> list[int]:
    """The cycle number of each record: a new one at each full (incrementals take their full's)."""
    numbers: list[int] = []
    by_full: dict[str, int] = {}
    current = 0
    for record in records:
        if record.kind == "full":
            current += 1
            by_full[record.label] = current
            numbers.append(current)
        else:
            numbers.append(by_full.get(record.base or "", current or 1))
    return numbers


def draw(records: list[BackupRecord], *, colour: bool = False, among: list[tuple[str, str]] = ()) -> list[str]:
    """The timeline's lines; `among`: other lines (label, line), sorted, each put before the first backup with a
    later label (the damaged files `sim backups` shows where their names put them)."""

    def paint(text: str, style: str) -> str:
        return f"\x1b[{_STYLE[style]}m{text}\x1b[0m" if colour and text else text

    largest = max((r.size for r in records), default=0)
    labels = {r.label for r in records if r.kind == "full"}
    last_incr = {}
    for i, record in enumerate(records):
        if record.kind == "incr" and record.base:
            last_incr[record.base] = i
    numbers = cycles(records)
    size_width = max((len(human_bytes(r.size)) for r in records), default=0)
    lines = []
    others = list(among)
    for i, record in enumerate(records):
        while others and others[0][0] < record.label:
            lines.append(others.pop(0)[1])
        if record.kind == "full" and i > 0:
            lines.append(paint(f"── cycle {numbers[i]} " + "─" * 40, "rule"))
        if record.kind == "full":
            joint = "┌" if record.label in last_incr else "─"
        elif record.base in labels:
            joint = "└" if last_incr.get(record.base) == i else "├"
        else:
            joint = "?"
        kind = paint(f"{record.kind:<4}", record.kind)
        drawn = paint(bar(record.size, largest).ljust(BAR_WIDTH), record.kind)
        line = f"{clock.format_time(record.created)}  {joint} {kind}  {drawn}  {human_bytes(record.size):>{size_width}}"
        if record.base:
            line += f"  base {record.base}" + ("" if record.base in labels else paint(" (missing)", "missing"))
        if record.format == "v1":
            line += "  V1"
        lines.append(line.rstrip())
    lines.extend(line for _, line in others)
    return lines


def as_json(instance: Instance, records: list[BackupRecord]) -> str:
    """The `--json` listing (see the module docstring for its fields)."""
    numbers = cycles(records)
    rows = [
        {
            "label": r.label,
            "time": r.created.astimezone(UTC).isoformat(),
            "kind": r.kind,
            "format": r.format,
            "size": r.size,
            "base": r.base,
            "cycle": numbers[i],
            "files": [instance.shell_path(p) for p in r.files],
        }
        for i, r in enumerate(records)
    ]
    return json.dumps(rows, indent=1)
