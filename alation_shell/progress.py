"""Progress of long work (backup, restore, index rebuild), as the core reports it: silently.

A front end that draws (shell/progress.py) subclasses `Progress`. Every step checks the session's cancel
token, so long work stops at its next step when the session is cancelled, with no check of its own.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.session import CancelToken


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Counts `done` of `total` (in `unit`: "B" for bytes, else e.g. "documents"); shows nothing.

    `advance` and `update` raise Cancelled once `cancel` is cancelled: the work stops there and cleans up as
    after any other error. `finish` never raises (the work is done by then).
    """

    def __init__(self, label: str, total: int, unit: str = "B", cancel: CancelToken | None = None) -> None:
        self.label = label
        self.unit = unit
        self.total = max(total, 0)
        self.done = 0
        self.cancel = cancel

    def advance(self, n: int) -> None:
        self.update(self.done + n)

    def update(self, done: int) -> None:
        if self.cancel is not None:
            self.cancel.check()
        self.done = done
        self.show()

    def show(self) -> None:
        """Draw the progress (here: nothing)."""

    def finish(self) -> None:
        """The work is done."""
        self.done = max(self.done, self.total)
