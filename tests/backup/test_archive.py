"""The tarball format and the manifest: writing, strict reading, and validation of what is read."""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alation_shell import backup
from alation_shell.backup.archive import (
    MANIFEST_CAP,
    MANIFEST_FLOOR,
    MANIFEST_RATIO,
    TarballReader,
    TarballWriter,
    _parse_plain,
    manifest_limit,
    padded_gzip_member,
    tar_header,
)
from alation_shell.backup.manifest import (
    BLOCK_SIZE,
    DIGEST_BYTES,
    MANIFEST_NAME,
    Manifest,
    block_count,
    block_digests,
    block_digests_against,
    check_path,
    hash_list,
    quick_digests,
    runs,
    taken_from_base,
)
from alation_shell.backup.records import read_manifest
from alation_shell.errors import CorruptArchive
from alation_shell.instance import Instance
from tests.backup import STRING_MIB, change_catalog, hostile_nested, hostile_string, night


def small_manifest(entries: list[dict]) -> Manifest:
    return Manifest.create({
        "format": "alation-shell-backup", "version": 1, "backup_id": "0123456789abcdef", "label": "202603030100",
        "type": "full", "backup_format": "v2", "part": "eb", "build": "17.0.0.49181",
        "created": "2026-03-03T01:00:00+00:00", "scan_started_ns": 0, "hash": "sha256", "block_size": BLOCK_SIZE,
        "roots": ["data1/eventbus"], "base": None, "entries": entries, "deleted": [],
    })


def file_entry(path: str, data: bytes) -> dict:
    entry = {"path": path, "type": "file", "mode": 0o644, "mtime_ns": 0, "size": len(data), "stored": "whole"}
    if len(data) > BLOCK_SIZE:
        blocks = block_digests(data, BLOCK_SIZE)
        entry.update(sha256=hash_list(blocks), blocks=blocks.hex())
    else:
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    return entry


def write_tarball(path: Path, files: dict[str, bytes], reserve: int) -> Manifest:
    entries = [{"path": "data1/eventbus", "type": "dir", "mode": 0o755, "mtime_ns": 0}]
    entries += [file_entry(f"data1/eventbus/{name}", data) for name, data in sorted(files.items())]
    manifest = small_manifest(entries)
    writer = TarballWriter(path, reserve=reserve)
    writer.add_entry("data1/eventbus", kind="dir", mode=0o755, mtime_ns=0)
    for name, data in sorted(files.items()):
        writer.add_bytes(f"data1/eventbus/{name}", data)
    writer.finish(manifest)
    return manifest


FILES = {
    "empty": b"",
    "small.log": b"hello\n",
    "big.log": bytes(range(256)) * (3 * 4096 + 17),  # several compression chunks, several blocks
    "ünïcødé-" + "long" * 40 + ".log": b"a long non-ASCII name\n",
}


@pytest.mark.parametrize("reserve", [0, 1, 1 << 16])
def test_written_tarball_is_read_back_by_python_and_by_our_strict_reader(tmp_path: Path, reserve: int) -> None:
    path = tmp_path / "t.tar.gz"
    manifest = write_tarball(path, FILES, reserve)
    assert not list(tmp_path.glob("*.partial"))
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        assert names[0] == MANIFEST_NAME
        assert names[1:] == [e["path"] for e in manifest.entries]
        assert json.loads(tar.extractfile(MANIFEST_NAME).read()) == manifest.data
        for name, data in FILES.items():
            assert tar.extractfile(f"data1/eventbus/{name}").read() == data
    with TarballReader(path) as reader:
        assert reader.manifest().checksum == manifest.checksum
        reader.check_members(manifest)


def test_held_places_take_members_written_elsewhere_in_stream_order(tmp_path: Path) -> None:
    """An incremental's catalog blocks are compressed elsewhere and go into a place held in the stream while
    the files after them are written: GNU tar and our reader see every member in manifest order."""
    files = {f"{n}.log": f"file {n}\n".encode() * (n + 1) for n in range(4)}
    entries = [{"path": "data1/eventbus", "type": "dir", "mode": 0o755, "mtime_ns": 0}]
    entries += [file_entry(f"data1/eventbus/{name}", data) for name, data in sorted(files.items())]
    manifest = small_manifest(entries)
    elsewhere = tmp_path / "members.gz"  # 1.log and 2.log, as gzip members of their own
    part = io.BytesIO()
    for name in ("1.log", "2.log"):
        part.write(tar_header(f"data1/eventbus/{name}", size=len(files[name])) + files[name])
        part.write(bytes(-len(files[name]) % 512))
    elsewhere.write_bytes(gzip.compress(part.getvalue()[:512]) + gzip.compress(part.getvalue()[512:]))
    path = tmp_path / "t.tar.gz"
    writer = TarballWriter(path, inline=True)
    writer.add_entry("data1/eventbus", kind="dir", mode=0o755, mtime_ns=0)
    writer.add_bytes("data1/eventbus/0.log", files["0.log"])
    place = writer.hold_place()
    empty = writer.hold_place()  # never filled: stays empty
    writer.add_bytes("data1/eventbus/3.log", files["3.log"])
    with open(elsewhere, "rb") as members:
        writer.fill_place(place, members.fileno(), elsewhere.stat().st_size)
        writer.finish(manifest)
    assert empty == place + 1
    listed = subprocess.run(["tar", "-tzf", str(path)], check=True, capture_output=True, text=True).stdout
    assert [name.rstrip("/") for name in listed.split()] == [MANIFEST_NAME, *(e["path"] for e in entries)]
    with TarballReader(path) as reader:
        assert reader.manifest().checksum == manifest.checksum
        reader.check_members(manifest)
    threaded = TarballWriter(tmp_path / "threaded.tar.gz")
    try:
        with pytest.raises(ValueError, match="inline"):
            threaded.hold_place()
    finally:
        threaded.abort()


def test_reading_without_a_decompression_thread_reads_the_same_and_is_as_strict(tmp_path: Path) -> None:
    path = tmp_path / "t.tar.gz"
    manifest = write_tarball(path, FILES, 1 << 16)
    with TarballReader(path, threaded=False) as reader:
        assert reader.manifest().checksum == manifest.checksum
        reader.check_members(manifest)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with TarballReader(path, threaded=False) as reader, pytest.raises(CorruptArchive, match="truncated"):
        reader.manifest()
        reader.check_members(manifest)


def tarfile_header(name: str, kind: str, size: int, mode: int, mtime_ns: int, target: str) -> bytes:
    """What tarfile itself writes for a member (tar_header builds plain ustar headers without it)."""
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}[kind]
    info.size = size if kind == "file" else 0
    info.mode = mode
    info.mtime = max(mtime_ns // 1_000_000_000, 0)
    info.linkname = target
    info.uname = info.gname = "alation"
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


NAMES = st.text(st.sampled_from("abz./-_ü0"), min_size=1, max_size=120)


@given(name=NAMES, kind=st.sampled_from(["file", "dir", "symlink"]), size=st.sampled_from([0, 1, 8**11 - 1, 8**11]),
       mode=st.sampled_from([0, 0o644, 0o755, 0o4777]), mtime_ns=st.sampled_from([-1, 0, 10**18, 8**11 * 10**9]),
       target=NAMES)
def test_tar_headers_are_the_ones_tarfile_writes(name: str, kind: str, size: int, mode: int, mtime_ns: int,
                                                 target: str) -> None:
    target = target if kind == "symlink" else ""
    assert tar_header(name, kind=kind, size=size, mode=mode, mtime_ns=mtime_ns, target=target) == tarfile_header(
        name, kind, size, mode, mtime_ns, target)


def test_unchanged_blocks_take_the_fulls_digests_and_only_changed_ones_are_hashed() -> None:
    old_data = bytes(range(256)) * (3 * BLOCK_SIZE // 256) + b"tail"  # three blocks and a short one
    quick = quick_digests(old_data, BLOCK_SIZE)
    # Stand-ins for the full's digests, so that a digest taken over unhashed shows as such.
    taken = b"".join(bytes([0xA0 + i]) * DIGEST_BYTES for i in range(4))
    assert block_digests_against(old_data, BLOCK_SIZE, quick, taken) == taken
    new_data = bytearray(old_data)
    new_data[BLOCK_SIZE + 5] ^= 1  # the second block changed
    new_data += b"grown"  # and the short last one
    found = block_digests_against(bytes(new_data), BLOCK_SIZE, quick, taken)
    real = block_digests(bytes(new_data), BLOCK_SIZE)
    width = DIGEST_BYTES
    assert found[:width] == taken[:width] and found[2 * width : 3 * width] == taken[2 * width : 3 * width]
    assert found[width : 2 * width] == real[width : 2 * width] and found[3 * width :] == real[3 * width :]
    longer = bytes(new_data) + bytes(BLOCK_SIZE)  # blocks at and beyond the full's end are hashed
    assert block_digests_against(longer, BLOCK_SIZE, quick, taken)[3 * width :] == \
        block_digests(longer, BLOCK_SIZE)[3 * width :]


def test_padded_gzip_member_has_the_exact_size_and_plain_gzip_reads_it() -> None:
    data = b"manifest " * 1000
    member = padded_gzip_member(data, 50_000)
    assert member is not None and len(member) == 50_000
    assert gzip.decompress(member + gzip.compress(b"next member")) == data + b"next member"
    assert padded_gzip_member(data, 20) is None


def test_reader_refuses_data_after_the_end_of_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "t.tar.gz"
    manifest = write_tarball(path, {"a": b"x"}, 0)
    path.write_bytes(path.read_bytes() + gzip.compress(b"trailing tar garbage"))
    with TarballReader(path) as reader, pytest.raises(CorruptArchive, match="after the end of the archive"):
        reader.manifest()
        reader.check_members(manifest)


def test_reader_refuses_a_tar_with_a_broken_header_checksum(tmp_path: Path) -> None:
    path = tmp_path / "t.tar.gz"
    manifest = write_tarball(path, {"a": b"x"}, 0)
    raw = bytearray(gzip.decompress(path.read_bytes()))
    header = next(i for i in range(512, len(raw), 512) if raw.startswith(b"data1/eventbus", i))
    raw[header] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw)))
    with TarballReader(path) as reader, pytest.raises(CorruptArchive, match="damaged tar header"):
        reader.manifest()
        reader.check_members(manifest)


@pytest.mark.parametrize("path", ["", "/abs", "a/../b", "..", "a//b", "./a", "a/.", "nul\0x"])
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(CorruptArchive):
        check_path(path)


def test_runs_group_consecutive_blocks() -> None:
    assert runs([0, 1, 2, 7, 9, 10]) == [[0, 3], [7, 1], [9, 2]]
    assert runs([]) == []


@pytest.fixture
def real_manifest(instance: Instance) -> dict:
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    return json.loads(read_manifest(record.alation_file).raw)


def test_a_real_manifest_parses_back_to_itself(real_manifest: dict) -> None:
    raw = json.dumps(real_manifest).encode()
    assert Manifest.parse(raw).data == real_manifest


def _break(data: dict, how: str) -> dict:
    data = copy.deepcopy(data)
    files = [e for e in data["entries"] if e["type"] == "file"]
    blocked = next(e for e in files if e.get("blocks"))
    if how == "order":
        data["entries"][1], data["entries"][2] = data["entries"][2], data["entries"][1]
    elif how == "repeat":
        data["entries"].insert(1, data["entries"][1])
    elif how == "outside":
        data["entries"].append({"path": "var/x", "type": "dir", "mode": 0o755, "mtime_ns": 0})
    elif how == "sha":
        files[0]["sha256"] = "xyz"
    elif how == "blocks-length":
        blocked["blocks"] = blocked["blocks"][:-32]
    elif how == "blocks-hash":
        blocked["blocks"] = "0" * 32 + blocked["blocks"][32:]
    elif how == "sha-case":
        files[-1]["sha256"] = files[-1]["sha256"].upper()
    elif how == "xxh3-length":
        blocked["xxh3"] = blocked["xxh3"][:-32]
    elif how == "xxh3-hex":
        blocked["xxh3"] = "g" + blocked["xxh3"][1:]
    elif how == "pieces-length":
        blocked["xxh3_pieces"] = blocked["xxh3_pieces"] + "0" * 32
    elif how == "pieces-hex":
        blocked["xxh3_pieces"] = "g" + blocked["xxh3_pieces"][1:]
    elif how == "capture":
        files[0]["capture"] = "copied somehow"
    elif how == "hidden-dotdot":
        data["entries"][-1]["path"] = data["entries"][-1]["path"] + "/.."
    elif how == "stored":
        files[0]["stored"] = "base"  # a full cannot take anything from elsewhere
    elif how == "base":
        data["base"] = {"label": "202601010000", "checksum": "0" * 64}
    elif how == "incr-without-base":
        data["type"] = "incr"
    elif how == "roots":
        data["roots"] = ["data1"]
    elif how == "mode":
        files[0]["mode"] = 0o4755
    elif how == "version":
        data["version"] = 99
    return data


@pytest.mark.parametrize("how", ["order", "repeat", "outside", "sha", "blocks-length", "blocks-hash", "stored",
                                 "base", "incr-without-base", "roots", "mode", "version", "sha-case", "xxh3-length",
                                 "xxh3-hex", "pieces-length", "pieces-hex", "capture",
                                 "hidden-dotdot"])
def test_manifest_validation_refuses(real_manifest: dict, how: str) -> None:
    with pytest.raises(CorruptArchive):
        Manifest.parse(json.dumps(_break(real_manifest, how)).encode())


def test_changed_block_runs_must_be_ordered_and_inside_the_file(instance: Instance) -> None:
    base = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(instance, "x")
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    data = json.loads(read_manifest(record.alation_file).raw)
    db = next(e for e in data["entries"] if e.get("stored") == "blocks")
    count = block_count(db["size"], BLOCK_SIZE)  # (its `blocks` lists the changed runs only)
    for bad in ([[count, 1]], [[0, 2], [1, 1]], [[3, 1], [0, 1]], [[0, 0]], [[0, 1], [1, 1]]):
        db["changed"] = bad
        with pytest.raises(CorruptArchive, match="changed blocks"):
            Manifest.parse(json.dumps(data).encode())


def test_check_base_needs_the_same_full(instance: Instance) -> None:
    base = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    other = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(1))
    change_catalog(instance, "x")
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(2))
    manifest = read_manifest(record.alation_file)
    manifest.check_base(read_manifest(base.alation_file))
    with pytest.raises(CorruptArchive, match="not made from this full"):
        manifest.check_base(read_manifest(other.alation_file))


def test_check_base_fills_in_what_an_incremental_refers_to_and_checks_it(instance: Instance) -> None:
    """An incremental lists unread files by reference and only its changed blocks' digests: both are filled
    in from the full, and must add up to the checksums it records."""
    base = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    full = read_manifest(base.alation_file)
    change_catalog(instance, "x")
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(2))
    data = json.loads(read_manifest(record.alation_file).raw)
    db = next(e for e in data["entries"] if e.get("stored") == "blocks")
    assert len(db["blocks"]) == 32 * sum(n for _, n in db["changed"])

    def check(change) -> None:  # noqa: ANN001 - a function changing the manifest's data
        changed = copy.deepcopy(data)
        change(changed)
        Manifest.parse(json.dumps(changed).encode()).check_base(full)

    check(lambda d: None)
    wrong = "0" * 32 + db["blocks"][32:]
    with pytest.raises(CorruptArchive, match="do not make up the file's checksum"):
        check(lambda d: next(e for e in d["entries"] if e["path"] == db["path"]).update(blocks=wrong))
    referred = {"path": "data1/site_data/uploads/never-in-the-full.bin", "type": "file", "stored": "base"}
    with pytest.raises(CorruptArchive, match="needs it from its full, which lacks it"):
        check(lambda d: d["entries"].append(referred))


def test_reader_reads_tarballs_made_by_other_tools(tmp_path: Path) -> None:
    """Our reader accepts a plain single-stream tar.gz (tarfile), as long as it holds what the manifest says."""
    ours = tmp_path / "ours.tar.gz"
    manifest = write_tarball(ours, {"a.log": b"abc" * 10000}, 0)
    theirs = tmp_path / "theirs.tar.gz"
    with tarfile.open(ours, "r:gz") as src, tarfile.open(theirs, "w:gz", format=tarfile.GNU_FORMAT) as dst:
        for info in src.getmembers():
            dst.addfile(info, io.BytesIO(src.extractfile(info).read()) if info.isreg() else None)
    with TarballReader(theirs) as reader:
        assert reader.manifest().checksum == manifest.checksum
        reader.check_members(manifest)


def test_a_manifest_with_entries_rendered_ahead_is_the_same_bytes() -> None:
    """The backup writes the JSON of the entries it decides early (files taken from the full unread) ahead of
    the rest: the manifest must come out byte for byte as `json.dumps` would write it."""
    referring, text = taken_from_base("data1/pgsql/é \"x\"\n.db")
    entries = [
        {"path": "data1/pgsql", "type": "dir", "mode": 0o755, "mtime_ns": 1},
        referring,
        {"path": "data1/pgsql/y", "type": "file", "mode": 0o600, "mtime_ns": 2, "size": 3, "sha256": "0" * 64,
         "stored": "whole"},
    ]
    data = {"format": "x", "label": "202603030100", "base": {"label": "202603020100", "checksum": "1" * 64},
            "entries": entries, "deleted": ["data1/pgsql/gone"]}
    rendered = [None, text, None]
    assert json.loads(text) == referring == {"path": "data1/pgsql/é \"x\"\n.db", "type": "file", "stored": "base"}
    assert Manifest.create(data, rendered).raw == Manifest.create(data).raw
    assert Manifest.create(data).raw == (json.dumps(data, separators=(",", ":")) + "\n").encode()


_FIELDS = ("name", "mode", "uid", "gid", "size", "mtime", "chksum", "type", "linkname", "devmajor", "devminor",
           "sparse")


def _headers_tarfile_writes() -> list[bytes]:
    out = []
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        for name, kind in [("a/b.txt", tarfile.REGTYPE), ("a/dir", tarfile.DIRTYPE), ("a/l", tarfile.SYMTYPE),
                           ("a/hard", tarfile.LNKTYPE), ("a/fifo", tarfile.FIFOTYPE), ("a/dev", tarfile.CHRTYPE)]:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode, info.mtime = kind, 1234 if kind == tarfile.REGTYPE else 0, 0o640, 17
            info.linkname = "b.txt" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            out.append(info.tobuf(fmt, "utf-8", "surrogateescape")[:512])
    return out


@given(st.sampled_from(["file", "dir", "symlink"]), st.text(min_size=1, max_size=120), st.integers(0, 8**11 - 1),
       st.integers(0, 0o7777), st.integers(-(10**18), 10**19), st.integers(0, 511), st.integers(0, 255))
def test_plain_headers_parse_as_tarfile_parses_them(kind: str, name: str, size: int, mode: int, mtime_ns: int,
                                                    flip_at: int, flip_to: int) -> None:
    """The fast header parser (archive._parse_plain) gives exactly what tarfile.TarInfo.frombuf gives, or
    declines (None) and leaves it to frombuf: for our headers, tarfile's in each format, and damaged ones."""
    name = name.replace("\0", "x")
    ours = tar_header(name, kind=kind, size=size, mode=mode, mtime_ns=mtime_ns,
                      target="t" if kind == "symlink" else "")[:512]
    damaged = bytearray(ours)
    damaged[flip_at] = flip_to
    for block in [ours, bytes(damaged), *_headers_tarfile_writes()]:
        try:
            expected = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError:
            expected = None
        got = _parse_plain(block)
        if got is None:
            continue
        assert expected is not None, "accepted a header that tarfile refuses"
        assert {f: getattr(got, f) for f in _FIELDS} == {f: getattr(expected, f) for f in _FIELDS}


def test_our_plain_headers_take_the_fast_path() -> None:
    for kind in ("file", "dir", "symlink"):
        block = tar_header("data1/x", kind=kind, size=10, target="y" if kind == "symlink" else "")
        assert len(block) == 512 and _parse_plain(block) is not None


# Hostile manifests (issue 9, item 6): refused as damaged, in bounded time and memory, never a RecursionError.

def test_nesting_deeper_than_the_format_is_refused_before_parsing() -> None:
    for raw in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 6 + b"1" + b"}" * 6):
        with pytest.raises(CorruptArchive, match=r"x\.tar\.gz: the manifest nests deeper than its format"):
            Manifest.parse(raw, "x.tar.gz")
    with pytest.raises(CorruptArchive, match="not valid JSON"):
        Manifest.parse(b"[" * 50_000, "x.tar.gz")


def test_the_deepest_real_manifest_passes_the_depth_limit(instance: Instance) -> None:
    """An incremental's changed runs are the deepest the format goes: manifest, entries, entry, runs, run."""
    base = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    change_catalog(instance, "x")
    record = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    manifest = read_manifest(record.alation_file)
    assert any(entry.get("changed") for entry in manifest.entries)
    assert Manifest.parse(manifest.raw).data == manifest.data


def test_escaped_quotes_and_brackets_in_paths_are_read_as_strings() -> None:
    names = ['q"uote', "back\\slash\\", 'both\\"', "[[[[[[[{{{{{{", "]]]]]]}}}}", "ünï\u2028"]
    entries = [{"path": "data1/eventbus", "type": "dir", "mode": 0o755, "mtime_ns": 0}]
    entries += [file_entry(f"data1/eventbus/{name}", name.encode()) for name in sorted(names)]
    for ensure_ascii in (True, False):
        raw = json.dumps(small_manifest(entries).data, ensure_ascii=ensure_ascii).encode()
        assert [e["path"] for e in Manifest.parse(raw).entries] == [e["path"] for e in entries]


def test_a_string_longer_than_any_field_holds_is_refused_before_parsing(real_manifest: dict) -> None:
    for key in ("label", "build", "created"):
        data = {**real_manifest, key: "1" * 100_000}
        with pytest.raises(CorruptArchive, match=r"x\.tar\.gz: the manifest holds a string of 100000 bytes"):
            Manifest.parse(json.dumps(data).encode(), "x.tar.gz")
    data = {**real_manifest, "build": "1" * 65}  # short enough to parse, too long for a build number
    with pytest.raises(CorruptArchive, match="field 'build'"):
        Manifest.parse(json.dumps(data).encode())


def test_block_lists_may_be_as_long_as_their_file_needs() -> None:
    entry = file_entry("data1/eventbus/big.log", bytes(40 << 20))
    assert len(entry["blocks"]) > 60_000
    manifest = small_manifest([{"path": "data1/eventbus", "type": "dir", "mode": 0o755, "mtime_ns": 0}, entry])
    assert Manifest.parse(manifest.raw).entries[1]["blocks"] == entry["blocks"]


def test_a_manifest_denser_than_any_real_one_is_refused_before_parsing() -> None:
    raw = b'{"entries":[' + b"{}," * 100_000 + b"{}]}"
    with pytest.raises(CorruptArchive, match="more arrays and objects than"):
        Manifest.parse(raw, "x.tar.gz")


def test_a_manifest_larger_than_its_tarball_can_hold_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = hostile_string(tmp_path)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with TarballReader(path, threaded=False) as reader, pytest.raises(
                CorruptArchive, match=rf"{path.name}: its manifest would be {(STRING_MIB << 20) + 2} bytes"):
            reader.manifest()
        assert tracemalloc.get_traced_memory()[1] < 16 << 20  # the 1000 MiB were never read
    finally:
        tracemalloc.stop()
    nested = hostile_nested(tmp_path)
    with TarballReader(nested, threaded=False) as reader, pytest.raises(CorruptArchive, match="nests deeper"):
        reader.manifest()


def test_real_manifests_are_well_within_the_bound_on_their_size(instance: Instance) -> None:
    """The bound is MANIFEST_RATIO times the tarball's size: the most compressible real manifest, an
    incremental's when nothing changed (then the tarball is little but the manifest), stays below a third of
    it; a full's manifest is a few percent of its tarball."""
    base = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    same = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(0))
    change_catalog(instance, "x")
    changed = backup.create_backup(instance, kind="incr", base=base, fmt="v2", when=night(1))
    for record in (base, same, changed):
        for path in record.files:
            raw = read_manifest(path).raw
            assert len(raw) * 3 < MANIFEST_RATIO * path.stat().st_size
            assert len(raw) < manifest_limit(path.stat().st_size)
    assert manifest_limit(1) == MANIFEST_FLOOR and manifest_limit(1 << 40) == MANIFEST_CAP
