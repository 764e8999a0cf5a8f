"""Damaged emulator state through the installed commands: one line naming the file, never a traceback.

Each state file under the instance's var/ is emptied or filled with garbage, then read by a command run as the
operator runs it: `alation-shell -c`, or the standalone `alation_conf` / `alation_action`.
"""

from __future__ import annotations

import subprocess

import pytest

from alation_shell.instance import Instance
from tests.conftest import env_for, tool

INTERNAL_ERROR = 70
GARBAGE = b"\x89PNG\r\n\x1a\n\x00\x00\x00garbage{"

# State file -> commands that read it: (console command, its arguments).
READERS: dict[str, list[tuple[str, list[str]]]] = {
    "instance.json": [
        ("alation-shell", ["-c", "pwd"]),
        ("alation_conf", ["alation.backup_v2.incr_backup"]),
        ("alation_action", ["--help"]),
    ],
    "clock.json": [("alation-shell", ["-c", "sim clock"]), ("alation_action", ["backup_all"])],
    "schedule.json": [("alation-shell", ["-c", "sim clock"]), ("alation-shell", ["-c", "sim advance 1d"])],
    "services.json": [
        ("alation-shell", ["-c", "alation_supervisor status"]),
        ("alation_action", ["restart_alation"]),
    ],
    "pending_restarts.json": [
        ("alation-shell", ["-c", "alation_supervisor status"]),
        ("alation_conf", ["alation.backup.scheduled_hour", "-s", "3"]),
        ("alation_action", ["deploy_conf_all"]),
    ],
    "backup_cycle.json": [("alation-shell", ["-c", "sim clock"]), ("alation_action", ["backup_all"])],
    "license.json": [
        ("alation-shell", ["-c", "alation_action apply_license"]),
        ("alation_action", ["apply_license"]),
    ],
}
CASES = [(name, command, args) for name, readers in READERS.items() for command, args in readers]


def shown(instance: Instance, name: str) -> str:
    """How the message names the file: as the shell shows it, or where it is for instance.json (read at start-up,
    before there is a shell)."""
    return str(instance.meta_file) if name == "instance.json" else f"/var/{name}"


@pytest.mark.parametrize("content", [b"", GARBAGE], ids=["empty", "garbage"])
@pytest.mark.parametrize(("name", "command", "args"), CASES, ids=[f"{n}-{c}-{' '.join(a)}" for n, c, a in CASES])
def test_a_damaged_state_file_is_named_in_one_line_and_left_as_it_is(
    instance: Instance, name: str, command: str, args: list[str], content: bytes
) -> None:
    path = instance.var / name
    path.write_bytes(content)
    r = subprocess.run([tool(command), *args], capture_output=True, text=True, env=env_for(instance.root),
                       stdin=subprocess.DEVNULL, timeout=60)
    assert "Traceback" not in r.stderr
    assert r.returncode not in (0, INTERNAL_ERROR), r
    assert len(r.stderr.splitlines()) == 1, r.stderr
    what = "empty (it should hold a JSON object)" if not content else "not UTF-8 text (byte 0)"
    assert f": {shown(instance, name)}: {what}; the file was left as it is: " in r.stderr
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("clock.json", b'{"start": "2026-03-02T09:00:00+00:00",\n "offset_us": }',
         "not valid JSON (Expecting value at line 2, column 15)"),
        ("clock.json", b'{"start": "2026-03-02T09:00:00+00:00", "offset_us": 0}', "field 'real_start_us' missing"),
        ("clock.json", b'{"start": "yesterday", "real_start_us": 0, "offset_us": 0}',
         "field 'start' is not a date and time with its UTC offset"),
        ("services.json", b'{"supervisord_pid": 1199, "next_pid": 1300, "programs": {"lineage": {"state": "UP"}}}',
         "program 'lineage' is not an object with a state (RUNNING or STOPPED)"),
        ("services.json", b"[]", "not a JSON object (it holds a list)"),
        ("schedule.json", b'{"alation.backup.scheduled_hour": 25}',
         "invalid value '25' for alation.backup.scheduled_hour: expected a whole number from 0 to 23"),
        ("pending_restarts.json", b'{"supervisord": "alation.backup.scheduled_hour"}',
         "the restart 'supervisord' does not list parameter names"),
        ("instance.json", b'{"label": "\\u001b[31mRED"}', "field 'label' is not one line of printable text"),
    ],
)
def test_what_is_wrong_is_said(instance: Instance, name: str, content: bytes, what: str) -> None:
    path = instance.var / name
    path.write_bytes(content)
    command = "alation_supervisor status" if name in ("services.json", "pending_restarts.json") else "sim clock"
    r = subprocess.run([tool("alation-shell"), "-c", command], capture_output=True, text=True,
                       env=env_for(instance.root), timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r
    assert r.stderr.startswith(f"{command.split()[0] if name != 'instance.json' else 'alation-shell'}: "
                               f"{shown(instance, name)}: {what}")
    assert "\x1b" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert path.read_bytes() == content


def test_the_suggested_repair_works(instance: Instance) -> None:
    (instance.var / "clock.json").write_bytes(b"")
    env = env_for(instance.root)
    r = subprocess.run([tool("alation-shell"), "-c", "sim clock"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert "remove it to start the virtual clock again at Mon 2026-03-02 09:00 UTC" in r.stderr
    (instance.var / "clock.json").unlink()
    r = subprocess.run([tool("alation-shell"), "-c", "sim clock"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("virtual time  2026-03-02 Mon 09:0")
