"""The backup manifest: the truth about one tarball, which verify and restore check every byte against.

It is the first member of every tarball (`backup_manifest.json`) and lists every directory, file and symbolic
link of the trees the tarball covers, with mode, mtime and (for files) size and a sha256. A file larger than
one block (BLOCK_SIZE, a few database pages) also lists a digest per block (the first 16 bytes of the block's
sha256, all in one hex string), and its `sha256` is then the sha256 of that list of digests (a hash list):
the file is hashed once, and an incremental can tell which blocks changed. Small blocks matter: catalog edits
touch database pages all over the file, and an incremental grows with the blocks they touch. A full's block
list comes with two more: `xxh3`, each block's 128-bit XXH3 (about ten times faster than sha256), and
`xxh3_pieces`, the XXH3 of each piece of PIECE_BLOCKS blocks (1 MiB). An incremental compares a file a piece
at a time and hashes each whole piece with XXH3 first; a piece equal to the full's takes the full's block
digests. In a piece that differs, each block is hashed with XXH3 and takes the full's sha256 digest if its XXH3
at the same place is unchanged; only the blocks that changed are hashed with sha256 (`block_digests_against`).

An incremental's manifest lists the whole state at its time; each file says where its bytes are (`stored`):
`whole` in this tarball, `base` unchanged in the full backup, `blocks` the full's file with the runs of blocks
listed in `changed` (`[first block, count]`) replaced by members `incr/blocks/<path>.<first block>` of this
tarball. `deleted` names what the full had and this state has not. `base` names the full by label and by the
sha256 of the full's manifest (its checksum). An incremental refers to its full rather than repeat it: a file
taken from the full unread (by the rule below) is listed as just `{"path", "type": "file", "stored": "base"}`,
its record being the full's; and a file stored by `blocks` lists the digests of its changed runs only, in
order, with the `sha256` of the whole resulting file. `check_base` fills both in from the full (the resulting
block list must hash to that `sha256`), which verify and restore do before anything else.

Change detection (the rule an incremental uses, see `fingerprint`): a file is taken from the full without
reading it only when its size, mtime, ctime and inode all equal the full's record and that record is not racy.
A record is racy when the file's mtime or ctime falls within RACY_WINDOW_NS of the full's scan start or after
it: a write in the same clock tick as the full's read leaves both timestamps unchanged, so only the content
hash can tell. Every other file is read and hashed, and stored only if its hash differs from the full's. The
ctime is what catches a same-size edit whose mtime was preserved or reset with `touch -d`/`os.utime`: the
kernel sets ctime to "now" on every write and every utime, and no user call can set it back. The catalog
database is always read and compared block by block; its entry says how it was captured (`capture`): a copy
made with SQLite's online backup API (`backup-api`, with `staged`), or the live file read in place under a
read transaction (`in-place`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import marshal
import os
import re
import stat
import struct
from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring_ascii

from xxhash import xxh3_128_digest

from alation_shell.errors import CorruptArchive

MANIFEST_NAME = "backup_manifest.json"
FORMAT_NAME = "alation-shell-backup"
FORMAT_VERSION = 1
BLOCK_SIZE = 16 * 1024  # 4 SQLite pages: scattered row edits stay small, and the digest list stays short
DIGEST_BYTES = 16
QUICK_BYTES = 16  # an XXH3-128 digest
PIECE_BLOCKS = 64  # blocks per piece: files are read, and compared by `xxh3_pieces`, 1 MiB at a time
RACY_WINDOW_NS = 2_000_000_000
BLOCKS_DIR = "incr/blocks"

# The trees each tarball covers (paths relative to the instance root, as in the tarball).
PART_ROOTS = {
    "alation": ("data1/pgsql", "data1/site_data"),
    "eb": ("data1/eventbus",),
    "all": ("data1/pgsql", "data1/site_data", "data1/eventbus"),  # Backup V1: one tarball
}
KINDS = ("full", "incr")
FORMATS = ("v2", "v1")
STORED = ("whole", "base", "blocks")
CAPTURES = ("backup-api", "in-place")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]*")
_LABEL = re.compile(r"\d{12}")
_UNSAFE_PART = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")  # an empty, "." or ".." part
# What the format's JSON can hold, checked before it is parsed (`check_shape`): refusing a damaged or crafted
# manifest must not cost more time or memory than reading a real one of its size.
MAX_DEPTH = 5  # the manifest, its entries, an entry, its changed runs, a run
TEXT_BYTES = 12 * 4096  # the longest string but a block list: a 4096-character path, each "\uXXXX\uXXXX"
HEX_LISTS = (b"blocks", b"xxh3", b"xxh3_pieces")  # a file's block lists: as long as the file needs
BYTES_PER_STRING = 8  # a real manifest has one string (key or value) per 9 bytes at the very least,
BYTES_PER_CONTAINER = 32  # and one array or object per 40 (an entry; a changed run and its digest)
_BRACKETS = bytes.maketrans(b"[{]}", b"(())"), bytes(set(range(256)) - set(b"[{]}"))  # (table, delete)
_HEX_BYTES = re.compile(rb"[0-9a-f]*")


def check_path(path: object) -> str:
    """`path` if it is a safe relative member path (no absolute path, no `..`, no empty part), else raise."""
    if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
        raise CorruptArchive(f"invalid member path {path!r}")
    if path.startswith("/"):
        raise CorruptArchive(f"member {path!r} has an absolute path")
    if _UNSAFE_PART.search(path):
        raise CorruptArchive(f"member {path!r} has an unsafe path ('..' or an empty part)")
    return path


MAX_LINKS = 40  # symbolic links one resolution may follow, as the kernel's limit (MAXSYMLINKS)
TARGET_MAX = 4095  # the longest symbolic link target the kernel stores
LINK_REFUSALS = {
    "out": "a symbolic link out of the tree",
    "missing": "a symbolic link to nothing in the tree",
    "loop": "a loop of symbolic links (or more than 40 in a row)",
}


class LinkTree:
    """A tree of directories, files and symbolic links (`kinds`: path -> "dir", "file" or "symlink";
    `targets`: link -> target; paths relative, '/'-separated), and its roots: judges where each link leads.

    A link is resolved as the kernel would once the whole tree exists: each component of its target in
    turn, from the directory holding the link; a link met on the way is followed (its own target, from its
    own directory), `..` goes to the parent of the directory the resolution has reached (not of the text
    before it), and at most MAX_LINKS links are followed. It is accepted only if every step stays inside its
    tree root (the root among `roots` that holds the link) and it ends at an entry of the tree. The judgement
    of each link is kept, so that a tree of many links costs each link's own target once.
    """

    def __init__(self, kinds: dict[str, str], targets: dict[str, str], roots: list[str] | tuple[str, ...]) -> None:
        self.kinds = kinds
        self.targets = targets
        self.roots = roots
        self._known: dict[str, tuple[str | None, int, str]] = {}
        self._active: set[str] = set()

    def refusal(self, link: str, target: str | None = None) -> str:
        """Why link `link` (to `target`, default the tree's) is refused: "out", "missing" or "loop"; "" if
        it resolves inside its root."""
        if target is None or target == self.targets.get(link):
            why = self._resolve(link, 0)[2]
        else:
            why = self._walk(link, target, 0)[2]  # a link the tree does not hold (a member no manifest lists)
        return "loop" if why == "deep" else why

    def refused(self) -> dict[str, str]:
        """Every refused link of the tree, in path order, with the reason."""
        found = {link: self.refusal(link) for link in sorted(self.targets)}
        return {link: why for link, why in found.items() if why}

    def _resolve(self, link: str, depth: int) -> tuple[str | None, int, str]:
        """(where `link` leads, links followed, "" or why refused), kept once known."""
        known = self._known.get(link)
        if known is not None:
            return known
        if link in self._active:
            return None, MAX_LINKS + 1, "loop"  # the resolution came back to a link it is resolving
        if depth > MAX_LINKS:
            return None, MAX_LINKS + 1, "deep"  # more links than the limit, at least: not kept
        self._active.add(link)
        try:
            found = self._walk(link, self.targets[link], depth)
        finally:
            self._active.discard(link)
        if found[2] == "deep":
            if depth:
                return found  # cut short by this resolution's depth; on its own the link may do
            found = (None, found[1], "loop")
        self._known[link] = found
        return found

    def _walk(self, link: str, target: str, depth: int) -> tuple[str | None, int, str]:
        root = next((r for r in self.roots if link.startswith(r + "/")), None)
        if root is None or not isinstance(target, str) or not target or target[0] == "/":
            return None, 1, "out"
        floor = root.count("/") + 1  # the parts of the root: the resolution never goes above them
        here = link.split("/")[:-1]
        pending = target.split("/")[::-1]
        count = 1
        at_file = False
        kinds = self.kinds
        while pending:
            part = pending.pop()
            if at_file:
                return None, count, "missing"  # a path through a file
            if part in ("", "."):
                continue
            if part == "..":
                if len(here) <= floor:
                    return None, count, "out"
                here.pop()
                continue
            here.append(part)
            path = "/".join(here)
            kind = kinds.get(path)
            if kind is None:
                return None, count, "missing"
            if kind == "symlink":
                where, used, why = self._resolve(path, depth + 1)
                count += used
                if where is None:
                    return None, count, why
                if count > MAX_LINKS:
                    return None, count, "deep" if depth else "loop"
                here = where.split("/")
                kind = kinds.get(where)
            at_file = kind == "file"
        return "/".join(here), count, ""


def tree_of(entries: list[dict], roots: list[str] | tuple[str, ...]) -> LinkTree:
    """The LinkTree of a manifest's entries."""
    kinds = {e["path"]: e["type"] for e in entries}
    targets = {e["path"]: e["target"] for e in entries if e["type"] == "symlink"}
    return LinkTree(kinds, targets, roots)


def refusal_message(path: str, target: str, why: str) -> str:
    """`member 'x' is a symbolic link out of the tree (-> ../..)`."""
    return f"member {path!r} is {LINK_REFUSALS.get(why, LINK_REFUSALS['loop'])} (-> {target})"


def block_count(size: int, block_size: int) -> int:
    """Number of blocks recorded for a file of `size` bytes (0: the file is small and has no block list)."""
    return -(-size // block_size) if size > block_size else 0


def block_member(path: str, first: int) -> str:
    """Member name of the run of blocks starting at block `first` of `path` in an incremental tarball."""
    return f"{BLOCKS_DIR}/{path}.{first}"


def block_digests(data: bytes | memoryview, block_size: int) -> bytes:
    """The digests of each `block_size` slice of `data` (the last may be short), concatenated."""
    view = memoryview(data)
    sha256 = hashlib.sha256
    return b"".join(sha256(view[i : i + block_size]).digest()[:DIGEST_BYTES] for i in range(0, len(view), block_size))


def quick_digests(data: bytes | memoryview, block_size: int) -> bytes:
    """The XXH3-128 digests of each `block_size` slice of `data`, concatenated (a full's `xxh3` list)."""
    view = memoryview(data)
    return b"".join(xxh3_128_digest(view[i : i + block_size]) for i in range(0, len(view), block_size))


def block_digests_against(data: bytes | memoryview, block_size: int, old_quick: bytes, old: bytes) -> bytes:
    """The block digests of `data`, as `block_digests` gives them, for a piece of a file at the place where
    the full had the blocks with XXH3 digests `old_quick` and digests `old` (either may be shorter than
    `data`: the file grew). A block whose XXH3 equals the full's takes the full's digest; only the others are
    hashed with sha256."""
    view = memoryview(data)
    blocks = [view[i : i + block_size] for i in range(0, len(view), block_size)]
    quick = [xxh3_128_digest(block) for block in blocks]
    if b"".join(quick) == old_quick[: len(blocks) * QUICK_BYTES]:
        return old[: len(blocks) * DIGEST_BYTES]  # the common case: nothing changed in this piece
    sha256 = hashlib.sha256
    out = []
    for n, block in enumerate(blocks):
        if quick[n] == old_quick[n * QUICK_BYTES : (n + 1) * QUICK_BYTES]:
            out.append(old[n * DIGEST_BYTES : (n + 1) * DIGEST_BYTES])
        else:
            out.append(sha256(block).digest()[:DIGEST_BYTES])
    return b"".join(out)


def piece_digest(piece: bytes | memoryview) -> bytes:
    """The XXH3-128 of a whole piece (a full's `xxh3_pieces` list); released from the GIL for a large piece."""
    return xxh3_128_digest(piece)


def piece_count(size: int, block_size: int) -> int:
    """Number of pieces recorded in `xxh3_pieces` for a file of `size` bytes (0 for a small file)."""
    return -(-block_count(size, block_size) // PIECE_BLOCKS)


def taken_from_base(path: str) -> tuple[dict, str]:
    """The entry of an incremental for a file taken from its full unread, which refers to the full's record
    of it, and that entry as JSON (as `Manifest.create` writes it)."""
    return ({"path": path, "type": "file", "stored": "base"},
            f'{{"path":{encode_basestring_ascii(path)},"type":"file","stored":"base"}}')


def file_hash(data: bytes) -> str:
    """The `sha256` of a small file."""
    return hashlib.sha256(data).hexdigest()


def hash_list(digests: bytes) -> str:
    """The `sha256` of a file with blocks: the sha256 of its block digests."""
    return hashlib.sha256(digests).hexdigest()


def runs(indexes: list[int]) -> list[list[int]]:
    """[0, 1, 2, 7] -> [[0, 3], [7, 1]]: sorted block numbers as runs of consecutive blocks."""
    out: list[list[int]] = []
    for i in indexes:
        if out and out[-1][0] + out[-1][1] == i:
            out[-1][1] += 1
        else:
            out.append([i, 1])
    return out


_FINGERPRINT = struct.Struct("<IQqqQ")  # mode, size, mtime, ctime, inode
NO_FINGERPRINT = bytes(_FINGERPRINT.size)  # no file shows it: a file's mode is never 0


def fingerprint(base: dict, racy_from_ns: int) -> bytes:
    """What a file must show (`stat_fingerprint`) to be taken unread from the full whose record of it is
    `base` (its scan started RACY_WINDOW_NS after `racy_from_ns`): the mode of a regular file with the
    recorded permissions, size, mtime, ctime and inode, packed. NO_FINGERPRINT if the record is not of a
    file, or of a capture of the catalog database, or racy."""
    if (base.get("type") != "file" or base.get("staged") or "capture" in base or "ino" not in base
            or base["mtime_ns"] >= racy_from_ns or base["ctime_ns"] >= racy_from_ns):
        return NO_FINGERPRINT
    return _FINGERPRINT.pack(stat.S_IFREG | base["mode"], base["size"], base["mtime_ns"], base["ctime_ns"],
                             base["ino"])


def stat_fingerprint(st: os.stat_result, _pack: Callable[..., bytes] = _FINGERPRINT.pack) -> bytes:
    """The file's mode, size, mtime, ctime and inode, to compare with a `fingerprint`."""
    return _pack(st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Member:
    """One tarball member the manifest calls for, in the order it must appear."""

    __slots__ = ("name", "kind", "size", "entry", "block", "count", "listed_at")

    def __init__(self, name: str, kind: str, size: int, entry: dict, block: int = 0, count: int = 0,
                 listed_at: int = 0) -> None:
        self.name = name
        self.kind = kind  # "dir", "file", "symlink" or "blocks" (a run of `count` blocks from `block`)
        self.size = size
        self.entry = entry
        self.block = block
        self.count = count
        self.listed_at = listed_at  # where the run's digests start in the entry's `blocks`, in digests


class ManifestHead:
    """What a manifest says of its tarball as a whole (`data`: its label, kind, part, ...), for a manifest and
    for a full's manifest as its incrementals look things up in it (`FullPart`)."""

    data: dict

    @property
    def label(self) -> str:
        return self.data["label"]

    @property
    def kind(self) -> str:
        return self.data["type"]

    @property
    def backup_format(self) -> str:
        return self.data["backup_format"]

    @property
    def part(self) -> str:
        return self.data["part"]

    @property
    def backup_id(self) -> str:
        return self.data["backup_id"]

    @property
    def build(self) -> str:
        return self.data["build"]

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.data["created"])

    @property
    def base(self) -> dict | None:
        return self.data["base"]

    @property
    def block_size(self) -> int:
        return self.data["block_size"]

    @property
    def roots(self) -> list[str]:
        return self.data["roots"]


class Manifest(ManifestHead):
    """A parsed, validated manifest. Build one with `Manifest.create`, read one with `Manifest.parse`."""

    def __init__(self, data: dict, raw: bytes, checksum: str = "") -> None:
        """`raw` is the manifest's bytes, `data` what they say. A manifest loaded from the base index
        (records.py) has no bytes, only the `checksum` they had."""
        self.data = data
        self.raw = raw
        self.checksum = checksum or hashlib.sha256(raw).hexdigest()
        self._links: LinkTree | None = None

    # Reading -----------------------------------------------------------------------------------
    @classmethod
    def parse(cls, raw: bytes, source: str = "manifest") -> Manifest:
        """Parse and validate manifest bytes; CorruptArchive naming `source` if anything is off."""
        try:
            check_shape(raw)
            data = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptArchive(f"{source}: the manifest is not valid JSON ({exc})") from None
        except CorruptArchive as exc:
            raise CorruptArchive(f"{source}: {exc.message}") from None
        try:
            _validate(data)
        except CorruptArchive as exc:
            raise CorruptArchive(f"{source}: {exc.message}") from None
        return cls(data, raw)

    @classmethod
    def create(cls, data: dict, rendered: list[str | None] | None = None) -> Manifest:
        """Serialize a manifest the backup built (valid by construction; the tests parse what it writes).

        `rendered[i]`, if given and not None, is `data["entries"][i]` as JSON already (as `json.dumps` with
        these separators writes it); the result is the same bytes. The entries and deleted paths come last.
        """
        dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
        if rendered is None:
            return cls(data, (dumps(data) + "\n").encode())
        head = dumps({k: v for k, v in data.items() if k not in ("entries", "deleted")})
        entries = ",".join(text if text is not None else dumps(entry)
                           for entry, text in zip(data["entries"], rendered, strict=True))
        raw = f'{head[:-1]},"entries":[{entries}],"deleted":{dumps(data["deleted"])}}}\n'
        return cls(data, raw.encode())

    @property
    def entries(self) -> list[dict]:
        return self.data["entries"]

    @property
    def deleted(self) -> list[str]:
        return self.data["deleted"]

    def by_path(self) -> dict[str, dict]:
        return {e["path"]: e for e in self.entries}

    def link_tree(self) -> LinkTree:
        """The tree the entries describe, to judge symbolic links in (made on first use)."""
        if self._links is None:
            self._links = tree_of(self.entries, self.roots)
        return self._links

    def stored_bytes(self) -> int:
        """Bytes of file data in this tarball (what reading it has to hash)."""
        return sum(m.size for m in self.members())

    def members(self) -> list[Member]:
        """The members after the manifest, exactly in the order the tarball holds them."""
        out: list[Member] = []
        bs = self.block_size
        for entry in self.entries:
            path, kind = entry["path"], entry["type"]
            if kind != "file":
                out.append(Member(path, kind, 0, entry))
            elif entry["stored"] == "whole":
                out.append(Member(path, "file", entry["size"], entry))
            elif entry["stored"] == "blocks":
                packed = lists_changed_runs_only(entry, bs)
                at = 0
                for first, count in entry["changed"]:
                    size = min((first + count) * bs, entry["size"]) - first * bs
                    out.append(Member(block_member(path, first), "blocks", size, entry, first, count,
                                      at if packed else first))
                    at += count
        return out

    def check_base(self, full: Manifest) -> None:
        """That this incremental fits `full` (its base): label, checksum and every file it takes from it; and
        the records it refers to the full for are filled in from it (see the module docstring)."""
        base = self.base
        if base is None or full.kind != "full":
            raise CorruptArchive(f"backup {self.label} is not an incremental of full backup {full.label}")
        if base["label"] != full.label or base["checksum"] != full.checksum:
            raise CorruptArchive(
                f"incremental {self.label} was not made from this full backup {full.label} "
                "(base label or checksum differs)"
            )
        if self.part != full.part or self.block_size != full.block_size:
            raise CorruptArchive(f"incremental {self.label} does not match full {full.label} (part or block size)")
        old = full.by_path()
        for entry in self.entries:
            if entry["type"] != "file" or entry["stored"] == "whole":
                continue
            prev = old.get(path := entry["path"])
            if prev is None or prev["type"] != "file":
                raise CorruptArchive(f"{path}: incremental {self.label} needs it from its full, which lacks it")
            if entry["stored"] == "base":
                if "sha256" not in entry:  # unchanged since the full: the full's record is this file's
                    entry.update((k, v) for k, v in prev.items() if k not in _FULL_ONLY)
                elif prev["sha256"] != entry["sha256"]:
                    raise CorruptArchive(f"{path}: checksum in incremental {self.label} differs from the full")
            if entry["stored"] == "blocks":
                if lists_changed_runs_only(entry, self.block_size):
                    _fill_blocks(entry, prev, self.label, self.block_size)
                _check_blocks_against(entry, prev)
        expected_deleted = sorted(set(old) - {e["path"] for e in self.entries})
        if self.deleted != expected_deleted:
            raise CorruptArchive(f"incremental {self.label}: its list of deleted paths does not match its full")


class FullPart(ManifestHead):
    """A full backup's manifest of one tarball as its incrementals look things up in it: the manifest's
    head (`data`: all but its entries and deleted paths), and per path (`records`) the `fingerprint` a file
    must show to be taken unread, followed by the full's record of it, marshalled (`get` decodes it).

    Made from a parsed manifest (`of`), or from the base index (records.py), which keeps it as it is: an
    incremental decides for most files by comparing bytes (`records[path].startswith(stat_fingerprint(st))`),
    and decodes only the records of the files it reads.
    """

    def __init__(self, head: dict, checksum: str, records: dict[str, bytes]) -> None:
        self.data = head
        self.checksum = checksum
        self.records = records

    @classmethod
    def of(cls, manifest: Manifest) -> FullPart:
        racy_from = manifest.data["scan_started_ns"] - RACY_WINDOW_NS
        records = {e["path"]: fingerprint(e, racy_from) + marshal.dumps(e) for e in manifest.entries}
        return cls(_head(manifest), manifest.checksum, records)

    def index_form(self) -> dict:
        """What the base index keeps (marshal data; `FullPart(**it)` reads it back)."""
        return {"head": self.data, "checksum": self.checksum, "records": self.records}

    def get(self, path: str) -> dict | None:
        record = self.records.get(path)
        return marshal.loads(memoryview(record)[len(NO_FINGERPRINT):]) if record is not None else None

    def paths(self) -> set[str]:
        return set(self.records)


def _head(manifest: Manifest) -> dict:
    return {k: v for k, v in manifest.data.items() if k not in ("entries", "deleted")}


_FULL_ONLY = ("stored", "xxh3", "xxh3_pieces")  # what a full's record says that an incremental's does not


def lists_changed_runs_only(entry: dict, block_size: int) -> bool:
    """Whether a file stored by `blocks` lists the digests of its changed runs only (not filled in yet)."""
    return len(entry["blocks"]) != 2 * DIGEST_BYTES * block_count(entry["size"], block_size)


def _fill_blocks(entry: dict, prev: dict, label: str, block_size: int) -> None:
    """A block-stored file's whole block list: its changed runs' digests, the full's record `prev` elsewhere;
    it must hash to the file's `sha256`."""
    width = 2 * DIGEST_BYTES
    listed, old = entry["blocks"], prev.get("blocks", "")
    count = block_count(entry["size"], block_size)
    parts = []
    start = at = 0
    for first, n in [*entry["changed"], [count, 0]]:
        if first > start and len(old) < first * width:
            raise CorruptArchive(f"{entry['path']}: blocks {start}-{first - 1} are neither in incremental {label} "
                                 "nor in its full")
        parts.append(old[start * width : first * width])
        parts.append(listed[at * width : (at + n) * width])
        at += n
        start = first + n
    blocks = "".join(parts)
    if hash_list(bytes.fromhex(blocks)) != entry["sha256"]:
        raise CorruptArchive(f"{entry['path']}: the blocks of incremental {label} and of its full do not make up "
                             "the file's checksum")
    entry["blocks"] = blocks


def _check_blocks_against(entry: dict, prev: dict) -> None:
    """A block-stored file: every block not stored here must be the full's block at the same place."""
    new, old = entry["blocks"], prev.get("blocks", "")
    width = 2 * DIGEST_BYTES
    start = 0
    for first, count in [*entry["changed"], [len(new) // width, 0]]:
        gap = slice(start * width, first * width)
        if first > start and (len(old) < first * width or new[gap] != old[gap]):
            raise CorruptArchive(f"{entry['path']}: blocks {start}-{first - 1} are neither in the incremental "
                                 "nor in the full")
        start = first + count


def check_shape(raw: bytes) -> None:
    """Refuse, before parsing, JSON that no manifest has: nested deeper than MAX_DEPTH, a string longer than
    TEXT_BYTES that is not a block list, more strings or arrays and objects than its size allows. Done by
    bytes methods, in about half the time `json.loads` takes."""
    if raw.count(b'"') // 2 > len(raw) // BYTES_PER_STRING + 64:
        raise CorruptArchive(f"the manifest holds more strings than {len(raw)} bytes of a manifest can "
                             f"(one per {BYTES_PER_STRING} bytes)")
    text = raw
    if b"\\" in raw:  # escaped backslashes and quotes, blanked (same length): every '"' left delimits a string
        text = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    parts = text.split(b'"')
    if len(parts) % 2 == 0:
        raise ValueError("a string is not closed")
    strings = parts[1::2]  # string k is a value if the text before it (parts[2k]) is ":", its key string k - 1
    for k in itertools.compress(itertools.count(), map(TEXT_BYTES.__lt__, map(len, strings))):  # the few long ones
        string = strings[k]
        if not (k and parts[2 * k].strip() == b":" and strings[k - 1] in HEX_LISTS and _HEX_BYTES.fullmatch(string)):
            raise CorruptArchive(f"the manifest holds a string of {len(string)} bytes; no field but a block "
                                     f"list holds more than {TEXT_BYTES}")
    brackets = b"".join(parts[0::2]).translate(*_BRACKETS)  # "(" opens an array or object, ")" closes it
    containers = len(brackets) // 2
    for _ in range(MAX_DEPTH):  # each pass removes the arrays and objects that hold none
        brackets = brackets.replace(b"()", b"")
    if brackets:
        if brackets.count(b"(") != brackets.count(b")"):
            raise ValueError("brackets do not match")
        raise CorruptArchive(f"the manifest nests deeper than its format does (at most {MAX_DEPTH} levels of "
                             "arrays and objects)")
    if containers > len(raw) // BYTES_PER_CONTAINER + 64:
        raise CorruptArchive(f"the manifest holds more arrays and objects than {len(raw)} bytes of a manifest can "
                             f"(one per {BYTES_PER_CONTAINER} bytes)")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _is_int(value: object, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _validate(data: object) -> None:
    """Check every field a reader relies on; raise CorruptArchive with the first problem found."""
    if not isinstance(data, dict):
        raise CorruptArchive("the manifest is not a JSON object")
    if data.get("format") != FORMAT_NAME:
        raise CorruptArchive("not an alation-shell backup manifest")
    if data.get("version") != FORMAT_VERSION:
        raise CorruptArchive(f"manifest format version {data.get('version')!r} is not supported")
    checks = {
        "label": lambda v: isinstance(v, str) and _LABEL.fullmatch(v),
        "type": lambda v: v in KINDS,
        "backup_format": lambda v: v in FORMATS,
        "part": lambda v: v in PART_ROOTS,
        "backup_id": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16,64}", v),
        "build": lambda v: isinstance(v, str) and len(v) <= 64 and re.fullmatch(r"\d+(\.\d+)*", v),
        "created": lambda v: isinstance(v, str) and len(v) <= 64 and _is_iso_time(v),
        "scan_started_ns": _is_int,
        "hash": lambda v: v == "sha256",
        "block_size": lambda v: _is_int(v, 4096),
        "roots": lambda v: isinstance(v, list),
        "entries": lambda v: isinstance(v, list),
        "deleted": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    }
    for key, ok in checks.items():
        if key not in data or not ok(data[key]):
            raise CorruptArchive(f"manifest field {key!r} is missing or invalid")
    if data["roots"] != list(PART_ROOTS[data["part"]]):
        raise CorruptArchive(f"manifest roots {data['roots']!r} do not match part {data['part']!r}")
    if (data["part"] == "all") != (data["backup_format"] == "v1"):
        raise CorruptArchive("manifest part does not match its backup format")
    if data["backup_format"] == "v1" and data["type"] != "full":
        raise CorruptArchive("a Backup V1 manifest can only be a full backup")
    base = data.get("base", "missing")
    if data["type"] == "full":
        if base is not None:
            raise CorruptArchive("a full backup's manifest names a base")
    elif not (
        isinstance(base, dict)
        and set(base) == {"label", "checksum"}
        and isinstance(base["label"], str)
        and _LABEL.fullmatch(base["label"])
        and isinstance(base["checksum"], str)
        and _HEX64.fullmatch(base["checksum"])
    ):
        raise CorruptArchive("an incremental's manifest must name its base full backup (label, checksum)")
    _validate_entries(data)


def _validate_entries(data: dict) -> None:
    roots = data["roots"]
    bs = data["block_size"]
    full = data["type"] == "full"
    dirs: set[str] = set()
    previous = ""
    root = ""
    checksums = []  # every file's sha256, checked to be hex all at once
    links = False
    for entry in data["entries"]:
        if type(entry) is not dict:
            raise CorruptArchive("a manifest entry is not an object")
        path = entry.get("path")
        if (type(path) is not str or "/." in path or "//" in path or path[:1] in ("", ".", "/") or path[-1] == "/"
                or "\0" in path or len(path) > 4096):
            check_path(path)  # the full check, for paths that might fail it (a quick look passes the others)
        if path <= previous:
            raise CorruptArchive(f"manifest entries out of order or repeated at {path!r}")
        previous = path
        if not (root and path.startswith(root + "/")):  # entries are sorted: mostly in the last one's tree
            root = next((r for r in roots if path == r or path.startswith(r + "/")), "")
            if not root:
                raise CorruptArchive(f"member {path!r} is outside the trees this backup covers")
        if path != root and path.rsplit("/", 1)[0] not in dirs:
            raise CorruptArchive(f"member {path!r} has no parent directory in the manifest")
        kind = entry.get("type")
        if kind == "file" and len(entry) == 3 and entry.get("stored") == "base" and not full and path != root:
            continue  # taken unchanged from the full: its record is the full's (`check_base` fills it in)
        mode = entry.get("mode")
        if not (type(mode) is int and 0 <= mode <= 0o777 and type(entry.get("mtime_ns")) is int):
            raise CorruptArchive(f"{path}: invalid mode or mtime in the manifest")
        if kind == "dir":
            dirs.add(path)
        elif kind == "symlink":
            target = entry.get("target")
            if type(target) is not str or not target or len(target) > TARGET_MAX or "\0" in target:
                raise CorruptArchive(f"{path}: invalid symbolic link target in the manifest")
            if path == root:
                raise CorruptArchive(refusal_message(path, target, "out"))
            links = True
        elif kind == "file":
            if path == root:
                raise CorruptArchive(f"{path}: a backed-up tree must be a directory")
            _validate_file(entry, bs, full)
            checksums.append(entry["sha256"])
        else:
            raise CorruptArchive(f"member {path!r} has unsupported type {kind!r}")
    if not _HEX.fullmatch("".join(checksums)):
        bad = next(e for e in data["entries"] if e["type"] == "file" and not _HEX64.fullmatch(e["sha256"]))
        raise CorruptArchive(f"{bad['path']}: invalid size or checksum in the manifest")
    if links:  # judged in the whole tree, as it will be once restored (the seeded data has none)
        tree = tree_of(data["entries"], roots)
        for path, why in tree.refused().items():
            raise CorruptArchive(refusal_message(path, tree.targets[path], why))
    for path in data["deleted"]:
        check_path(path)


def _validate_file(entry: dict, bs: int, full: bool) -> None:
    """A file's entry (but whether its sha256 is hex: `_validate_entries` checks that for all at once)."""
    path = entry["path"]
    size = entry.get("size")
    sha256 = entry.get("sha256")
    if type(size) is not int or size < 0 or type(sha256) is not str or len(sha256) != 64:
        raise CorruptArchive(f"{path}: invalid size or checksum in the manifest")
    stored = entry.get("stored")
    if stored not in STORED or (full and stored != "whole"):
        raise CorruptArchive(f"{path}: invalid storage {stored!r} in the manifest")
    if entry.get("capture", CAPTURES[0]) not in CAPTURES:
        raise CorruptArchive(f"{path}: invalid capture {entry['capture']!r} in the manifest")
    if size <= bs and not ("blocks" in entry or "xxh3" in entry or "xxh3_pieces" in entry or "changed" in entry):
        return  # the common case, a small file: nothing more to check
    count = block_count(size, bs)
    blocks = entry.get("blocks", "")
    # A block-stored file may list its changed runs' digests only (their number of blocks, `listed`).
    changed = entry.get("changed")
    if stored == "blocks" and (not count or not isinstance(changed, list) or not _valid_runs(changed, count)):
        raise CorruptArchive(f"{path}: invalid list of changed blocks in the manifest")
    listed = sum(n for _, n in changed) if stored == "blocks" else -1
    if (count or "blocks" in entry) and (
        not isinstance(blocks, str)
        or not _HEX.fullmatch(blocks)
        or (len(blocks) != 2 * DIGEST_BYTES * count and len(blocks) != 2 * DIGEST_BYTES * listed)
        or (len(blocks) == 2 * DIGEST_BYTES * count and hash_list(bytes.fromhex(blocks)) != entry["sha256"])
    ):
        raise CorruptArchive(f"{path}: invalid block list in the manifest")
    quick = entry.get("xxh3", "")
    if "xxh3" in entry and (
        not count
        or not isinstance(quick, str)
        or len(quick) != 2 * QUICK_BYTES * count
        or not _HEX.fullmatch(quick)
    ):
        raise CorruptArchive(f"{path}: invalid XXH3 block list in the manifest")
    pieces = entry.get("xxh3_pieces", "")
    if "xxh3_pieces" in entry and (
        not count
        or not isinstance(pieces, str)
        or len(pieces) != 2 * QUICK_BYTES * piece_count(size, bs)
        or not _HEX.fullmatch(pieces)
    ):
        raise CorruptArchive(f"{path}: invalid XXH3 piece list in the manifest")
    if stored != "blocks" and "changed" in entry:
        raise CorruptArchive(f"{path}: changed blocks listed for a file not stored by blocks")


def _valid_runs(changed: list, count: int) -> bool:
    """Runs `[first, count]` in order, not touching, inside the file's `count` blocks."""
    end = -1
    for run in changed:
        if not (isinstance(run, list) and len(run) == 2 and _is_int(run[0]) and _is_int(run[1], 1)):
            return False
        if run[0] <= end or run[0] + run[1] > count:
            return False
        end = run[0] + run[1]
    return True


def _is_iso_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False
