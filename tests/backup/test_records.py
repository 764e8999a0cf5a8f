"""Finding backups in /data2/backup: one scan gives the sound backups and every problem, by file name."""

from __future__ import annotations

import json
import shutil

import pytest

from alation_shell import backup
from alation_shell.backup.records import damaged_cache_path, scan_backups, sidecar_path
from alation_shell.instance import Instance
from tests.backup import Opens, hostile_nested, hostile_string, night


def full(instance: Instance, n: int) -> backup.BackupRecord:
    return backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(n))


def problems(instance: Instance) -> dict[tuple[str, ...], str]:
    """The damaged backups of a scan: their file names -> what is wrong."""
    return {tuple(p.name for p in d.files): d.problem for d in scan_backups(instance).damaged}


def test_a_missing_event_bus_partner(instance: Instance) -> None:
    sound, lone = full(instance, 0), full(instance, 1)
    lone.eb_file.unlink()
    scan = scan_backups(instance)
    assert scan.records == [sound]
    assert problems(instance) == {tuple(p.name for p in lone.files): (
        f"{lone.eb_file.name}, the event-bus tarball that goes with {lone.alation_file.name}, is missing")}
    sidecar_path(lone.alation_file).unlink()  # found from the manifests alike
    assert problems(instance) == {(lone.alation_file.name,): (
        f"{lone.eb_file.name}, the event-bus tarball that goes with {lone.alation_file.name}, is missing")}
    assert backup.list_backups(instance) == [sound]


def test_a_missing_alation_partner(instance: Instance) -> None:
    sound, lone = full(instance, 0), full(instance, 1)
    lone.alation_file.unlink()
    assert scan_backups(instance).records == [sound]
    assert problems(instance) == {(lone.eb_file.name,): (
        f"{lone.alation_file.name}, the alation tarball that goes with {lone.eb_file.name}, is missing")}


@pytest.mark.parametrize("keep", [1000, -100])
def test_a_truncated_tarball(instance: Instance, keep: int) -> None:
    """Cut inside its manifest, or near its end (the manifest is then whole: the size the backup wrote tells)."""
    sound, cut = full(instance, 0), full(instance, 1)
    data = cut.alation_file.read_bytes()
    cut.alation_file.write_bytes(data[:keep])
    assert scan_backups(instance).records == [sound]
    ((names, problem),) = problems(instance).items()
    assert names == tuple(p.name for p in cut.files)
    if keep > 0:
        assert problem == f"{cut.alation_file.name}: truncated (the compressed data ends too early)"
    else:
        assert problem == (f"{cut.alation_file.name}: {len(data) + keep} bytes, but it was written with "
                           f"{len(data)} (truncated or changed since)")
    assert backup.list_backups(instance) == [sound]


def test_halves_that_disagree(instance: Instance) -> None:
    first, second, third = full(instance, 0), full(instance, 1), full(instance, 2)
    shutil.copyfile(third.eb_file, first.eb_file)  # even if the sizes happen to be equal
    assert scan_backups(instance).records == [second, third]
    assert problems(instance) == {tuple(p.name for p in first.files): (
        f"{first.eb_file.name} does not belong with {first.alation_file.name} (they come from different backups)")}


def test_hostile_tarballs_are_damaged_and_read_once(instance: Instance) -> None:
    sound = full(instance, 0)
    directory = sound.alation_file.parent
    nested, string = hostile_nested(directory), hostile_string(directory)
    opens = Opens(nested, string, *sound.files)
    scan = scan_backups(instance)
    assert scan.records == [sound]
    found = problems(instance)
    assert found[(nested.name,)] == (f"{nested.name}: the manifest nests deeper than its format does "
                                     "(at most 5 levels of arrays and objects)")
    assert found[(string.name,)].startswith(f"{string.name}: its manifest would be {(1000 << 20) + 2} bytes, "
                                            f"more than a tarball of {string.stat().st_size} bytes can hold")
    assert opens.seen() == 2  # the first scan read each hostile tarball once, and no sound one
    cache = json.loads(damaged_cache_path(instance).read_text())
    assert set(cache["files"]) == {nested.name, string.name}
    for _ in range(3):
        assert scan_backups(instance).records == [sound] and problems(instance) == found
    assert opens.seen() == 0  # later scans take what the first one recorded
    # A file that changes is looked at again: here the nested one, replaced by a sound backup's tarball.
    shutil.copyfile(sound.alation_file, nested)
    opens.seen()  # (the copy's own opens)
    assert problems(instance)[(nested.name,)].endswith("its name does not match its manifest (backup "
                                                       f"{sound.label})")
    assert opens.seen() == 1
    nested.unlink()
    scan_backups(instance)
    assert set(json.loads(damaged_cache_path(instance).read_text())["files"]) == {string.name}
    opens.close()


def test_a_damaged_cache_is_rebuilt_not_trusted(instance: Instance) -> None:
    sound = full(instance, 0)
    nested = hostile_nested(sound.alation_file.parent)
    scan_backups(instance)
    path = damaged_cache_path(instance)
    path.write_text("{not json")
    assert set(problems(instance)) == {(nested.name,)}
    # An entry for another file's identity (or a forged one) does not hide a sound backup.
    sidecar_path(sound.alation_file).unlink()
    cache = json.loads(path.read_text())
    st = sound.alation_file.stat()
    cache["files"][sound.alation_file.name] = {"identity": [[sound.alation_file.name, st.st_size + 1,
                                                             st.st_mtime_ns, st.st_ino]], "absent": [],
                                               "names": [sound.alation_file.name], "problem": "forged"}
    path.write_text(json.dumps(cache))
    assert scan_backups(instance).records == [sound]

