"""The session core: line parsing, dispatch, errors rendered once, history, prompt, help."""

from __future__ import annotations

import pytest

from alation_shell.commands import COMMANDS
from alation_shell.commands.alation_conf import _parse
from alation_shell.errors import UsageError
from alation_shell.session import Session


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
