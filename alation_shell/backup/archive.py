"""The tarball format: standard gzip-compressed POSIX (pax) tar that GNU tar lists and extracts.

Writing: the tar stream is cut into ~1 MiB pieces, each compressed on a thread pool into its own gzip member
with ISA-L (`isal_zlib`, which releases the GIL), and the members are written in order by a writer thread;
concatenated gzip members are one valid gzip stream (as pigz writes it). The manifest must be the first member
but is known only at the end: the data goes behind space reserved for it (see TarballWriter).

Reading: our own strict tar reader over ISA-L decompression. Every header is checked (checksum, type, safe
path) before any of its data is read, the end-of-archive must be followed by nothing but zeros, and the
gzip CRC of every member is checked, so truncation and flipped bytes are caught.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import struct
import tarfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

from isal import igzip_threaded, isal_zlib

from alation_shell.backup import tuning
from alation_shell.backup.manifest import (
    DIGEST_BYTES,
    MANIFEST_NAME,
    Manifest,
    Member,
    block_digests,
    check_path,
    refusal_message,
)
from alation_shell.errors import CorruptArchive

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    from alation_shell.progress import Progress

    class Sink(Protocol):
        """Where `TarballReader.check_members` sends a member's data: the sink hashes each piece it is given
        into the member's `MemberDigest` and calls its `check()` once all of it came (`close(True)`)."""

        def write(self, piece: bytes) -> None: ...

        def close(self, complete: bool) -> None: ...

COMPRESS_LEVEL = 2  # ISA-L 0-3: level 2 is within 1% of gzip -6's size at ~7x its speed
CHUNK = 1 << 20
NUL_BLOCK = bytes(512)
READ_SIZE = 1 << 20
_USTAR = struct.Struct("100s8s8s8s12s12s8s1s100s8s32s32s8s8s155s12x")  # a ustar header's fields
_TYPEFLAGS = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}
_OCTAL_11 = 8**11  # the largest size or mtime a ustar field holds, plus one
_GZIP_HEADER = b"\x1f\x8b\x08\x00" + bytes(4) + b"\x00\xff"  # deflate, no flags, no mtime, unknown OS
# The largest manifest a tarball of N bytes may claim, checked from its tar header before a byte of it is read.
# Measured on a 256 MiB catalog: a full's manifest is 2% of its tarball, an incremental's 3%; the most
# compressible real manifest is an incremental's when nothing changed (every file listed, little else in the
# tarball), 20 times its tarball. A gzip bomb claims up to 1032 times.
MANIFEST_RATIO = 64
MANIFEST_FLOOR = 4 << 20  # a small tarball may always hold a manifest this large
MANIFEST_CAP = 512 << 20  # the manifest of a full backup of a catalog of about 128 GiB


def manifest_limit(tarball_size: int) -> int:
    """The largest manifest (in bytes) a tarball of `tarball_size` bytes may hold."""
    return min(MANIFEST_CAP, max(MANIFEST_FLOOR, MANIFEST_RATIO * tarball_size))


def tar_header(name: str, *, kind: str = "file", size: int = 0, mode: int = 0o644, mtime_ns: int = 0,
               target: str = "") -> bytes:
    """The header block(s) of one member (pax format: long and non-ASCII names are kept exactly)."""
    mtime = max(mtime_ns // 1_000_000_000, 0)
    if kind != "file":
        size = 0
    path = name + "/" if kind == "dir" and not name.endswith("/") else name
    if (len(path) <= 100 and len(target) <= 100 and path.isascii() and target.isascii() and size < _OCTAL_11
            and mtime < _OCTAL_11):
        # What tarfile writes for such a member (a plain ustar header, no pax record), built directly: a
        # full backup writes thousands of them.
        header = _USTAR.pack(path.encode(), b"%07o\0" % (mode & 0o7777), b"0000000\0", b"0000000\0",
                             b"%011o\0" % size, b"%011o\0" % mtime, b"        ", _TYPEFLAGS[kind], target.encode(),
                             b"ustar\x0000", b"alation", b"alation", b"", b"", b"")
        return header[:148] + b"%06o\0 " % sum(header) + header[156:]
    info = tarfile.TarInfo(name)
    info.type = _TYPEFLAGS[kind]
    info.size = size
    info.mode = mode
    info.mtime = mtime
    info.linkname = target
    info.uname = info.gname = "alation"
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    return bytes(-size % 512)


class TarballWriter:
    """Writes a tarball: tar members compressed in parallel, written in order by a writer thread.

    The data members go first, at offset `reserve`; `finish(manifest)` then puts the manifest member in front:
    into the reserved space when it fits (padded to the exact size with the gzip header's comment field),
    else (or when places were held for members written elsewhere, `hold_place`) by copying the data behind
    it into a new file. Call `finish` or `abort`.

    `inline`: compress and write in the calling thread, for a tarball of little data (an incremental's), where
    handing each piece to threads costs more than it saves while other work keeps the cores busy.
    """

    def __init__(self, path: Path, *, reserve: int = 0, level: int = COMPRESS_LEVEL, inline: bool = False) -> None:
        self.path = path
        self.level = level
        self.reserve = reserve
        self.inline = inline
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        self._offset = reserve
        self.error: BaseException | None = None  # what stopped the writer thread, raised at the next write
        self._buf = bytearray()
        self._places: list[tuple[int, int, int]] = []  # (offset, fd, length): see hold_place
        if inline:
            return
        threads = tuning.tuning().threads
        self._pool = tuning.shared_pool()  # (the process's: not shut down here)
        # Pieces in flight: enough that a burst of data already in memory (an incremental's changed blocks)
        # is handed over without waiting, few enough to bound the memory a full backup's reading can take.
        self._queue: queue.Queue[Future[bytes] | None] = queue.Queue(8 * threads + 1)
        self._writer = threading.Thread(target=self._write_out, name="tarball-writer", daemon=True)
        self._writer.start()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Raw tar bytes (headers, data, padding) in stream order."""
        self._buf += data
        if len(self._buf) >= CHUNK:
            self._submit()

    def add_entry(self, name: str, *, kind: str, mode: int, mtime_ns: int, target: str = "") -> None:
        """A directory or symbolic link member."""
        self.write(tar_header(name, kind=kind, mode=mode, mtime_ns=mtime_ns, target=target))

    def add_bytes(self, name: str, data: bytes, *, mode: int = 0o644, mtime_ns: int = 0) -> None:
        self.write(tar_header(name, size=len(data), mode=mode, mtime_ns=mtime_ns))
        self.write(data)
        self.write(padding(len(data)))

    def flush(self) -> None:
        """Compress what is buffered now (a gzip member ends here)."""
        if self._buf:
            self._submit()

    def hold_place(self) -> int:
        """Keep this place of the stream for members that are not ready yet (`fill_place`); what is written
        meanwhile goes after them. For a tarball compressed `inline` (an incremental's)."""
        if not self.inline:
            raise ValueError("places are held in a tarball compressed inline only")
        self.flush()
        self._places.append((self._offset, -1, 0))
        return len(self._places) - 1

    def fill_place(self, place: int, fd: int, length: int) -> None:
        """The members for a held place: gzip members compressed elsewhere, of whole tar members in stream
        order, the first `length` bytes of the file open as `fd` (kept open until `finish`). A place left
        unfilled stays empty."""
        self._places[place] = (self._places[place][0], fd, length)

    def _submit(self) -> None:
        if self.error is not None:
            raise self.error  # the writer thread failed (disk full, ...): stop reading at once
        if self.inline:
            data = isal_zlib.compress(self._buf, self.level, 31)
            self._buf.clear()
            try:
                pwrite_all(self._fd, data, self._offset)
            except OSError as exc:
                self.error = exc  # (so the caller knows it was the tarball that could not be written)
                raise
            self._offset += len(data)
            return
        data = bytes(self._buf)
        self._buf.clear()
        self._queue.put(self._pool.submit(isal_zlib.compress, data, self.level, 31))

    def _write_out(self) -> None:
        while (future := self._queue.get()) is not None:
            if self.error is not None:
                continue  # keep taking work so that the producer is never blocked
            try:
                data = future.result()
                pwrite_all(self._fd, data, self._offset)
                self._offset += len(data)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                self.error = exc

    def _stop(self) -> None:
        if self.inline:
            return
        self._queue.put(None)
        self._writer.join()  # (it took every piece handed over: none is left on the shared pool)

    def finish(self, manifest: Manifest) -> int:
        """Write the end of the archive and the manifest member in front; fsync and close. The size."""
        self.write(NUL_BLOCK * 2)
        self._submit()
        self._stop()
        if self.error is not None:
            raise self.error
        head = tar_header(MANIFEST_NAME, size=len(manifest.raw)) + manifest.raw + padding(len(manifest.raw))
        deflated, trailer = _deflate(head, self.level)
        member = _padded_member(deflated, trailer, self.reserve) if not self._places else None
        if member is None:
            self._move_body_behind(_GZIP_HEADER + deflated + trailer)
        else:
            pwrite_all(self._fd, member, 0)
        os.fsync(self._fd)
        size = os.fstat(self._fd).st_size
        os.close(self._fd)
        self._fd = -1
        return size

    def _move_body_behind(self, head: bytes) -> None:
        """The manifest did not fit the reserved space (or places were held): write it to a new file and copy
        the data after it, with what fills the places."""
        moved = self.path.with_name(self.path.name + ".tmp.partial")
        fd = os.open(moved, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            pwrite_all(fd, head, 0)
            at, start = len(head), self.reserve
            for offset, source, length in [*self._places, (self._offset, -1, 0)]:
                _copy_all(self._fd, start, fd, at, offset - start)
                at += offset - start
                if length:
                    _copy_all(source, 0, fd, at, length)
                    at += length
                start = offset
            os.rename(moved, self.path)
        except BaseException:
            os.close(fd)
            moved.unlink(missing_ok=True)
            raise
        os.close(self._fd)
        self._fd = fd

    def abort(self) -> None:
        """Stop and close without finishing (the caller removes the file)."""
        self._stop()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def padded_gzip_member(data: bytes, size: int, level: int = COMPRESS_LEVEL) -> bytes | None:
    """A gzip member of `data` exactly `size` bytes long, padded in its header's comment field; None if
    `data` does not fit. (gzip, GNU tar and ISA-L skip the comment; RFC 1952 sets no limit on its length.)"""
    return _padded_member(*_deflate(data, level), size)


def _deflate(data: bytes, level: int) -> tuple[bytes, bytes]:
    """The deflate stream of a gzip member of `data`, and the member's trailer (CRC-32, size)."""
    return isal_zlib.compress(data, level, wbits=-15), struct.pack("<II", isal_zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _padded_member(deflated: bytes, trailer: bytes, size: int) -> bytes | None:
    note = b"alation-shell backup: the manifest member, padded to the space reserved for it"
    fill = size - 10 - len(note) - 1 - len(deflated) - len(trailer)
    if fill < 0:
        return None
    header = b"\x1f\x8b\x08\x10" + bytes(4) + b"\x00\xff"  # deflate, FCOMMENT, no mtime, unknown OS
    return header + note + b" " * fill + b"\x00" + deflated + trailer


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _copy_all(src: int, src_offset: int, dst: int, dst_offset: int, count: int) -> None:
    """Copy `count` bytes of `src` from `src_offset` to `dst` at `dst_offset` (in the kernel where it can)."""
    done = 0
    while done < count:
        try:
            n = os.copy_file_range(src, dst, min(count - done, 1 << 30), src_offset + done, dst_offset + done)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            data = os.pread(src, min(count - done, 8 << 20), src_offset + done)
            pwrite_all(dst, data, dst_offset + done)
            n = len(data)
        if n == 0:
            raise OSError(errno.EIO, "short copy while assembling a tarball")
        done += n


def _parse_plain(block: bytes) -> tarfile.TarInfo | None:
    """A plain ustar header of a file, directory or symbolic link (what `tar_header` writes for nearly every
    member) parsed as `tarfile.TarInfo.frombuf` parses it, in a quarter of the time; None for anything else
    (other types, a name prefix, GNU or base-256 fields, a checksum that is not the plain sum, a field that is
    not octal), which frombuf then parses or refuses."""
    name, mode, uid, gid, size, mtime, checksum, kind, link, magic, _, _, major, minor, prefix = _USTAR.unpack(block)
    if magic != b"ustar\x0000" or kind not in _PLAIN_TYPES or prefix[0]:
        return None
    try:
        numbers = [int(field.split(b"\0", 1)[0].strip() or b"0", 8)
                   for field in (mode, uid, gid, size, mtime, checksum, major, minor)]
    except ValueError:
        return None
    if numbers[5] != sum(block) - sum(block[148:156]) + 256:
        return None
    info = tarfile.TarInfo(name.split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
    info.mode, info.uid, info.gid, info.size, info.mtime, info.chksum, info.devmajor, info.devminor = numbers
    info.type = kind
    info.linkname = link.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if kind == tarfile.DIRTYPE:
        info.name = info.name.rstrip("/")
    return info


_PLAIN_TYPES = frozenset((tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE))


class TarballReader:
    """Reads one of our tarballs member by member, strictly. A context manager.

    `manifest()` first, then `members()`; each yielded header has been checked for safety, and its data
    must be consumed with `read_data()` (or is skipped). `finish()` checks what follows the end marker.
    Decompression runs in a thread of its own on the fast path (tuning.py), unless `threaded` is False (for
    reading just the manifest, where starting the thread costs more than it saves).
    """

    def __init__(self, path: Path, *, threaded: bool | None = None) -> None:
        self.path = path
        self.name = path.name
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise CorruptArchive(f"{path.name}: no such file") from None
        self._stream = (
            igzip_threaded.open(self._file, "rb", threads=1, block_size=READ_SIZE)
            if (tuning.tuning().fast if threaded is None else threaded)
            else _GzipStream(self._file)
        )
        self._unread = 0  # data + padding of the current member not consumed yet

    def __enter__(self) -> TarballReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._file.close()

    def _read(self, n: int) -> bytes:
        try:
            data = self._stream.read(n)
        except EOFError:
            raise CorruptArchive(f"{self.name}: truncated (the compressed data ends too early)") from None
        except (OSError, isal_zlib.error, ValueError) as exc:
            raise CorruptArchive(f"{self.name}: damaged compressed data ({exc})") from None
        return data

    def _read_exact(self, n: int) -> bytes:
        data = self._read(n)
        while len(data) < n:
            more = self._read(n - len(data))
            if not more:
                raise CorruptArchive(f"{self.name}: truncated (the tar data ends too early)")
            data += more
        return data

    def _skip_unread(self) -> None:
        while self._unread:
            self._unread -= len(self._read_exact(min(self._unread, READ_SIZE)))

    def _header(self) -> tarfile.TarInfo | None:
        """The next member's header (pax extended headers applied); None at the end-of-archive marker."""
        self._skip_unread()
        block = self._read_exact(512)
        if block == NUL_BLOCK:
            if self._read_exact(512) != NUL_BLOCK:
                raise CorruptArchive(f"{self.name}: damaged tar structure (a lone zero block)")
            return None
        info = self._parse(block)
        if info.type == tarfile.XHDTYPE:
            pax = self._pax(self._read_exact(info.size + len(padding(info.size)))[: info.size])
            info = self._parse(self._read_exact(512))
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                raise CorruptArchive(f"{self.name}: damaged tar structure (two extended headers in a row)")
            if "path" in pax:
                info.name = pax["path"].rstrip("/") if info.isdir() else pax["path"]
            if "linkpath" in pax:
                info.linkname = pax["linkpath"]
            if "size" in pax:
                if not (pax["size"].isascii() and pax["size"].isdecimal() and len(pax["size"]) <= 18):
                    raise CorruptArchive(f"{self.name}: damaged tar structure (bad pax size)")
                info.size = int(pax["size"])
            if any(key.startswith("GNU.sparse") for key in pax):
                raise CorruptArchive(f"{self.name}: member {info.name!r} is a sparse file (not supported)")
        return info

    def _parse(self, block: bytes) -> tarfile.TarInfo:
        info = _parse_plain(block)
        if info is not None:
            return info
        try:
            return tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise CorruptArchive(f"{self.name}: damaged tar header ({exc})") from None

    def _pax(self, data: bytes) -> dict[str, str]:
        """Parse pax records `LEN KEY=VALUE\\n`."""
        records: dict[str, str] = {}
        pos = 0
        while pos < len(data):
            space = data.find(b" ", pos)
            length = data[pos:space]
            if space < 0 or not length.isdigit() or len(length) > 18 or int(length) <= space - pos:
                raise CorruptArchive(f"{self.name}: damaged tar structure (bad pax record)")
            record = data[space + 1 : pos + int(length)]
            key, sep, value = record.partition(b"=")
            if not sep or not record.endswith(b"\n"):
                raise CorruptArchive(f"{self.name}: damaged tar structure (bad pax record)")
            records[key.decode("utf-8", "surrogateescape")] = value[:-1].decode("utf-8", "surrogateescape")
            pos += int(length)
        return records

    def manifest(self) -> Manifest:
        """The first member, which must be the manifest."""
        return Manifest.parse(self._manifest_bytes(), self.name)

    def manifest_checksum(self) -> str:
        """The checksum of the manifest (the first member), not parsed: to check it is the one read before."""
        return hashlib.sha256(self._manifest_bytes()).hexdigest()

    def _manifest_bytes(self) -> bytes:
        info = self._header()
        if info is None or info.name != MANIFEST_NAME or not info.isreg():
            raise CorruptArchive(f"{self.name}: not an alation-shell backup (no {MANIFEST_NAME} at its start)")
        size = os.fstat(self._file.fileno()).st_size
        if info.size > manifest_limit(size):
            raise CorruptArchive(f"{self.name}: its manifest would be {info.size} bytes, more than a tarball of "
                                 f"{size} bytes can hold (at most {manifest_limit(size)})")
        raw = self._read_exact(info.size)
        self._read_exact(len(padding(info.size)))
        return raw

    def members(self, manifest: Manifest) -> Iterator[tarfile.TarInfo]:
        """Every member after `manifest`, each checked by `check_member` before it is yielded."""
        while True:
            info = self._header()
            if info is None:
                return
            check_member(info, self.name, manifest)
            self._unread = info.size + len(padding(info.size)) if info.isreg() else 0
            yield info

    def read_data(self, info: tarfile.TarInfo, size: int = READ_SIZE) -> Iterator[bytes]:
        """The data of the member just yielded, in pieces of at most `size` bytes."""
        remaining = info.size
        while remaining:
            piece = self._read_exact(min(remaining, size))
            remaining -= len(piece)
            self._unread -= len(piece)
            yield piece
        pad = len(padding(info.size))
        if pad:
            self._read_exact(pad)
            self._unread -= pad

    def check_members(
        self,
        manifest: Manifest,
        open_target: Callable[[Member, MemberDigest], Sink | None] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Read every member after the manifest, check it against `manifest` and hash its data.

        Members must appear exactly as the manifest lists them: nothing missing, extra, repeated or out of
        order, each of the listed type and size. `open_target(member, digest)` may give a sink to write a file or
        block member's data to (None: verify only). Raises CorruptArchive at the first problem.
        """
        expected = manifest.members()
        names = {m.name for m in expected}
        position = 0
        seen: set[str] = set()
        for info in self.members(manifest):
            if position >= len(expected) or info.name != expected[position].name:
                if info.name == MANIFEST_NAME or info.name in seen:
                    raise CorruptArchive(f"{self.name}: member {info.name!r} appears twice")
                if info.name in names and position < len(expected):
                    raise CorruptArchive(
                        f"{self.name}: member {expected[position].name!r} is missing (or out of order: "
                        f"found {info.name!r} in its place)"
                    )
                raise CorruptArchive(f"{self.name}: unexpected member {info.name!r} (not in the manifest)")
            member = expected[position]
            position += 1
            seen.add(info.name)
            _check_matches(info, member, self.name)
            if member.kind not in ("file", "blocks"):
                continue
            digest = MemberDigest(member, manifest.block_size, self.name)
            out = open_target(member, digest) if open_target is not None else None
            complete = False
            try:
                for piece in self.read_data(info, digest.piece_size):
                    if out is None:
                        digest.update(piece)
                    else:
                        out.write(piece)
                    if progress is not None:
                        progress.advance(len(piece))
                complete = True
            finally:
                if out is not None:
                    out.close(complete)
            if out is None:
                digest.check()
        if position < len(expected):
            raise CorruptArchive(f"{self.name}: member {expected[position].name!r} is missing")
        self.finish()

    def finish(self) -> None:
        """After the end marker: only zero padding may follow, and the gzip stream must end cleanly."""
        while True:
            data = self._read(READ_SIZE)
            if not data:
                return
            if data.count(0) != len(data):
                raise CorruptArchive(f"{self.name}: unexpected data after the end of the archive")


class MemberDigest:
    """The checksum of a file (or run of blocks) as its data comes, piece by piece, checked with `check()`
    against the manifest's: sha256 of the whole file, or the block digests of a file kept by block."""

    __slots__ = ("member", "block_size", "archive", "whole", "digests")

    def __init__(self, member: Member, block_size: int, archive: str) -> None:
        self.member = member
        self.block_size = block_size
        self.archive = archive
        self.whole = None if member.entry.get("blocks") else hashlib.sha256()
        self.digests: list[bytes] = []

    @property
    def piece_size(self) -> int:
        """The pieces to give `update`: whole blocks, about READ_SIZE."""
        return self.block_size * max(1, READ_SIZE // self.block_size)

    def update(self, piece: bytes) -> None:
        """Hash the next piece."""
        if self.whole is not None:
            self.whole.update(piece)
        else:
            self.digests.append(block_digests(piece, self.block_size))

    def reserve(self) -> int:
        """(A file kept by block) A place for the digests of the next piece, to hash with `update_at`: the
        pieces may then be hashed in any order, on any thread."""
        self.digests.append(b"")
        return len(self.digests) - 1

    def update_at(self, place: int, piece: bytes) -> None:
        self.digests[place] = block_digests(piece, self.block_size)

    def check(self) -> None:
        """Raise CorruptArchive unless the data given matches the manifest."""
        member, entry = self.member, self.member.entry
        if self.whole is not None:
            ok = self.whole.hexdigest() == entry["sha256"]
        elif member.kind == "file":
            ok = b"".join(self.digests).hex() == entry["blocks"]
        else:
            width = 2 * DIGEST_BYTES
            run = slice(member.listed_at * width, (member.listed_at + member.count) * width)
            ok = b"".join(self.digests).hex() == entry["blocks"][run]
        if not ok:
            raise CorruptArchive(f"{self.archive}: checksum mismatch for {member.name}")


class _GzipStream:
    """Concatenated gzip members decompressed as they are read, in the reading thread."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._inflate = isal_zlib.decompressobj(wbits=31)
        self._fed = False  # whether the member being decompressed has been given any data yet

    def read(self, n: int) -> bytes:
        """Up to `n` bytes; fewer only at the end of the last member. EOFError if the data stops inside one."""
        parts = []
        while n:
            if self._inflate.eof:  # the next member starts right after this one
                data = self._inflate.unused_data
                self._inflate = isal_zlib.decompressobj(wbits=31)
                self._fed = False
            else:
                data = self._inflate.unconsumed_tail
            if not data:
                data = self._file.read(READ_SIZE)
                if not data:
                    if self._fed:
                        raise EOFError("compressed file ended before the end-of-stream marker was reached")
                    break
            self._fed = True
            piece = self._inflate.decompress(data, n)
            parts.append(piece)
            n -= len(piece)
        return b"".join(parts)

    def close(self) -> None:
        pass


def _check_matches(info: tarfile.TarInfo, member: Member, archive: str) -> None:
    kind = {"dir": info.isdir(), "symlink": info.issym()}.get(member.kind, info.isreg())
    if not kind:
        raise CorruptArchive(f"{archive}: member {info.name!r} is not the {member.kind} the manifest lists")
    if member.kind in ("file", "blocks") and info.size != member.size:
        raise CorruptArchive(f"{archive}: member {info.name!r} has size {info.size}, the manifest says {member.size}")
    if member.kind == "symlink" and info.linkname != member.entry["target"]:
        raise CorruptArchive(f"{archive}: symbolic link {info.name!r} points elsewhere than the manifest says")


def check_member(info: tarfile.TarInfo, archive: str, manifest: Manifest) -> None:
    """Refuse members that could write outside the tree or create special files, with a clear reason; a
    symbolic link is judged in the tree `manifest` describes (`LinkTree`), as the manifest's own are."""
    try:
        check_path(info.name)
    except CorruptArchive as exc:
        raise CorruptArchive(f"{archive}: {exc.message}") from None
    name = info.name
    if info.islnk():
        raise CorruptArchive(f"{archive}: member {name!r} is a hard link (to {info.linkname!r}); refused")
    if info.ischr() or info.isblk():
        raise CorruptArchive(f"{archive}: member {name!r} is a device file; refused")
    if info.isfifo():
        raise CorruptArchive(f"{archive}: member {name!r} is a FIFO; refused")
    if info.issym():
        why = manifest.link_tree().refusal(name, info.linkname)
        if why:
            raise CorruptArchive(f"{archive}: {refusal_message(name, info.linkname, why)}; refused")
    elif not (info.isreg() or info.isdir()):
        raise CorruptArchive(f"{archive}: member {name!r} has an unsupported type {info.type!r}; refused")
    if info.sparse is not None:
        raise CorruptArchive(f"{archive}: member {name!r} is a sparse file (not supported)")
