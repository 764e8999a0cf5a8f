"""Progress of long work drawn on a terminal: `label  done/total  rate  ETA` on one line, redrawn with `\\r`."""

from __future__ import annotations

import time

from alation_shell.progress import Progress, human_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.session import CancelToken


class ProgressBar(Progress):
    """Draws the progress on `stream` at most every INTERVAL seconds, and once more when finished."""

    INTERVAL = 0.1

    def __init__(
        self, label: str, total: int, stream: TextIO, unit: str = "B", cancel: CancelToken | None = None
    ) -> None:
        super().__init__(label, total, unit, cancel)
        self.stream = stream
        self.start = time.monotonic()
        self._drawn = 0.0
        self._width = 0  # length of the line drawn last, to blank what a shorter one leaves

    def show(self) -> None:
        now = time.monotonic()
        if now - self._drawn >= self.INTERVAL:
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        super().finish()
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def _amount(self, n: float) -> str:
        return human_bytes(n) if self.unit == "B" else f"{n:.0f} {self.unit}"

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-6)
        rate = self.done / elapsed
        pct = f"{100 * self.done / self.total:5.1f}%" if self.total else "     "
        eta = ""
        if self.total and rate > 0 and self.done < self.total:
            eta = f"  ETA {int((self.total - self.done) / rate)}s"
        line = (
            f"{self.label}  {pct}  {self._amount(self.done)}/{self._amount(self.total)}"
            f"  {self._amount(rate)}/s{eta}"
        )
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()
