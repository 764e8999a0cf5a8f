"""Output is safe for a terminal and tells nothing of the host, through `alation-shell` as operators run it.

File names holding ESC, a newline or other control characters are made with os calls (the shell itself cannot
make them) and then listed, printed and measured: what reaches the terminal is their quoted form, never the raw
characters. Failing commands never show where the instance is on the host.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from alation_shell.instance import Instance
from tests.conftest import env_for, tool

ODD = "/data1/site_data/odd"
NAMES = {  # name -> how ls shows it on a pipe (as is when printable, else quoted like GNU ls on a terminal)
    "a\x1b[31mred": "'a'$'\\033''[31mred'",
    "line\nbreak": "'line'$'\\n''break'",
    "bell\x07": "'bell'$'\\a'",
    "bad\udcffbyte": "'bad'$'\\377''byte'",
    "sp ace": "sp ace",
}
RAW = ("\x1b", "\x07", "\udcff")


def shell(instance: Instance, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    args = [tool("alation-shell")] + (["-c", command] if command else [])
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=env_for(instance.root),
                          errors="surrogateescape", timeout=60)


@pytest.fixture
def odd(instance: Instance) -> Instance:
    folder = instance.root / ODD.lstrip("/")
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_text(f"in {name!r}\n")
    (folder / "sub\x1bdir").mkdir()
    (folder / "sub\x1bdir" / "f").write_bytes(b"x" * 5000)
    os.symlink("tar\nget", folder / "link")
    return instance


def assert_safe(text: str) -> None:
    assert not any(raw in text for raw in RAW), text


def test_ls_shows_control_characters_escaped(odd: Instance) -> None:
    r = shell(odd, f"ls {ODD}")
    assert r.returncode == 0, r.stderr
    listed = {**NAMES, "sub\x1bdir": "'sub'$'\\033''dir'", "link": "link"}
    assert r.stdout.splitlines() == [listed[name] for name in sorted(listed)]
    r = shell(odd, f"ls -l {ODD}")
    assert r.returncode == 0, r.stderr
    assert_safe(r.stdout)
    assert len(r.stdout.splitlines()) == 1 + len(NAMES) + 2  # `total`, then one line a name: no raw newline
    assert r.stdout.count(" link -> 'tar'$'\\n''get'\n") == 1
    assert " 'line'$'\\n''break'\n" in r.stdout


def test_cat_tail_and_du_name_files_escaped(odd: Instance) -> None:
    r = shell(odd, f"cat {ODD}/a* {ODD}/line*")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "in 'a\\x1b[31mred'\nin 'line\\nbreak'\n"  # the files' own text, as written
    r = shell(odd, f"tail -n 1 {ODD}/a* {ODD}/bell*")
    assert r.stdout == (f"==> '{ODD}/a'$'\\033''[31mred' <==\nin 'a\\x1b[31mred'\n\n"
                        f"==> '{ODD}/bell'$'\\a' <==\nin 'bell\\x07'\n")
    r = shell(odd, f"du {ODD}")
    assert_safe(r.stdout)
    assert r.stdout.splitlines()[0].endswith(f"\t'{ODD}/sub'$'\\033''dir'")
    missing = f"{ODD}/gone\x1b]0;pwned\x07"
    for command, message in (
        ("cat", f"cat: '{ODD}/gone'$'\\033'']0;pwned'$'\\a': No such file or directory"),
        ("tail", f"tail: cannot open '{ODD}/gone'$'\\033'']0;pwned'$'\\a' for reading: No such file or directory"),
        ("ls", f"ls: cannot access '{ODD}/gone'$'\\033'']0;pwned'$'\\a': No such file or directory"),
        ("du", f"du: cannot access '{ODD}/gone'$'\\033'']0;pwned'$'\\a': No such file or directory"),
        ("cd", f"cd: '{ODD}/gone'$'\\033'']0;pwned'$'\\a': No such file or directory"),
    ):
        r = shell(odd, f"{command} '{missing}'")
        assert (r.returncode != 0, r.stderr) == (True, message + "\n")


def test_other_messages_stay_one_printable_line(instance: Instance) -> None:
    for command in ("alation_conf 'alation.\x1b[2Jx'", "alation_action '\x1b[2J'", "sim '\x1b[2J'",
                    "'\x1b[2Jcmd'", "ls -\x1b"):
        r = shell(instance, command)
        assert r.returncode != 0
        assert len(r.stderr.splitlines()) == 1 and r.stderr[:-1].isprintable(), r.stderr


def test_failing_commands_never_show_where_the_instance_is(instance: Instance) -> None:
    long = "x" * 300
    deep = "/".join(["y" * 200] * 25)
    commands = [
        f"{command} /{path}"
        for command in ("ls", "ls -l", "cat", "tail", "du", "cd", "sudo chown alation", "sim verify")
        for path in (long, deep, f"data2/{long}", f"data2/backup/{long}")
    ]
    commands += [f"ls /data2/*/{long}", f"alation_conf alation.backup.restore_file -s /data2/backup/{long}"]
    r = shell(instance, "", "\n".join(commands) + "\n")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert str(instance.root) not in r.stdout + r.stderr
    assert "File name too long" in r.stderr
    assert len(r.stderr.splitlines()) >= len(commands) - 2  # each fails (the restore_file set may be accepted)
