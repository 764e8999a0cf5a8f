"""The sandbox: layout, default location, and chroot-style path resolution that never leaves the tree."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from alation_shell.errors import InstanceError, PathOutsideInstance
from alation_shell.instance import LAYOUT, Instance, default_home


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
        Instance.open(tmp_path / "nothing", create=False)
    inst = Instance.open(tmp_path / "fresh")
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
