"""Fast path: where a restore's staging tree is placed on the file system (ext4's Orlov allocator).

Where the files are created matters on this project's VMs: their ext4 has no journal, and then the kernel
avoids reusing an inode freed in the last minutes, re-checking each such inode of the group for every file it
creates (`recently_deleted`, seen with perf): next to a tree just removed (the previous restore's old data, a
`tar xzf` of the same files), file creation cost up to 0.6 ms a file, 3 s a restore (three times the whole
restore). So the staging directory has a random name in a stage marked `FS_TOPDIR_FL`, and ext4 places it as
the top of a tree of its own, in a little-used block group picked by the name's hash. That makes a bad group
unlikely, not impossible: the groups ext4 picks from are few, and a restore that lands where a tree was
removed in the last minute is still ~3x slower (seen about once in ten restores here).
`scripts/bench_backup.py` measures it (and places the reference `tar xzf` apart the same way).
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_TOPDIR_FL = 0x00020000  # "the top of a directory hierarchy" (chattr +T)


def mark_top_directory(path: Path) -> bool:
    """Set FS_TOPDIR_FL (`chattr +T`) on a directory: the file system spreads its subdirectories, each placed
    apart as the top of a tree of its own (ext4's Orlov allocator). False where the flag is not supported."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        flags = struct.unpack("i4x", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8)))[0]
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i4x", flags | _FS_TOPDIR_FL))
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
