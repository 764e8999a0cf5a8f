"""Blocking work of the SSH sessions, off the event loop: a bounded pool of command threads whose jobs can be
interrupted (Ctrl-C, a dropped connection), and the lines a session without a terminal reads.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

INTERRUPTED = object()  # what a job gives when it was interrupted before its command could report it


class Job:
    """One piece of work for the pool, which `interrupt()` stops as Ctrl-C does locally.

    The stop is cooperative: the KeyboardInterrupt is raised in the job's own thread the next time its command
    writes output or asks a question (`check()`), never at an arbitrary instruction: an exception forced into
    a thread (PyThreadState_SetAsyncExc) can land in a thread the command is just starting, which then dies
    before it runs and leaves the command waiting for it forever.
    """

    def __init__(self, work: Callable[[], object], cancel: Callable[[], None] | None = None) -> None:
        self._work = work
        self._cancel = cancel  # the session's own Ctrl-C (its cancel token): long work stops at its next check
        self._cancelled = False
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._interrupted = False
        self._raised = False

    def __call__(self) -> object:
        with self._lock:
            if self._interrupted:
                return INTERRUPTED
            self._thread = threading.get_ident()
        try:
            return self._work()
        except KeyboardInterrupt:
            # Raised outside the command's own handling (which reports `interrupted`, status 130).
            return INTERRUPTED
        finally:
            with self._lock:
                self._thread = None

    def interrupt(self, *, force: bool = False) -> None:
        """Stop the job, as Ctrl-C does in the local shell: not started yet, it never runs. Running, a job with
        a `cancel` is first cancelled (its command stops at its next check and says so: `sim: interrupted`;
        work that waits without writing, such as `tail -f`, stops too); a second interrupt, a `force` one, or
        one of a job without `cancel` also interrupts it at its next `check()`, wherever it is."""
        with self._lock:
            gentle = (self._cancel is not None and not self._cancelled and not force
                      and self._thread is not None)
            if not gentle:
                self._interrupted = True
        if self._cancel is not None and not self._cancelled:
            self._cancelled = True
            self._cancel()

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def check(self) -> None:
        """In the job's thread, once, after `interrupt()`: raise KeyboardInterrupt."""
        if self._interrupted and not self._raised and threading.get_ident() == self._thread:
            self._raised = True
            raise KeyboardInterrupt


class CommandPool:
    """The server's command threads: at most `size` commands run at once, the rest wait their turn."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="command")

    async def run(self, job: Job) -> object:
        """Run `job` on a pool thread; its result, or INTERRUPTED."""
        return await asyncio.wrap_future(self._executor.submit(job))

    def shutdown(self, *, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)


class LineFeed:
    """Lines arriving on a channel, read by the session's loop (`await next_line()`) and by a command asking
    for a confirmation in a pool thread (`blocking()`), in arrival order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._lines: deque[str] = deque()
        self._partial = ""
        self._eof = False
        self._ready = asyncio.Event()

    def feed(self, text: str) -> None:
        """Data from the client (on the event loop)."""
        with self._cond:
            *complete, self._partial = (self._partial + text).split("\n")
            self._lines.extend(line.rstrip("\r") for line in complete)
            self._cond.notify_all()
        self._ready.set()

    def close(self) -> None:
        """End of input: a last line without a newline still counts."""
        with self._cond:
            if self._partial:
                self._lines.append(self._partial.rstrip("\r"))
                self._partial = ""
            self._eof = True
            self._cond.notify_all()
        self._ready.set()

    async def next_line(self) -> str | None:
        """The next line, or None at end of input."""
        while True:
            with self._cond:
                if self._lines:
                    return self._lines.popleft()
                if self._eof:
                    return None
                self._ready.clear()
            await self._ready.wait()

    def blocking(self) -> Iterator[str]:
        """The lines as a blocking iterator, for a pool thread."""
        while True:
            with self._cond:
                while not self._lines and not self._eof:
                    self._cond.wait()
                if not self._lines:
                    return
                line = self._lines.popleft()
            yield line
