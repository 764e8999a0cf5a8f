"""The forked process that reads the catalog database for an incremental (child.py)."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path

import pytest

from alation_shell.backup.fast import child

pytestmark = pytest.mark.skipif(not child.can_fork(), reason="fork only")


def open_fds() -> list[int]:
    return sorted(int(name) for name in os.listdir("/proc/self/fd"))


def test_the_child_keeps_only_the_descriptors_it_is_given_and_answers_before_it_ends(tmp_path: Path) -> None:
    """The parent goes on with the child's answer, not its end; the child (or anything that outlives the
    parent's wait) must not hold the parent's descriptors, as a copy of the backup lock's keeps the flock."""
    lock = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    kept = os.open(tmp_path / "kept", os.O_RDWR | os.O_CREAT, 0o600)

    def work() -> tuple[list[int], int]:
        seen = open_fds()
        lingering = os.fork()  # outlives the answer, with every descriptor the child still has
        if lingering == 0:
            time.sleep(30)
            os._exit(0)
        os.write(kept, b"written by the child")
        return seen, lingering

    try:
        seen, lingering = child.run_in_child(work, keep=(kept,))
        assert kept in seen and lock not in seen
        assert os.pread(kept, 100, 0) == b"written by the child"
        os.close(lock)
        again = os.open(tmp_path / "lock", os.O_RDWR)
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no process holds it any more
        os.close(again)
    finally:
        if "lingering" in locals():
            os.kill(lingering, signal.SIGKILL)
        os.close(kept)


def test_an_error_in_the_child_is_raised_in_the_parent() -> None:
    def work() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        child.run_in_child(work)
    assert (raised.value.errno, raised.value.strerror) == (28, "No space left on device")


def test_a_child_that_dies_before_answering_is_reported() -> None:
    def work() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(OSError, match="the process reading it was killed by signal 9"):
        child.run_in_child(work)


def test_the_child_is_stopped_when_the_parent_gives_up_waiting() -> None:
    """An error (or Ctrl-C) in the parent while the child works ends the child at once, not when its work
    is done."""
    started = time.monotonic()

    def meanwhile() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        child.run_in_child(lambda: time.sleep(30), meanwhile)
    assert time.monotonic() - started < 10
