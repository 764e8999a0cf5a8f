"""`--demo`: a scenario plays itself, typing each solution line as a person would, so a presenter can talk.

The typist is a source of lines for the walkthrough (like a pipe or the prompt): it types the current
step's solution one character at a time with small random pauses (seeded, so a rehearsed demo keeps its
rhythm), and a key press on the terminal pauses it until the next key. `speed=None` ("instant") types
nothing out and never sleeps: `--check` and the tests use it.
"""

from __future__ import annotations

import os
import random
import select
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.training.walkthrough import Walkthrough

CHAR_DELAY = 0.055  # seconds per character at speed 1.0, a steady typist
THINK_DELAY = 0.7  # before each command
READ_DELAY = 1.2  # after a step's output, before the next instruction is typed against


class DemoSource:
    """Types the solution of the walkthrough's current step."""

    demo = True

    def __init__(self, walk: Walkthrough, out: TextIO, *, speed: float | None = 1.0, seed: int = 5959,
                 keys: KeyPause | None = None) -> None:
        self.walk = walk
        self.out = out
        self.speed = speed
        self.rng = random.Random(seed)
        self.keys = keys
        self.step_index = -1
        self.position = 0

    def _next_line(self) -> str | None:
        step = self.walk.step
        if step is None:
            return None
        if self.walk.index != self.step_index:
            self.step_index, self.position = self.walk.index, 0
            self.pause(READ_DELAY)
        if self.position >= len(step.solution):
            return None
        line = self.walk.expand(step.solution[self.position])
        self.position += 1
        return line

    def read(self, prompt: str) -> str | None:
        line = self._next_line()
        if line is None:
            return None
        self.out.write(prompt)
        self.out.flush()
        self.pause(THINK_DELAY)
        self.type(line)
        return line

    def answer(self, question: str) -> str | None:
        self.out.write(question)
        self.out.flush()
        line = self._next_line()
        if line is not None:
            self.pause(THINK_DELAY)
            self.type(line)
        else:
            self.out.write("\n")
        return line

    def type(self, line: str) -> None:
        """Write `line` and Enter, character by character unless instant."""
        if self.speed is None:
            self.out.write(line + "\n")
            self.out.flush()
            return
        for char in line:
            self.out.write(char)
            self.out.flush()
            delay = CHAR_DELAY * self.rng.uniform(0.4, 1.6)
            if char == " " and self.rng.random() < 0.25:
                delay += CHAR_DELAY * self.rng.uniform(2, 5)  # a short hesitation between words
            self.pause(delay)
        self.pause(CHAR_DELAY * 3)
        self.out.write("\n")
        self.out.flush()

    def pause(self, seconds: float) -> None:
        if self.speed is None:
            return
        deadline = time.monotonic() + seconds / self.speed
        while True:
            left = deadline - time.monotonic()
            if self.keys is not None:
                paused_for = self.keys.wait(max(left, 0.0))
                deadline += paused_for
                if paused_for:
                    continue
            elif left > 0:
                time.sleep(left)
            if time.monotonic() >= deadline:
                return


class KeyPause:
    """On a terminal: a key press pauses the demo until the next key (cbreak mode while it runs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.fd = self.stream.fileno()
        self.saved: list | None = None

    def __enter__(self) -> KeyPause:
        import termios
        import tty

        self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def wait(self, seconds: float) -> float:
        """Wait up to `seconds`; if a key comes, wait for the next one. The time spent paused."""
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return 0.0
        os.read(self.fd, 64)
        began = time.monotonic()
        select.select([self.fd], [], [])
        os.read(self.fd, 64)
        return time.monotonic() - began
