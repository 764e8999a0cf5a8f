"""Backups as records: their file names, the sidecar that lists them fast, and finding them on disk.

A Backup V2 backup is a pair of tarballs, `<label>_<build-with-dashes>_alation[_incr]_backup.tar.gz` and
`…_alation_eb[_incr]_backup.tar.gz`; a Backup V1 backup is one `…_alation_backup.tar.gz`. Beside the alation
tarball a hidden sidecar `.<alation tarball>.json` repeats what listing needs (kind, base, time, sizes, mtimes
and the manifests' checksums) so that listing a sound backup never opens gzip. The sidecar is only a cache: it
is used when every size and mtime it records still matches, and the manifest inside the tarball is what verify
and restore trust. `scan_backups` lists the sound backups and tells what is wrong with every other file named
like a backup; the tarballs it finds damaged by reading them are recorded in `var/damaged_backups.json`.

A full backup's manifests are also kept parsed in the instance's own state, `var/backup_index/` (the base
index): an incremental needs every entry of its full, and loading them from there is ten times faster than
reading, parsing and validating the manifests again. Like the sidecar it is only a cache, used while the
full's tarballs are still the ones it was made from (name, size, mtime, inode) and their manifest checksums
are the ones the backup's record names; otherwise the manifests are read. It lives outside /data2/backup so
that tarballs brought from elsewhere never come with one: what it holds was parsed from this instance's own
backups.
"""

from __future__ import annotations

import errno
import json
import marshal
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from xxhash import xxh3_128_digest

from alation_shell.backup.archive import TarballReader
from alation_shell.backup.manifest import FullPart, Manifest
from alation_shell.errors import CorruptArchive, ShellError
from alation_shell.instance import VAR_BACKUP_INDEX, VAR_DAMAGED_BACKUPS, Instance
from alation_shell.storage import atomic_write, locked, write_json

BACKUP_DIR = "/data2/backup"
NAME = re.compile(r"(?P<label>\d{12})_(?P<build>\d+(?:-\d+)*)_alation_(?P<eb>eb_)?(?P<incr>incr_)?backup\.tar\.gz")
SIDECAR_VERSION = 1
DAMAGED_CACHE = VAR_DAMAGED_BACKUPS
DAMAGED_VERSION = 1
INDEX_DIR = VAR_BACKUP_INDEX
INDEX_FORMAT = b"alation-shell base index 3\n"
_SECTION_HEAD = 24  # a section's length (8 bytes) and XXH3-128


class BackupError(ShellError):
    """A backup or restore that could not be done (disk full, permissions, missing files); nothing is half-done."""


@dataclass
class BackupRecord:
    """One backup: a V2 pair of tarballs (alation first, then eb) or one V1 tarball."""

    label: str  # YYYYMMDDhhmm, from its name
    kind: str  # "full" or "incr"
    format: str  # "v2" or "v1"
    files: list[Path]
    base: str | None  # an incremental's full: its label
    base_checksum: str | None  # ... and the checksum of the full's (alation) manifest
    created: datetime  # virtual time of the backup, UTC
    size: int  # bytes of all its files
    backup_id: str = ""
    checksums: list[str] = field(default_factory=list)  # each file's manifest checksum, as `files`

    @property
    def alation_file(self) -> Path:
        return self.files[0]

    @property
    def eb_file(self) -> Path | None:
        return self.files[1] if len(self.files) > 1 else None

    @property
    def checksum(self) -> str:
        """Checksum of the alation tarball's manifest: what an incremental names as its base."""
        return self.checksums[0] if self.checksums else ""


def backup_dir(instance: Instance) -> Path:
    return instance.real_path(BACKUP_DIR)


def tarball_names(label: str, build: str, kind: str, fmt: str) -> list[str]:
    """File names of a backup: alation tarball first, then the event-bus one (V2)."""
    stem = f"{label}_{build.replace('.', '-')}_alation"
    incr = "incr_" if kind == "incr" else ""
    if fmt == "v1":
        return [f"{stem}_backup.tar.gz"]
    return [f"{stem}_{incr}backup.tar.gz", f"{stem}_eb_{incr}backup.tar.gz"]


def sidecar_path(alation_file: Path) -> Path:
    return alation_file.with_name(f".{alation_file.name}.json")


def read_manifest(path: Path) -> Manifest:
    """The manifest at the start of a tarball (reads only the first member)."""
    with TarballReader(path, threaded=False) as reader:
        return reader.manifest()


def write_sidecar(record: BackupRecord) -> None:
    """Write the listing cache beside the alation tarball (atomically)."""
    data = {
        "version": SIDECAR_VERSION,
        "label": record.label,
        "kind": record.kind,
        "format": record.format,
        "base": record.base,
        "base_checksum": record.base_checksum,
        "created": record.created.isoformat(),
        "backup_id": record.backup_id,
        "files": [{"name": p.name, **_size_and_mtime(p), "checksum": c}
                  for p, c in zip(record.files, record.checksums, strict=True)],
    }
    atomic_write(sidecar_path(record.alation_file), (json.dumps(data, indent=1) + "\n").encode())


def _size_and_mtime(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def index_path(instance: Instance, alation_file: Path) -> Path:
    """Where the base index of the full backup with this alation tarball is kept."""
    return instance.var / INDEX_DIR / f"{alation_file.name}.index"


def _identity(path: Path) -> list:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns, st.st_ino]


def write_index(instance: Instance, record: BackupRecord, manifests: list[Manifest], catalog: dict | None = None,
                ) -> None:
    """Keep a full backup's manifests parsed for its incrementals; drop those of fulls that are gone.

    Two sections, each with its own checksum (XXH3-128: it guards against damage, as the index is only a
    cache, checked against the tarballs it describes): first the full's record of the catalog database (`catalog`, if
    an incremental can compare it block by block), which an incremental needs first and alone
    (`read_index_catalog`); then the manifests, as its incrementals look things up in them (`read_index`,
    `FullPart`).
    """
    identity = {"files": [_identity(p) for p in record.files], "checksums": [m.checksum for m in manifests]}
    sections = [marshal.dumps({**identity, "catalog": catalog}),
                marshal.dumps({**identity, "parts": [FullPart.of(m).index_form() for m in manifests]})]
    path = index_path(instance, record.alation_file)
    atomic_write(path, INDEX_FORMAT + b"".join(
        len(section).to_bytes(8, "big") + xxh3_128_digest(section) + section for section in sections))
    for other in path.parent.iterdir():
        if other.suffix == ".index" and not (record.alation_file.parent / other.stem).exists():
            other.unlink(missing_ok=True)


def read_index(instance: Instance, record: BackupRecord) -> list[FullPart] | None:
    """The manifests of a full backup from its base index, if it is sound and still describes that backup's
    tarballs exactly; else None (read the manifests)."""
    index = _read_section(instance, record, 1)
    try:
        return [FullPart(**part) for part in index["parts"]] if index is not None else None
    except (TypeError, KeyError):
        return None


def read_index_catalog(instance: Instance, record: BackupRecord) -> dict | None:
    """The full backup's record of the catalog database from its base index (see `write_index`); None if
    the index is not sound or current, or has none."""
    index = _read_section(instance, record, 0)
    return index["catalog"] if index is not None and isinstance(index.get("catalog"), dict) else None


def _read_section(instance: Instance, record: BackupRecord, number: int) -> dict | None:
    try:
        with open(index_path(instance, record.alation_file), "rb") as f:
            if f.read(len(INDEX_FORMAT)) != INDEX_FORMAT:
                return None
            for _ in range(number):  # the sections before it are skipped, not read
                f.seek(int.from_bytes(f.read(_SECTION_HEAD)[:8], "big"), os.SEEK_CUR)
            head = f.read(_SECTION_HEAD)
            section = f.read(int.from_bytes(head[:8], "big"))
            if len(head) != _SECTION_HEAD or xxh3_128_digest(section) != head[8:]:
                return None
        index = marshal.loads(section)
        if index["files"] != [_identity(p) for p in record.files] or index["checksums"] != record.checksums:
            return None
        return index
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        return None


def read_sidecar(alation_file: Path) -> BackupRecord | None:
    """The record as the sidecar has it, if the sidecar is sound and every file is still as the backup wrote
    it (its size, and its mtime where the sidecar has it)."""
    data = _sidecar(alation_file)
    return _sidecar_record(data, alation_file) if data is not None else None


def _sidecar(alation_file: Path) -> dict | None:
    """The sidecar's data, if it is a sidecar of this version that names this tarball and its partners."""
    try:
        data = json.loads(sidecar_path(alation_file).read_bytes())
        names = [f["name"] for f in data["files"]]
        if (data.get("version") != SIDECAR_VERSION or not names or names[0] != alation_file.name
                or not all(isinstance(name, str) and NAME.fullmatch(name) for name in names)
                or not all(type(f["size"]) is int and isinstance(f["checksum"], str) for f in data["files"])):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _sidecar_record(data: dict, alation_file: Path) -> BackupRecord | None:
    try:
        files = [alation_file.with_name(f["name"]) for f in data["files"]]
        size = 0
        for path, info in zip(files, data["files"], strict=True):
            st = path.stat()
            if st.st_size != info["size"] or info["mtime_ns"] != st.st_mtime_ns:
                return None
            size += info["size"]
        return BackupRecord(
            label=data["label"],
            kind=data["kind"],
            format=data["format"],
            files=files,
            base=data["base"],
            base_checksum=data["base_checksum"],
            created=datetime.fromisoformat(data["created"]),
            size=size,
            backup_id=data["backup_id"],
            checksums=[f["checksum"] for f in data["files"]],
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def record_from_manifests(files: list[Path], manifests: list[Manifest]) -> BackupRecord:
    """The record of a backup from its tarballs' manifests (alation first), checking they belong together."""
    first = manifests[0]
    for path, manifest in zip(files[1:], manifests[1:], strict=True):
        if (manifest.backup_id, manifest.label, manifest.kind) != (first.backup_id, first.label, first.kind):
            raise CorruptArchive(f"{path.name} does not belong with {files[0].name} (they come from different backups)")
    base = first.base
    return BackupRecord(
        label=first.label,
        kind=first.kind,
        format=first.backup_format,
        files=list(files),
        base=base["label"] if base else None,
        base_checksum=base["checksum"] if base else None,
        created=first.created,
        size=sum(p.stat().st_size for p in files),
        backup_id=first.backup_id,
        checksums=[m.checksum for m in manifests],
    )


def partner_name(manifest: Manifest, part: str) -> str:
    """Name of the tarball of `part` ("alation" or "eb") of the backup `manifest` belongs to."""
    names = tarball_names(manifest.label, manifest.build, manifest.kind, manifest.backup_format)
    return names[1] if part == "eb" else names[0]


def load_backup(path: Path) -> tuple[BackupRecord, list[Manifest]]:
    """The record of the backup a tarball (alation or eb) belongs to, from the manifests in its tarballs."""
    if not path.is_file():
        raise BackupError(f"{path.name}: no such backup file")
    manifest = read_manifest(path)
    if NAME.fullmatch(path.name) and path.name not in tarball_names(
        manifest.label, manifest.build, manifest.kind, manifest.backup_format
    ):
        raise CorruptArchive(f"{path.name}: its name does not match its manifest (backup {manifest.label})")
    if manifest.part == "eb":
        alation = path.with_name(partner_name(manifest, "alation"))
        if not alation.is_file():
            raise CorruptArchive(f"{alation.name}, the alation tarball that goes with {path.name}, is missing")
        files, manifests = [alation, path], [read_manifest(alation), manifest]
        if manifests[0].part != "alation":
            raise CorruptArchive(f"{path.name} does not belong with {alation.name}")
    elif manifest.part == "alation":
        eb = path.with_name(partner_name(manifest, "eb"))
        if not eb.is_file():
            raise CorruptArchive(f"{eb.name}, the event-bus tarball that goes with {path.name}, is missing")
        files, manifests = [path, eb], [manifest, read_manifest(eb)]
        if manifests[1].part != "eb":
            raise CorruptArchive(f"{eb.name} does not belong with {path.name}")
    else:
        files, manifests = [path], [manifest]
    return record_from_manifests(files, manifests), manifests


def find_backup(instance: Instance, path: Path) -> BackupRecord:
    """The backup a tarball (alation or eb, in any directory) belongs to; CorruptArchive if it is not one."""
    return load_backup(Path(path))[0]


class DamagedBackup:
    """Files in /data2/backup named like a backup that do not make a sound one: the alation tarball first
    (if there is one), and what is wrong, in one line that names the file."""

    __slots__ = ("files", "problem")

    def __init__(self, files: list[Path], problem: str) -> None:
        self.files = files
        self.problem = problem

    @property
    def label(self) -> str:
        return self.files[0].name[:12]

    def __repr__(self) -> str:
        return f"DamagedBackup({[p.name for p in self.files]!r}, {self.problem!r})"


class BackupScan:
    """What /data2/backup holds: the sound backups, oldest first, and the damaged ones, by name."""

    __slots__ = ("records", "damaged")

    def __init__(self, records: list[BackupRecord], damaged: list[DamagedBackup]) -> None:
        self.records = records
        self.damaged = damaged


def list_backups(instance: Instance) -> list[BackupRecord]:
    """The sound backups in /data2/backup, oldest first (`scan_backups` tells what else is there)."""
    return scan_backups(instance).records


def scan_backups(instance: Instance) -> BackupScan:
    """One look at /data2/backup: every sound backup, and every file named like a backup that does not make
    one, with what is wrong. A backup with a sound sidecar is listed from it, no gzip opened; any other is
    read from its manifests. A tarball found damaged by reading it is recorded in the instance's state
    (`DamagedFiles`), so that later scans do not read it again while it stays the same file."""
    directory = backup_dir(instance)
    try:
        names = set(os.listdir(directory))
    except FileNotFoundError:
        return BackupScan([], [])
    known = DamagedFiles(instance, directory, names)
    records: list[BackupRecord] = []
    damaged: list[DamagedBackup] = []
    for name in names:
        match = NAME.fullmatch(name)
        if match is not None and not match["eb"]:
            found = _examine(directory / name, names, known)
            if isinstance(found, BackupRecord):
                records.append(found)
            elif found is not None:
                damaged.append(found)
    claimed = {path.name for item in [*records, *damaged] for path in item.files}
    for name in names - claimed:
        match = NAME.fullmatch(name)
        if match is not None and match["eb"]:
            alation = f"{match['label']}_{match['build']}_alation_{match['incr'] or ''}backup.tar.gz"
            problem = (f"{name} does not belong with {alation}" if alation in names
                       else f"{alation}, the alation tarball that goes with {name}, is missing")
            damaged.append(DamagedBackup([directory / name], problem))
    known.save()
    return BackupScan(sorted(records, key=lambda r: (r.label, r.created)),
                      sorted(damaged, key=lambda d: d.files[0].name))


def _examine(path: Path, names: set[str], known: DamagedFiles) -> BackupRecord | DamagedBackup | None:
    """The backup whose alation tarball is `path` (named like one), or what is wrong with it; None if it is
    gone meanwhile or is not a file."""
    sidecar = _sidecar(path)
    if sidecar is not None:
        files = [path.with_name(f["name"]) for f in sidecar["files"]]
        missing = [p for p in files if p.name not in names]
        if missing:
            return DamagedBackup(files, f"{missing[0].name}, the event-bus tarball that goes with {path.name}, "
                                        "is missing")
        record = _sidecar_record(sidecar, path)
        if record is not None:
            return record
    damaged = known.get(path)
    if damaged is not None:
        return damaged
    try:
        record = load_backup(path)[0]
    except CorruptArchive as exc:
        return known.add(path, exc.message)
    except BackupError:
        return None
    except OSError as exc:
        partner = path.with_name(eb_name(path.name))
        return DamagedBackup([path, partner] if partner.name in names else [path],
                             f"{path.name}: cannot be read ({exc.strerror or exc})")
    if sidecar is not None and record.checksums == [f["checksum"] for f in sidecar["files"]]:
        # The manifests the backup wrote, in files of another size: cut short (or added to) since.
        for file, info in zip(record.files, sidecar["files"], strict=True):
            if (size := file.stat().st_size) != info["size"]:
                return known.add(path, f"{file.name}: {size} bytes, but it was written with {info['size']} "
                                       "(truncated or changed since)")
    return record


def eb_name(name: str) -> str:
    """The name the event-bus tarball of a V2 backup has, from its alation tarball's name."""
    return name.replace("_alation_", "_alation_eb_", 1)


class DamagedFiles:
    """The tarballs of /data2/backup found damaged by reading them, kept in the instance's state
    (`var/damaged_backups.json`, not beside the tarballs) so that a listing reads each only once. An entry
    stands while its files are the same files (name, size, mtime, inode), and the files it found missing
    are still missing; a file that changes is read again. It is only a cache: unreadable, it is rebuilt."""

    def __init__(self, instance: Instance, directory: Path, names: set[str]) -> None:
        self.path = damaged_cache_path(instance)
        self.directory = directory
        self.names = names
        self.entries = self._load()
        self.added: dict[str, dict] = {}

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("version") == DAMAGED_VERSION and isinstance(data.get("files"), dict):
                return data["files"]
        except (OSError, ValueError, AttributeError):
            pass
        return {}

    def get(self, path: Path) -> DamagedBackup | None:
        """What is wrong with the tarball `path`, if it was found damaged and is still the same file."""
        entry = self.entries.get(path.name)
        try:
            if entry is None or any(name in self.names for name in entry["absent"]):
                return None
            if not all(NAME.fullmatch(name) for name in [*entry["names"], *(i[0] for i in entry["identity"])]):
                return None
            for identity in entry["identity"]:
                if _identity(self.directory / identity[0]) != identity:
                    return None
            return DamagedBackup([self.directory / name for name in entry["names"]], str(entry["problem"]))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None

    def add(self, path: Path, problem: str) -> DamagedBackup | None:
        """Record that reading `path` (with its event-bus partner, if there is one) found `problem`."""
        partner = path.with_name(eb_name(path.name))
        files = [path, partner] if partner.name in self.names and partner != path else [path]
        try:
            self.added[path.name] = {"identity": [_identity(p) for p in files], "names": [p.name for p in files],
                                     "absent": [] if len(files) == 2 else [partner.name], "problem": problem}
        except OSError:
            return None  # gone meanwhile
        return DamagedBackup(files, problem)

    def save(self) -> None:
        """Write what was found, and forget the files that are gone."""
        if not self.added and self.entries.keys() <= self.names:
            return
        try:
            with locked(self.path.with_suffix(".lock")):
                entries = {**self._load(), **self.added}
                write_json(self.path, {"version": DAMAGED_VERSION,
                                       "files": {k: v for k, v in entries.items() if k in self.names}})
        except OSError:
            pass  # only a cache: the next scan reads those tarballs again


def damaged_cache_path(instance: Instance) -> Path:
    """Where the tarballs found damaged are recorded (`DamagedFiles`)."""
    return instance.var / DAMAGED_CACHE


def shown(instance: Instance, path: Path) -> str:
    """A path as the operator sees it in the shell (`/data2/backup/...`), or as is if outside the instance."""
    try:
        return instance.shell_path(path)
    except ValueError:
        return str(path)


def find_full(instance: Instance, incr_file: Path, manifest: Manifest) -> Path:
    """The tarball of the full backup an incremental tarball is based on, in the incremental's directory."""
    base = manifest.base
    assert base is not None
    part = "eb" if manifest.part == "eb" else "alation"
    suffix = "_alation_eb_backup.tar.gz" if part == "eb" else "_alation_backup.tar.gz"
    candidates = sorted(incr_file.parent.glob(f"{base['label']}_*{suffix}"))
    for candidate in candidates:
        if NAME.fullmatch(candidate.name):
            return candidate
    raise CorruptArchive(
        f"{incr_file.name}: the full backup {base['label']} it is based on is missing from "
        f"{shown(instance, incr_file.parent)}"
    )


def os_reason(exc: OSError) -> str:
    """What went wrong, as a backup's messages say it."""
    reasons = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EFBIG: "file too large (a file-size limit was reached)",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
    }
    return reasons.get(exc.errno, exc.strerror or str(exc))
