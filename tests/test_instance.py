"""The sandbox: layout, default location, and chroot-style path resolution that never leaves the tree."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from alation_shell.errors import InstanceError, PathOutsideInstance
from alation_shell.instance import Instance, default_home
from alation_shell.node.layout import LAYOUT
from alation_shell.node.seed import open_instance


def test_init_lays_out_the_chroot(instance: Instance) -> None:
    for sub in LAYOUT:
        assert (instance.root / sub).is_dir(), sub
    assert instance.meta["hostname"] == "alation-demo"
    assert instance.build_version == "17.0.0.49181"
    version = (instance.root / "opt/alation/django/main/alation_version.py").read_text()
    assert "ALATION_MAJOR_VERSION = 17" in version


def test_default_home_follows_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ALATION_SHELL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "instance"
    assert default_home() == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    expected = Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "instance"
    assert default_home() == expected
    monkeypatch.setenv("ALATION_SHELL_HOME", str(tmp_path / "elsewhere"))
    assert default_home() == tmp_path / "elsewhere"


def test_open_creates_on_first_use_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="alation-shell init"):
        open_instance(tmp_path / "nothing", create=False)
    inst = open_instance(tmp_path / "fresh")
    assert inst.is_initialized()


def test_remove_refuses_a_directory_that_is_not_an_instance(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(InstanceError):
        Instance(tmp_path).remove()
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.parametrize(
    ("path", "cwd", "shell"),
    [
        ("/data2/backup", "/", "/data2/backup"),
        ("backup", "/data2", "/data2/backup"),
        ("../../..", "/data2/backup", "/"),
        ("/../../../etc/passwd", "/", "/etc/passwd"),
        ("./a/./b/../c", "/", "/a/c"),
        ("", "/data1", "/data1"),
    ],
)
def test_resolve_with_chroot_semantics(instance: Instance, path: str, cwd: str, shell: str) -> None:
    loc = instance.resolve(path, cwd)
    assert loc.shell == shell
    assert loc.real == instance.root / shell.lstrip("/") if shell != "/" else loc.real == instance.root


def test_symlinks_cannot_leave_the_instance(instance: Instance) -> None:
    os.symlink("/etc", instance.root / "data1/host_etc")
    os.symlink("../../../../../../..", instance.root / "data1/up")
    os.symlink("/data2/backup", instance.root / "data1/backups")
    assert instance.resolve("/data1/host_etc/passwd").real == instance.root / "etc/passwd"
    assert instance.resolve("/data1/up/etc/hostname").real == instance.root / "etc/hostname"
    assert instance.resolve("/data1/backups").real == instance.root / "data2/backup"
    for path in ("/data1/host_etc", "/data1/up", "/data1/up/../../.."):
        assert str(instance.resolve(path).real).startswith(str(instance.root))


def test_symlink_loops_and_nul_bytes_are_refused(instance: Instance) -> None:
    os.symlink("b", instance.root / "a")
    os.symlink("a", instance.root / "b")
    with pytest.raises(PathOutsideInstance, match="too many levels"):
        instance.resolve("/a")
    with pytest.raises(PathOutsideInstance, match="NUL"):
        instance.resolve("/data1\0/x")


def test_shell_path_names_host_paths_as_the_shell_shows_them(instance: Instance) -> None:
    assert instance.shell_path(instance.root / "data2/backup") == "/data2/backup"
    assert instance.shell_path(instance.root) == "/"


# Confined access (Instance.at): what writers of instance data open their paths with.
def test_writes_follow_links_inside_the_instance_as_in_a_chroot(instance: Instance) -> None:
    os.symlink("/data2/tmp", instance.root / "data1/to_tmp")  # absolute: from the instance root
    os.symlink("../data2", instance.root / "data1/up")
    instance.write_file("data1/to_tmp/a/b.txt", b"one")  # a missing directory is made
    instance.write_file("/data1/up/tmp/a/c.txt", b"two", mtime=1_000_000)
    assert (instance.root / "data2/tmp/a/b.txt").read_bytes() == b"one"
    assert (instance.root / "data2/tmp/a/c.txt").stat().st_mtime == 1_000_000
    os.symlink("b.txt", instance.root / "data2/tmp/a/last")  # a link as the last component
    assert instance.read_file("data2/tmp/a/last") == b"one"
    assert instance.host_path("data1/to_tmp/a/last") == instance.root / "data2/tmp/a/b.txt"


@pytest.mark.parametrize("target", ["../../..", "../../../../../../../../..", "../data1/../.."])
def test_writes_never_climb_above_the_instance_root(instance: Instance, tmp_path: Path, target: str) -> None:
    os.symlink(target, instance.root / "data1/out")
    with pytest.raises(PathOutsideInstance, match=r"^/data1/out/x: leads out of the instance"):
        instance.write_file("data1/out/x", b"escape")
    with pytest.raises(PathOutsideInstance):
        instance.open_file("data1/out/x", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(PathOutsideInstance):
        instance.host_path("data1/out")
    assert not (tmp_path / "x").exists() and not (instance.root.parent / "x").exists()


def test_link_loops_and_missing_directories_are_errors_naming_the_shell_path(instance: Instance) -> None:
    os.symlink("b", instance.root / "data1/a")
    os.symlink("a", instance.root / "data1/b")
    with pytest.raises(PathOutsideInstance, match="too many levels"):
        instance.write_file("data1/a/x", b"")
    with pytest.raises(FileNotFoundError) as caught:
        instance.open_file("data1/nothing/here/x", os.O_WRONLY | os.O_CREAT)
    assert caught.value.filename == "/data1/nothing" and str(instance.root) not in str(caught.value)
    (instance.root / "data1/file").write_text("x")
    with pytest.raises(NotADirectoryError) as caught:
        instance.write_file("data1/file/x", b"")
    assert caught.value.filename == "/data1/file"


def test_sqlite_gets_a_path_with_no_link_beside_it(instance: Instance, tmp_path: Path) -> None:
    db = "data1/pgsql/rosemeta.db"
    assert instance.database_path(db) == instance.root / db
    os.symlink(tmp_path / "elsewhere", instance.root / f"{db}-journal")
    with pytest.raises(PathOutsideInstance, match=r"rosemeta.db-journal is a symbolic link; refused"):
        instance.database_path(db)
