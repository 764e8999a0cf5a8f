"""Where the instance is: only ever created in an empty (or new) directory, never among someone's files, and
never at a default location the operator did not ask for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import tool

USER_FILES = {"thesis.tex": "\\documentclass{article}\n", "notes/todo.txt": "buy milk\n"}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    for name, text in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("alation-shell", ["--home", "{folder}", "-c", "pwd"]),
        ("alation-shell", ["-c", "pwd"]),
        ("alation-shell", []),
        ("alation_conf", ["alation.backup_v2.incr_backup"]),
        ("alation_action", ["backup_all"]),
        ("alation-shell", ["init", "--home", "{folder}"]),
    ],
)
def test_a_folder_that_is_not_an_instance_is_never_seeded(users_folder: Path, command: str, args: list[str]) -> None:
    before = listing(users_folder)
    env = dict(os.environ, ALATION_SHELL_HOME=str(users_folder))
    r = run([tool(command), *(a.replace("{folder}", str(users_folder)) for a in args)], env)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r
    assert r.stderr == (f"{command}: {users_folder} is not empty and is not an instance; not creating one among its "
                        "files: choose another directory (--home DIR or $ALATION_SHELL_HOME)\n")
    assert listing(users_folder) == before


def test_an_empty_folder_or_a_new_one_becomes_an_instance(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for home in (tmp_path / "empty", tmp_path / "new" / "instance"):
        r = run([tool("alation-shell"), "--home", str(home), "-c", "pwd"], dict(os.environ))
        assert (r.returncode, r.stdout, r.stderr) == (0, "/\n", "")
        assert (home / "var/instance.json").is_file()
        assert not (home / ".alation-shell-seeding").exists()


def test_an_empty_home_variable_is_an_error_not_the_default_location(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    env = dict(os.environ, ALATION_SHELL_HOME="", XDG_DATA_HOME=str(xdg), HOME=str(tmp_path))
    for args in (["alation-shell", "-c", "pwd"], ["alation_conf", "alation.backup_v2.incr_backup"],
                 ["alation_action", "--help"], ["alation-shell", "init"]):
        r = run([tool(args[0]), *args[1:]], env)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r
        assert r.stderr == (f"{args[0]}: ALATION_SHELL_HOME is set but empty: set it to the instance directory, or "
                            "unset it to use the default location\n")
    assert not xdg.exists() and not (tmp_path / ".local").exists()


def test_an_empty_home_option_is_an_error_not_the_working_directory(users_folder: Path) -> None:
    before = listing(users_folder)
    for args in (["--home", "", "-c", "pwd"], ["--home=", "-c", "pwd"], ["init", "--home", ""]):
        r = subprocess.run([tool("alation-shell"), *args], capture_output=True, text=True, cwd=users_folder,
                           stdin=subprocess.DEVNULL, timeout=60)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r
        assert r.stderr == "alation-shell: the instance directory is empty: give a directory (--home DIR)\n"
    assert listing(users_folder) == before
