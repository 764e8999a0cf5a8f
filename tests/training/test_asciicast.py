"""`--record FILE.cast`: asciicast v2 that parses, and that the asciinema player package plays back."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from alation_shell.training.asciicast import Recorder
from alation_shell.training.scenario import available, load
from tests.conftest import VENV_BIN, env_for, tool

SEED_LINES = [
    "alation_conf alation.backup_v2.incr_backup -s True",
    "alation_conf alation.backup_v2.incr_backup_versions -s 4",
    "exit",
]


def read_cast(path: Path) -> tuple[dict, list[list]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    return header, events


def assert_well_formed(header: dict, events: list[list], width: int, height: int) -> None:
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (width, height)
    assert isinstance(header["timestamp"], int) and isinstance(header["env"], dict)
    times = [event[0] for event in events]
    assert times == sorted(times) and times[0] >= 0
    for event in events:
        assert len(event) == 3 and event[1] in ("o", "i", "m", "r") and isinstance(event[2], str)


def run(tmp_path: Path, args: list[str], lines: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run([tool("alation-shell"), *args], input="".join(f"{x}\n" for x in lines),
                            capture_output=True, text=True, timeout=120,
                            env=env_for(tmp_path / "everyday", COLUMNS="100", LINES="30"))
    assert result.returncode == 0, result.stderr
    return result


def cat(path: Path) -> str:
    """The session's text as `asciinema cat` plays it back."""
    result = subprocess.run([str(VENV_BIN / "asciinema"), "cat", str(path)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8")


def test_a_walkthrough_recording_has_a_marker_per_step_and_plays_back(tmp_path: Path) -> None:
    cast = tmp_path / "seed.cast"
    result = run(tmp_path, ["walkthrough", "incremental-backups", "--record", str(cast)], SEED_LINES)
    header, events = read_cast(cast)
    assert_well_formed(header, events, 100, 30)
    scenario = load(available()["incremental-backups"])
    assert header["title"] == scenario.title
    markers = [event[2] for event in events if event[1] == "m"]
    assert markers == [f"Step {s.number}: {s.title}" for s in scenario.steps] + ["Finish"]
    assert not [event for event in events if event[1] == "i"]  # input only when asked
    # The output events are what the user saw, line for line (stdout and stderr interleaved; CR LF, as a
    # terminal shows it).
    recorded = "".join(event[2] for event in events if event[1] == "o")
    assert "\n" not in recorded.replace("\r\n", "")
    assert sorted(recorded.split("\r\n")) == sorted((result.stdout + result.stderr).split("\n"))
    played = cat(cast)
    assert "── Step 1 of 3: Enable incremental backups ──" in played
    assert "✓ All 3 steps done." in played
    assert "2026-03-08 Sun 01:00  ┌ full" in played


def test_input_is_recorded_only_when_asked(tmp_path: Path) -> None:
    cast = tmp_path / "with-input.cast"
    run(tmp_path, ["walkthrough", "weekly-full", "--record", str(cast), "--record-input"],
        ["alation_conf alation.backup_v2.incr_backup -s True", "quit"])
    _, events = read_cast(cast)
    assert [event[2] for event in events if event[1] == "i"] == [
        "alation_conf alation.backup_v2.incr_backup -s True\r", "quit\r"]


def test_a_demo_recording(tmp_path: Path) -> None:
    cast = tmp_path / "demo.cast"
    run(tmp_path, ["walkthrough", "restore-incremental", "--demo", "--speed", "instant", "--record", str(cast)], [])
    header, events = read_cast(cast)
    assert_well_formed(header, events, 100, 30)
    markers = [event[2] for event in events if event[1] == "m"]
    assert markers == ["Step 1: Look at the backups", "Step 2: Choose what to restore", "Step 3: Restore", "Finish"]
    assert "Type YES to continue: YES" in cat(cast)


def test_a_piped_session_recording(tmp_path: Path) -> None:
    cast = tmp_path / "piped.cast"
    home = tmp_path / "everyday"
    run(tmp_path, ["--home", str(home), "--echo", "--record", str(cast)],
        ["alation_conf alation.backup_v2.incr_backup -s True", "alation_conf incr_backup_versions"])
    header, events = read_cast(cast)
    assert_well_formed(header, events, 100, 30)
    played = cat(cast)
    assert "$ alation_conf alation.backup_v2.incr_backup -s True\r\nalation.backup_v2.incr_backup = True" in played
    assert "alation.backup_v2.incr_backup_versions = 0" in played


def test_an_unwritable_recording_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run([tool("alation-shell"), "walkthrough", "weekly-full", "--record",
                             str(tmp_path / "no" / "such" / "dir.cast")], input="quit\n", capture_output=True,
                            text=True, env=env_for(tmp_path / "everyday"), timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("alation-shell walkthrough: cannot write the recording ")
    assert "Traceback" not in result.stderr


def test_resize_and_markers_and_a_tap(tmp_path: Path) -> None:
    path = tmp_path / "r.cast"
    screen = io.StringIO()
    with Recorder(str(path), width=80, height=24, title="t", env={"TERM": "xterm"}) as recorder:
        tap = recorder.tap(screen)
        tap.write("one\ntwo\r\n")
        recorder.resize(80, 24)  # no change: no event
        recorder.resize(120, 40)
        recorder.marker("here")
        recorder.input("secret\r")  # not kept: input was not asked for
    header, events = read_cast(path)
    assert header == {"version": 2, "width": 80, "height": 24, "timestamp": header["timestamp"], "title": "t",
                      "env": {"TERM": "xterm"}}
    assert [event[1:] for event in events] == [["o", "one\r\ntwo\r\n"], ["r", "120x40"], ["m", "here"]]
    assert screen.getvalue() == "one\ntwo\r\n"


def test_the_interactive_shell_recording(tmp_path: Path) -> None:
    import pexpect

    cast = tmp_path / "repl.cast"
    env = env_for(tmp_path / "everyday", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm")
    child = pexpect.spawn(tool("alation-shell"), ["--record", str(cast)], env=env, dimensions=(30, 100),
                          encoding="utf-8", timeout=30)
    child.expect(r"\]\$")
    child.send("alation_conf alation.backup_v2.incr_backup_versions -s 3\r")
    child.expect_exact("alation.backup_v2.incr_backup_versions = 3")
    child.expect(r"\]\$")
    child.send("exit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    header, events = read_cast(cast)
    assert_well_formed(header, events, 100, 30)
    assert {event[1] for event in events} == {"o"}  # typed input only with --record-input
    played = cat(cast)
    assert "alation.backup_v2.incr_backup_versions = 3\r\n" in played, played[-3000:]
    assert "alationadmin" in played and "DEMO" in played  # the prompt (coloured: its parts apart)


def test_the_interactive_shell_records_typed_lines_only_when_asked(tmp_path: Path) -> None:
    import pexpect

    cast = tmp_path / "typed.cast"
    env = env_for(tmp_path / "everyday", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm")
    child = pexpect.spawn(tool("alation-shell"), ["--record", str(cast), "--record-input"], env=env,
                          dimensions=(30, 100), encoding="utf-8", timeout=30)
    child.expect(r"\]\$")
    child.send("alation_conf alation.backup_v2.incr_backup\r")
    child.expect_exact("alation.backup_v2.incr_backup = False")
    child.expect(r"\]\$")
    child.send("exit\r")
    child.expect(pexpect.EOF)
    child.close()
    header, events = read_cast(cast)
    assert_well_formed(header, events, 100, 30)
    assert [e[2] for e in events if e[1] == "i"] == ["alation_conf alation.backup_v2.incr_backup\r", "exit\r"]
