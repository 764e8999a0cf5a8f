"""Walkthroughs at the real prompt, in a terminal (pexpect): every scenario typed step by step."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pexpect
import pytest

from alation_shell.training.scenario import available, load
from tests.conftest import env_for, paper, tool
from tests.training.test_walkthrough import TYPED

PROMPT = r"\]\$"  # the end of `(env) DEMO [alationadmin@alation-demo /]$ ` (colour codes split the rest)


def spawn(tmp_path: Path, *args: str) -> pexpect.spawn:
    env = env_for(tmp_path / "everyday", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", COLUMNS="120", LINES="30")
    child = pexpect.spawn(tool("alation-shell"), ["walkthrough", *args], env=env, dimensions=(30, 120),
                          encoding="utf-8", timeout=30)
    child.logfile_read = io.StringIO()
    return child


@pytest.mark.parametrize("name", sorted(TYPED))
def test_every_scenario_typed_at_the_prompt(tmp_path: Path, name: str) -> None:
    scenario = load(available()[name])
    child = spawn(tmp_path, name)
    child.expect("Step 1 of")
    child.expect(PROMPT)
    lines = TYPED[name]
    for i, line in enumerate(lines):
        child.send(line + "\r")
        if i + 1 < len(lines) and lines[i + 1] == "YES":
            child.expect("Type YES to continue:")
        elif i + 1 < len(lines):
            # Each command's check answers before the next prompt: wait for it, so nothing is typed ahead.
            child.expect(["✓ Step", "· not done yet"])
            child.expect(PROMPT)
    child.expect(f"All {len(scenario.steps)} steps done")
    child.expect("Time taken: ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]
    shown = child.logfile_read.getvalue()
    assert "✗" not in shown
    assert shown.count("\x1b[") > 20  # the real prompt_toolkit prompt, coloured, not the plain line reader


def test_a_wrong_step_hints_and_ctrl_d_keeps_the_progress(tmp_path: Path) -> None:
    child = spawn(tmp_path, "incremental-backups")
    child.expect(PROMPT)
    child.send("alation_conf alation.backup_v2.incr_backup -s False\r")
    child.expect("not done yet: incremental backups are still off")
    child.expect(PROMPT)
    child.send("hint\r")
    child.expect("hint 1 of 2: ")
    child.expect(PROMPT)
    child.send("\x04")  # Ctrl-D: the connection drops, as far as the walkthrough knows
    child.expect("Progress saved at step 1 of 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    progress = Path(os.environ["XDG_DATA_HOME"]) / "alation-shell/walkthroughs/incremental-backups/var"
    assert (progress / "walkthrough.json").is_file()
    child = spawn(tmp_path, "incremental-backups")
    child.expect("Resuming at step 1 of 3.")
    child.expect(PROMPT)
    child.send("quit\r")
    child.expect(pexpect.EOF)
    child.close()


def test_a_paste_of_several_lines_runs_them_one_after_another(tmp_path: Path) -> None:
    """The walkthrough's prompt reads a paste as the shell's does: each line runs at a prompt in turn (not the
    lines joined into one), and each is checked as its step."""
    child = spawn(tmp_path, "incremental-backups")
    child.expect("Step 1 of 3")
    child.expect(PROMPT)
    child.send("\x1b[200~alation_conf alation.backup_v2.incr_backup -s True\n"
               "alation_conf alation.backup_v2.incr_backup_versions -s 4\n\x1b[201~")
    child.expect("✓ Step 1 done")
    child.expect("✓ Step 2 done")
    child.expect("Step 3 of 3")
    child.expect(PROMPT)
    child.send("exit\r")
    child.expect("All 3 steps done")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]
    assert "not done yet" not in child.logfile_read.getvalue()


def test_a_dumb_terminal_gets_no_escape_code_and_shows_what_runs(tmp_path: Path) -> None:
    child = pexpect.spawn(tool("alation-shell"), ["walkthrough", "incremental-backups"], dimensions=(30, 120),
                          env=env_for(tmp_path / "everyday", TERM="dumb", COLUMNS="120", LINES="30"),
                          encoding="utf-8", timeout=30)
    child.logfile_read = io.StringIO()
    prompt = "(env) DEMO [alationadmin@alation-demo /]$ "
    child.expect_exact(prompt)
    child.send("alation_conf alation.backup_v2.incr_backup -s Truex")
    child.expect_exact("Truex")
    child.send("\x7f\r")  # a typo rubbed out, then Enter
    child.expect("✓ Step 1 done")
    child.expect_exact(prompt)
    child.send("quit\r")
    child.expect(pexpect.EOF)
    child.close()
    output = child.logfile_read.getvalue()
    assert "\x1b" not in output
    screen = paper(output)
    assert prompt + "alation_conf alation.backup_v2.incr_backup -s True" in screen


def test_ctrl_c_stops_a_long_command_and_is_no_mistake(tmp_path: Path) -> None:
    child = spawn(tmp_path, "incremental-backups")
    child.expect(PROMPT)
    child.send("sim advance 365d\r")
    child.expect("activity of")  # it runs
    child.sendintr()
    child.expect_exact("sim: interrupted")
    child.expect_exact("· interrupted; the step is not done: incremental backups are still off")
    child.expect(PROMPT)
    child.send("quit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert "✗" not in child.logfile_read.getvalue() and "`hint` gives a nudge" not in child.logfile_read.getvalue()
    where = Path(os.environ["XDG_DATA_HOME"]) / "alation-shell/walkthroughs/incremental-backups/var/walkthrough.json"
    progress = json.loads(where.read_text())
    assert progress.get("wrong", 0) == 0
