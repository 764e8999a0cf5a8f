"""The interactive shell, driven in a real terminal (pexpect) through the installed `alation-shell`."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pexpect
import pytest

from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.shell.repl import HISTORY_FILE
from tests.conftest import env_for, paper, tool

INCR = "alation.backup_v2.incr_backup"
VERSIONS = "alation.backup_v2.incr_backup_versions"
PROMPT = r"\]\$"  # the end of `(env) DEMO [alationadmin@alation-demo /]$ ` (colour codes split the rest)
UP = "\x1b[A"
CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_G = "\x07"
CTRL_R = "\x12"
# Settle time for prompt_toolkit's asynchronous completion between keys (repl-lessons: the Tab/Enter race).
SETTLE = 0.3
_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def spawn(home: Path, **extra: str) -> pexpect.spawn:
    """`alation-shell` on the instance at `home`, in a 30x120 terminal, at its first prompt."""
    env = env_for(home, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", COLUMNS="120", LINES="30", PAGER="cat")
    env.update(extra)
    child = pexpect.spawn(tool("alation-shell"), env=env, dimensions=(30, 120), encoding="utf-8", timeout=20)
    child.logfile_read = io.StringIO()
    child.expect(PROMPT)
    return child


def run(child: pexpect.spawn, line: str, expect: str) -> str:
    """Type `line`, Enter, wait for `expect` and the next prompt; what was printed before that prompt."""
    child.send(line + "\r")
    child.expect(expect)
    shown = child.before + child.after
    child.expect(PROMPT)
    return shown + child.before


def leave(child: pexpect.spawn, keys: str) -> int:
    child.send(keys)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def colour_codes(output: str) -> list[str]:
    """The SGR sequences of `output` that set a foreground or background colour."""
    found = []
    for params in _SGR.findall(output):
        numbers = [int(p) for p in params.split(";") if p.isdigit()]
        if any(30 <= n <= 38 or 40 <= n <= 48 or 90 <= n <= 97 or 100 <= n <= 107 for n in numbers):
            found.append(params)
    return found


def test_tab_completes_a_dotted_name_and_enter_takes_the_completion(instance: Instance) -> None:
    child = spawn(instance.root)
    child.send("alation_conf alation.backup_v2.incr_backup_v")
    child.expect("incr_backup_versions")  # the completion menu, opened while typing
    time.sleep(SETTLE)
    child.send("\t")
    child.expect("ersions")  # the selected completion written into the line
    time.sleep(SETTLE)
    child.send("\r")  # takes the completion; does not run the line
    time.sleep(SETTLE)
    # Had the first Enter run the line, ` -s 5` would be a command of its own and fail.
    run(child, " -s 5", f"{VERSIONS} = 5")
    assert Registry.for_instance(instance).get(VERSIONS) == 5
    assert leave(child, "exit\r") == 0


def test_set_a_value_and_read_it_back(instance: Instance) -> None:
    child = spawn(instance.root)
    run(child, f"alation_conf {INCR} -s True", f"{INCR} = True")
    shown = run(child, f"alation_conf {INCR}", f"{INCR} = True")
    assert "error" not in shown
    assert Registry.for_instance(instance).get(INCR) is True
    assert leave(child, CTRL_D) == 0


def test_an_empty_line_does_nothing(instance: Instance) -> None:
    child = spawn(instance.root)
    run(child, f"alation_conf {VERSIONS}", f"{VERSIONS} = 0")
    child.send("\r")
    child.expect(PROMPT)
    assert f"{VERSIONS} =" not in child.before  # the last command did not run again
    shown = run(child, "history", r"2  history")
    assert f"1  alation_conf {VERSIONS}" in shown
    assert "3  " not in shown
    assert leave(child, CTRL_D) == 0


def test_ctrl_c_cancels_the_line_being_typed(instance: Instance) -> None:
    child = spawn(instance.root)
    child.send(f"alation_conf {INCR} -s True")
    child.expect("True")
    time.sleep(SETTLE)
    child.send(CTRL_C)
    child.expect(PROMPT)
    run(child, f"alation_conf {INCR}", f"{INCR} = False")
    assert Registry.for_instance(instance).get(INCR) is False
    assert leave(child, CTRL_D) == 0  # a cancelled line does not make the session fail


def test_a_confirmation_is_asked_on_the_terminal_and_ctrl_c_interrupts_the_command(instance: Instance) -> None:
    mode = "alation.cluster.replication_mode"
    Registry.for_instance(instance).set_many([(mode, "secondary")])
    child = spawn(instance.root)
    child.send("alation_action cluster_failover\r")  # an unsafe action: asks for YES
    child.expect("Type YES to continue:")
    child.send("no\r")
    child.expect("aborted, nothing was changed")
    child.expect(PROMPT)
    child.send("alation_action cluster_failover\r")
    child.expect("Type YES to continue:")
    time.sleep(SETTLE)
    child.send(CTRL_C)  # interrupts the running command, not the shell
    child.expect("alation_action: interrupted")
    child.expect(PROMPT)
    assert Registry.for_instance(instance).get(mode) == "secondary"
    child.send("alation_action cluster_failover\r")
    child.expect("Type YES to continue:")
    run(child, "YES", f"{mode} = standalone")
    assert Registry.for_instance(instance).get(mode) == "standalone"
    assert leave(child, CTRL_D) == 0


@pytest.mark.parametrize(("keys", "status"), [(CTRL_D, 0), ("exit\r", 0), ("exit 3\r", 3), ("logout\r", 0)])
def test_leaving_gives_the_session_status(instance: Instance, keys: str, status: int) -> None:
    child = spawn(instance.root)
    run(child, "alation_conf no.such.parameter", "no parameter matches")  # a failed command does not count
    assert leave(child, keys) == status


def test_history_persists_across_sessions(instance: Instance) -> None:
    first = spawn(instance.root)
    run(first, f"alation_conf {VERSIONS}", f"{VERSIONS} = 0")
    assert leave(first, CTRL_D) == 0
    assert f"alation_conf {VERSIONS}" in (instance.var / HISTORY_FILE).read_text()

    second = spawn(instance.root)
    second.send(UP)
    second.expect("incr_backup_versions")  # the previous session's command, back in the line
    time.sleep(SETTLE)
    second.send("\r")
    second.expect(f"{VERSIONS} = 0")
    second.expect(PROMPT)
    assert leave(second, CTRL_D) == 0


def test_ctrl_r_searches_the_history(instance: Instance) -> None:
    child = spawn(instance.root)
    run(child, f"alation_conf {VERSIONS}", f"{VERSIONS} = 0")
    run(child, "alation_conf alation.backup.scheduled_hour", "scheduled_hour = 1")
    child.send(CTRL_R)
    child.expect("i-search")
    child.send("versi")
    child.expect(r"incr_backup_\S*versi\S*ons")  # the match is shown highlighted inside the found line
    run(child, "", f"{VERSIONS} = 0")  # Enter runs the line found, as in bash
    child.send("\r")  # an empty line: the line found is not left in the next one
    child.expect(PROMPT)
    shown = run(child, "history", "4  history")
    assert f"3  alation_conf {VERSIONS}\r\n" in shown and "5  " not in shown
    assert leave(child, CTRL_D) == 0


def test_ctrl_r_typed_ahead_runs_the_found_command_and_ctrl_g_or_ctrl_c_abandons_the_search(
    instance: Instance,
) -> None:
    child = spawn(instance.root)
    run(child, f"alation_conf {VERSIONS} -s 2", f"{VERSIONS} = 2")
    # Each search abandoned, then Enter on the line left: the empty one.
    child.send(f"alation_conf {VERSIONS} -s 4\r" + CTRL_R + "-s 2" + CTRL_G + "\r" + CTRL_R + "-s 2" + CTRL_C + "\r")
    shown = run(child, "history", "3  history")
    assert "4  " not in shown
    assert Registry.for_instance(instance).get(VERSIONS) == 4
    # Keys typed at once with the Enter before them: the next prompt handles them before its first redraw.
    child.send("pwd\r" + CTRL_R + "-s 2\r")
    child.expect(f"{VERSIONS} = 2")
    child.expect(PROMPT)
    assert Registry.for_instance(instance).get(VERSIONS) == 2
    assert leave(child, CTRL_D) == 0


def test_no_color_means_no_colour_codes(instance: Instance) -> None:
    child = spawn(instance.root, NO_COLOR="1")
    run(child, f"alation_conf {INCR} -s True", f"{INCR} = True")
    child.send("alation_conf alation.backup_v2.i")  # highlighting and the completion menu
    child.expect("incr_backup_versions")
    child.send(CTRL_C)
    child.expect(PROMPT)
    assert leave(child, CTRL_D) == 0
    output = child.logfile_read.getvalue()
    assert "(env) DEMO [alationadmin@alation-demo /]$" in output
    assert colour_codes(output) == []


def test_colours_by_default(instance: Instance) -> None:
    child = spawn(instance.root)
    child.send(f"alation_conf {INCR} -s True")
    child.expect("True")
    child.send(CTRL_C)
    child.expect(PROMPT)
    assert leave(child, CTRL_D) == 0
    assert colour_codes(child.logfile_read.getvalue()) != []


def test_dumb_terminal_gets_a_plain_prompt(instance: Instance) -> None:
    child = spawn(instance.root, TERM="dumb")
    run(child, f"alation_conf {INCR}", f"{INCR} = False")
    assert leave(child, "exit 4\r") == 4
    output = child.logfile_read.getvalue()
    assert "(env) DEMO [alationadmin@alation-demo /]$ " in output
    assert colour_codes(output) == []


def test_a_dumb_terminal_shows_the_line_that_runs_after_tab_backspace_up_and_ctrl_r(instance: Instance) -> None:
    child = spawn(instance.root, TERM="dumb")
    prompt = "(env) DEMO [alationadmin@alation-demo /]$ "
    line = f"alation_conf {VERSIONS} -s 3"
    child.send("alation_conf alation.backup_v2.incr_backup_v\t")  # one read: Tab comes before any completion
    child.expect_exact("incr_backup_versions ")
    child.send("-s 3x")
    child.expect_exact("-s 3x")
    child.send("\x7f")
    child.expect_exact("\b \b")
    run(child, "", f"{VERSIONS} = 3")
    child.send(UP)
    child.expect_exact(line)
    child.send("\x7f")
    child.expect_exact("\b \b")
    run(child, "4", f"{VERSIONS} = 4")
    child.send(CTRL_R)
    child.expect_exact("(reverse-i-search)`': ")
    child.send("-s 3")
    child.expect_exact(f"(reverse-i-search)`-s 3': {line}")
    run(child, "", f"{VERSIONS} = 3")
    assert leave(child, "exit\r") == 0
    output = child.logfile_read.getvalue()
    assert "\x1b" not in output
    screen = paper(output)
    shown = [(screen[i - 1], text) for i, text in enumerate(screen) if text.startswith(f"{VERSIONS} =")]
    assert shown == [(prompt + line, f"{VERSIONS} = 3"), (f"{prompt}alation_conf {VERSIONS} -s 4", f"{VERSIONS} = 4"),
                     (prompt + line, f"{VERSIONS} = 3")]
    assert Registry.for_instance(instance).get(VERSIONS) == 3


def test_ctrl_c_cancels_a_running_command_which_stops_at_its_next_check(instance: Instance) -> None:
    child = spawn(instance.root)
    child.send("sim advance 90d\r")
    child.expect("activity of Tue 2026-03-03")  # running, a backup taken: each day takes a while
    child.send(CTRL_C)
    child.expect("sim: interrupted")
    child.expect(PROMPT)
    shown = child.before
    assert "Traceback" not in shown
    run(child, "sim verify", "OK       ")  # the backups taken before the cancel are whole
    shown = run(child, "sim clock", "virtual time")
    assert "2026-03-02" not in shown and "2026-05" not in shown  # it went on past Monday, but not 90 days
    assert leave(child, "exit\r") == 0
