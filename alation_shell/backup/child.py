"""Run a piece of a backup's work in a forked child process, beside the rest of it.

An incremental reads the whole catalog database (most of the data) to find the blocks that changed, while
the rest of the backup scans thousands of files. Each keeps a core busy, but as Python threads they take turns
on one: the scan gives up the GIL on every stat call and waits to get it back, the comparison of a changed
piece block by block holds it, and both end up slower than one thread doing both (measured: see
docs/ARCHITECTURE.md). A forked child (no new interpreter, nothing to import) runs truly beside the parent.

What runs in the child must only compute and write to the files it was given: it returns a value that
`marshal` can carry (sent back through a pipe), and leaves with `os._exit`, so nothing of the parent's is
flushed or run twice. Nothing it uses may be a lock that another of the parent's threads could have held at
the fork (hashing, compressing, reading and writing files are fine). The garbage collector's objects are
frozen around the fork, so that a collection in either process does not copy every page they share. If the
child dies, the parent raises OSError and the backup fails cleanly; if the parent dies, the child's pipe
breaks and it ends too.
"""

from __future__ import annotations

import errno
import gc
import marshal
import os
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_in_child(work: Callable[[], Any], meanwhile: Callable[[], None] = lambda: None) -> Any:
    """`work()` in a forked child process: what it returns (a value `marshal` can carry). `meanwhile` runs
    in the parent while the child works. An exception in the child is raised here as OSError."""
    read_end, write_end = os.pipe()
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: never returns
        status = 1
        try:
            gc.disable()
            os.close(read_end)
            payload = marshal.dumps(("ok", work()))
            status = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            code = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
            payload = marshal.dumps(("error", code, exc.strerror if isinstance(exc, OSError) else str(exc)))
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        meanwhile()
        chunks = []
        while chunk := os.read(read_end, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        gc.unfreeze()
    try:
        reply = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        reply = None
    code = os.waitstatus_to_exitcode(status)
    if code == 0 and isinstance(reply, tuple) and reply[0] == "ok":
        return reply[1]
    if isinstance(reply, tuple) and reply[0] == "error":
        raise OSError(reply[1], reply[2])
    how = f"was killed by signal {-code}" if code < 0 else f"ended with status {code}"
    raise OSError(errno.EIO, f"the process reading it {how}")
