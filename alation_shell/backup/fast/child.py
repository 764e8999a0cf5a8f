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

The parent goes on as soon as it has the child's whole answer (it is sent with its length first), not when
the child has ended: tearing down a process that mapped a large file takes milliseconds (unmapping 155 MB
takes ~8 ms here), which the work can leave to the exit (see `run_in_child`). A thread reaps the child.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import marshal
import os
import signal
import threading
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_in_child(work: Callable[[], Any], meanwhile: Callable[[], None] = lambda: None,
                 keep: tuple[int, ...] = ()) -> Any:
    """`work()` in a forked child process: what it returns (a value `marshal` can carry). `meanwhile` runs
    in the parent while the child works. An exception in the child is raised here as OSError.

    The child closes every file descriptor it inherited but the standard streams and those in `keep`
    (what `work` uses): it may outlive the parent's use of them, and one left open would keep, say, the
    backup lock (a `flock`, held while any descriptor of its open file is) after the parent let it go.
    What `work` still references when it returns (a mapping it keeps in an enclosing list, say) is freed
    by the child's exit, after the parent has the answer."""
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
            _close_all_but((*keep, write_end))
            payload = marshal.dumps(("ok", work()))
            status = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            code = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
            payload = marshal.dumps(("error", code, exc.strerror if isinstance(exc, OSError) else str(exc)))
        try:
            view = memoryview(len(payload).to_bytes(8, "big") + payload)
            while view:
                view = view[os.write(write_end, view):]
        finally:
            os._exit(status)
    os.close(write_end)
    reply = None
    try:
        meanwhile()
        reply = _answer(read_end)
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # (not reaped yet: the pid is still the child's) its work is not wanted
        raise
    finally:
        os.close(read_end)
        if reply is not None:  # complete: reaped meanwhile, while it ends
            threading.Thread(target=os.waitpid, args=(pid, 0), name="reaper", daemon=True).start()
        else:
            _, status = os.waitpid(pid, 0)
        gc.unfreeze()
    if reply is not None and reply[0] == "ok":
        return reply[1]
    if reply is not None:
        raise OSError(reply[1], reply[2])
    code = os.waitstatus_to_exitcode(status)
    how = f"was killed by signal {-code}" if code < 0 else f"ended with status {code}"
    raise OSError(errno.EIO, f"the process reading it {how}")


def _close_all_but(keep: tuple[int, ...]) -> None:
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every possible descriptor
        open_fds = list(range(os.sysconf("SC_OPEN_MAX")))
    for fd in open_fds:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):  # (the listing's own, closed already)
                os.close(fd)


def _answer(fd: int) -> tuple | None:
    """The child's answer, ("ok", value) or ("error", errno, message): its length, then that many bytes of
    marshal data; None if it is incomplete (the child died) or not such an answer."""
    data = bytearray()
    want = 8
    while len(data) < want:
        chunk = os.read(fd, max(want - len(data), 1 << 16))
        if not chunk:
            return None
        data += chunk
        if want == 8 and len(data) >= 8:
            want = 8 + int.from_bytes(data[:8], "big")
    try:
        reply = marshal.loads(data[8:want])
    except (EOFError, ValueError, TypeError):
        return None
    ok = isinstance(reply, tuple) and (reply[:1] == ("ok",) and len(reply) == 2
                                       or reply[:1] == ("error",) and len(reply) == 3)
    return reply if ok else None
