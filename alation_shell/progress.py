"""Progress of long work (backup, restore, index rebuild): bytes, rate and ETA on a terminal."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Draws `label  done/total  rate  ETA` on one terminal line; silent when `stream` is None."""

    INTERVAL = 0.1

    def __init__(self, label: str, total: int, stream: TextIO | None, unit: str = "B") -> None:
        self.label = label
        self.unit = unit
        self.total = max(total, 0)
        self.stream = stream
        self.done = 0
        self.start = time.monotonic()
        self._drawn = 0.0
        self._width = 0  # length of the line drawn last, to blank what a shorter one leaves

    def advance(self, n: int) -> None:
        self.update(self.done + n)

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.stream is not None and now - self._drawn >= self.INTERVAL:
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        if self.stream is not None:
            self.done = max(self.done, self.total)
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
        assert self.stream is not None
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()
