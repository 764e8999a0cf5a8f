"""Fast path: a tree removed by several threads at once (the removal of the trees a restore replaced).

On a file system mounted with `discard` and without a journal (as on this project's VMs) each removal waits
for the disk to discard the file's blocks, and those waits overlap: the files are removed in batches on the
process's removal pool (tuning.removal_pool, eight threads shared by every restore of the process).
restore.py's `remove_tree` removes them one by one on the plain path.
"""

from __future__ import annotations

import os

from alation_shell.backup import tuning

_REMOVED_TOGETHER = 128  # files per task


def unlink_all(files: list[str]) -> None:
    """Remove these files, in batches on the process's removal pool."""
    chunks = [files[i : i + _REMOVED_TOGETHER] for i in range(0, len(files), _REMOVED_TOGETHER)]
    if len(chunks) > 1:
        for _ in tuning.removal_pool().map(_unlink_batch, chunks):
            pass
    elif chunks:
        _unlink_batch(chunks[0])


def _unlink_batch(paths: list[str]) -> None:
    for path in paths:
        os.unlink(path)
