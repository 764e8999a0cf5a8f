"""The session core: line parsing, dispatch, errors rendered once, history, prompt, help."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from alation_shell.commands import COMMANDS
from alation_shell.commands.alation_conf import _parse
from alation_shell.commands.base import Result
from alation_shell.config.registry import Registry
from alation_shell.errors import UsageError
from alation_shell.session import Session
from alation_shell.terminal import Terminal
from tests.conftest import copy_of


def test_empty_and_comment_lines_do_nothing(shell: Session) -> None:
    for line in ("", "   ", "# just a comment", "\t# indented comment"):
        r = shell.execute(line)
        assert (r.stdout, r.stderr, r.exit_code, r.stop) == ("", "", 0, False)
    assert shell.history == []


def test_trailing_comment_is_ignored(shell: Session) -> None:
    r = shell.execute("alation_conf alation.backup_v2.incr_backup  # is it on?")
    assert r.stdout == "alation.backup_v2.incr_backup = False\n"


def test_unclosed_quote_is_a_one_line_syntax_error(shell: Session) -> None:
    r = shell.execute("alation_conf alation.email.host -s 'smtp")
    assert r.exit_code == 2
    assert r.stderr == "alation-shell: syntax error: unexpected end of line while looking for matching `''\n"


def test_unknown_command(shell: Session) -> None:
    r = shell.execute("alation_config base_url")
    assert r.exit_code == 127
    assert r.stderr == "alation-shell: alation_config: command not found (`help` lists the commands)\n"


def test_history_numbers_lines_like_bash(shell: Session) -> None:
    shell.execute("alation_conf incr_backup")
    shell.execute("pwd_nope")
    r = shell.execute("history")
    assert r.stdout == "    1  alation_conf incr_backup\n    2  pwd_nope\n    3  history\n"
    assert shell.execute("history 1").stdout == "    4  history 1\n"


def test_prompt_shows_the_directory_like_bash(shell: Session) -> None:
    assert shell.prompt() == "(env) DEMO [alationadmin@alation-demo /]$ "
    shell.cwd = "/data2/backup"
    assert shell.prompt() == "(env) DEMO [alationadmin@alation-demo backup]$ "
    shell.cwd = "/home/alationadmin"
    assert shell.prompt() == "(env) DEMO [alationadmin@alation-demo ~]$ "


def test_help_lists_every_visible_command_and_marks_additions(shell: Session) -> None:
    out = shell.execute("help").stdout
    for name, command in COMMANDS.items():
        if not command.hidden:
            assert f"  {name} " in out
    assert "sim " in out and "[emulator addition]" in out.split("sim ", 1)[1].splitlines()[0]
    # One column of summaries, at least two blanks after the longest name (alation_django_shell).
    rows = out.splitlines()[1:]
    starts = {len(row) - len(row[2:].split(" ", 1)[1].lstrip()) for row in rows}
    assert len(starts) == 1 and "  alation_django_shell  the application's" in out
    one = shell.execute("help alation_conf")
    assert one.stdout.startswith("alation_conf: read and set configuration parameters\nusage: alation_conf NAME")
    assert shell.execute("help nope").exit_code == 1


def test_an_unprintable_command_name_is_shown_escaped_on_one_line(shell: Session) -> None:
    r = shell.execute("'\n'")  # a quoted newline: the command's name is a newline
    assert (r.exit_code, r.stderr) == (127, "alation-shell: \\n: command not found (`help` lists the commands)\n")


def test_exit_ends_the_session_with_an_optional_status(shell: Session) -> None:
    r = shell.execute("exit")
    assert r.stop and r.session_status is None and r.exit_code == 0
    r = shell.execute("exit 4")
    assert r.stop and r.session_status == 4
    r = shell.execute("exit four")
    assert not r.stop and r.exit_code == 2


@pytest.mark.parametrize(
    ("args", "reads", "sets"),
    [
        (["a"], ["a"], []),
        (["a", "b"], ["a", "b"], []),
        (["a", "-s", "1"], [], [("a", "1")]),
        (["-s", "1", "a"], [], [("a", "1")]),
        (["a", "-s", "1", "b", "-s", "2"], [], [("a", "1"), ("b", "2")]),
        (["-s", "1", "a", "-s", "2", "b"], [], [("a", "1"), ("b", "2")]),
        (["a", "-s", "-5"], [], [("a", "-5")]),
        (["a", "--set", ""], [], [("a", "")]),
    ],
)
def test_alation_conf_argument_forms(args: list[str], reads: list[str], sets: list[tuple[str, str]]) -> None:
    assert _parse(args) == (reads, sets)


@pytest.mark.parametrize("args", [["a", "-s"], ["-s", "1"], ["-s", "1", "-s", "2", "a"], ["a", "b", "-s", "1"]])
def test_alation_conf_bad_argument_forms(args: list[str]) -> None:
    with pytest.raises(UsageError):
        _parse(args)


def test_two_sessions_on_two_threads_keep_their_own_terminal_table_and_state(
    seeded_template: Path, tmp_path: Path
) -> None:
    instances = [copy_of(seeded_template, tmp_path / name) for name in ("a", "b")]
    wide = Session(instances[0], terminal=Terminal(width=200, interactive=True, colour=True))
    narrow = Session(instances[1], terminal=Terminal(width=12, interactive=True), table=COMMANDS.without("sim"))
    lines = {
        wide: ["cd /data2", "ls /", "sim clock", "alation_conf alation.backup_v2.incr_backup_versions -s 3", "pwd"],
        narrow: ["cd /opt", "ls /", "sim clock", "alation_conf alation.backup_v2.incr_backup_versions -s 5", "pwd"],
    }
    results: dict[Session, list[tuple[str, Result]]] = {wide: [], narrow: []}
    start = threading.Barrier(2)

    def work(session: Session) -> None:
        start.wait()
        for _ in range(20):
            for line in lines[session]:
                results[session].append((line, session.execute(line)))

    threads = [threading.Thread(target=work, args=(session,)) for session in (wide, narrow)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    top = sorted(n for n in os.listdir(instances[0].root) if not n.startswith("."))
    for line, result in results[wide]:
        assert result.ok, (line, result.stderr)
        if line == "ls /":
            assert result.stdout == "  ".join(top) + "\n"  # one line: 200 columns
        if line == "pwd":
            assert result.stdout == "/data2\n"
    for line, result in results[narrow]:
        if line == "ls /":
            rows = result.stdout.splitlines()
            assert len(rows) > 1 and all(len(row) <= 12 for row in rows)
        elif line == "sim clock":
            assert result.exit_code == 127 and "sim: command not found" in result.stderr
        else:
            assert result.ok and (line != "pwd" or result.stdout == "/opt\n")
    assert Registry.for_instance(instances[0]).get("alation.backup_v2.incr_backup_versions") == 3
    assert Registry.for_instance(instances[1]).get("alation.backup_v2.incr_backup_versions") == 5
    assert "  sim " in wide.execute("help").stdout and "  sim " not in narrow.execute("help").stdout
    assert len(wide.history) == len(narrow.history) == 101


def test_help_of_a_command_lists_what_its_table_entry_declares(shell: Session) -> None:
    sim = shell.execute("help sim").stdout.splitlines()
    assert sim[2:4] == ["subcommands:", "  clock                  the virtual time, the backup schedule and the next "
                        "backup's place in the cycle"]
    assert any(line.startswith("  advance DURATION       move the virtual clock forward") for line in sim)
    assert "  verify [FILE]          check every backup (or the one FILE belongs to): OK, or what is wrong" in sim
    conf = shell.execute("help alation_conf").stdout.splitlines()
    assert "  -l, --list [PATTERN]   every parameter (or those containing PATTERN) with its value" in conf
    assert "  --reset NAME ...       put parameters back to their defaults" in conf


def test_true_false_and_colon_as_bash_has_them(shell: Session) -> None:
    """`CMD || true` in a procedure, `:` as a no-op: bash's builtins, arguments ignored."""
    assert [shell.execute(line).exit_code for line in ("true", "false", ": a b", "true x y", "false x")] == \
        [0, 1, 0, 0, 1]
    r = shell.execute("alation_conf no.such.thing || true; echo $?")
    assert (r.exit_code, r.stdout) == (0, "0\n") and "no parameter matches" in r.stderr
    assert shell.execute("false && echo no; echo $?").stdout == "1\n"
