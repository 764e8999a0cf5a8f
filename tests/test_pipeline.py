"""Command lines run as bash runs them: pipelines, lists, `$?`, redirections into the instance, history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alation_shell.instance import Instance
from alation_shell.session import Session
from alation_shell.terminal import Terminal

BASE_URL = "alation.install.base_url"


def out(shell: Session, line: str) -> str:
    r = shell.execute(line)
    assert r.exit_code == 0, r.stderr
    return r.stdout


# Pipelines and lists ----------------------------------------------------------------------------
def test_the_documented_base_url_pipeline(shell: Session) -> None:
    shell.execute(f"alation_conf {BASE_URL} -s https://alation.example.com/")
    r = shell.execute(f"alation_conf {BASE_URL} | cut -d '=' -f2 | tr -d '[:space:]'")
    assert (r.stdout, r.stderr, r.exit_code) == ("https://alation.example.com/", "", 0)


def test_and_runs_the_second_only_after_success(shell: Session) -> None:
    r = shell.execute("alation_conf alation.backup_v2.incr_backup -s True && alation_action restart_alation")
    assert r.exit_code == 0
    assert r.stdout.startswith("alation.backup_v2.incr_backup = True\nStopping Alation services")
    r = shell.execute("alation_conf alation.backup_v2.incr_backup -s maybe && alation_action restart_alation")
    assert r.exit_code == 1 and "Stopping" not in r.stdout


def test_or_and_semicolon(shell: Session) -> None:
    assert out(shell, "nosuch || echo fallback; echo next") == "fallback\nnext\n"
    assert out(shell, "echo a || echo b") == "a\n"
    r = shell.execute("nosuch; echo after")
    assert (r.stdout, r.exit_code) == ("after\n", 0)
    r = shell.execute("echo a; nosuch")
    assert (r.stdout, r.exit_code) == ("a\n", 127)
    assert out(shell, "false_cmd && echo no || echo yes") == "yes\n"


def test_a_pipelines_status_is_its_last_commands(shell: Session) -> None:
    assert shell.execute("nosuch | echo x").exit_code == 0
    assert shell.execute("echo x | grep y").exit_code == 1
    r = shell.execute("! echo x | grep y")
    assert r.exit_code == 0
    assert shell.execute("! echo x").exit_code == 1


def test_dollar_question_mark(shell: Session) -> None:
    assert out(shell, "echo $?") == "0\n"
    shell.execute("nosuch")
    assert out(shell, "echo $?") == "127\n"
    assert out(shell, "echo x | grep y; echo \"status $?\"") == "status 1\n"
    assert out(shell, "alation_conf nope_nothing_matches 2>/dev/null; echo $?") == "1\n"


def test_the_null_device_and_the_standard_streams(shell: Session) -> None:
    r = shell.execute("ls /nope 2>/dev/null; echo x > /dev/null; echo y >/dev/stderr; wc -c < /dev/null")
    assert (r.stdout, r.stderr) == ("0\n", "y\n")
    r = shell.execute("echo z > /data1/../dev/null")  # the path resolves to the device
    assert (r.stdout, r.stderr, r.exit_code) == ("", "", 0)
    assert not (shell.instance.root / "dev").exists()


def test_parameters_expand_when_the_command_runs(shell: Session) -> None:
    assert out(shell, "echo $USER $HOME $HOSTNAME $PWD") == "alationadmin /home/alationadmin alation-demo /\n"
    assert out(shell, "cd /data2; echo $PWD $OLDPWD") == "/data2 /\n"
    assert out(shell, "echo '$HOME' \"$USER\"x ${USER}") == "$HOME alationadminx alationadmin\n"


def test_each_command_of_a_pipeline_reads_the_whole_output_before_it(shell: Session, instance: Instance) -> None:
    log = instance.root / "opt/alation/site/logs/app.log"
    log.write_text("".join(f"{i} {'ERROR' if i % 3 == 0 else 'INFO'} line {i}\n" for i in range(1, 31)))
    r = shell.execute("cat /opt/alation/site/logs/app.log | grep ERROR | sort -k1,1nr | head -n 3 | wc -l")
    assert r.stdout == "3\n"
    r = shell.execute("grep -c ERROR /opt/alation/site/logs/app.log")
    assert r.stdout == "10\n"


def test_commands_of_a_pipeline_run_in_subshells(shell: Session) -> None:
    shell.execute("cd /data1 | echo x")
    assert shell.cwd == "/"
    r = shell.execute("exit 3 | echo still")
    assert not r.stop and r.stdout == "still\n"
    shell.execute("sudo su - alation | echo x")
    assert shell.user == "alationadmin"


def test_exit_in_a_list_ends_the_session_and_the_rest_does_not_run(shell: Session) -> None:
    r = shell.execute("echo a; exit 4; echo b")
    assert (r.stdout, r.stop, r.session_status) == ("a\n", True, 4)


def test_confirmation_reads_the_pipelines_input(shell: Session) -> None:
    asked: list[str] = []
    shell._ask = lambda q: asked.append(q)  # the terminal must not be asked
    shell.execute("alation_conf alation.cluster.replication_mode -s secondary")
    r = shell.execute('echo "NO" | alation_action cluster_failover')
    assert r.exit_code == 1 and "answer was not YES" in r.stderr
    assert r.stdout == "Type YES to continue: \n"  # the question on a line of its own: nobody typed the answer
    r = shell.execute("echo | alation_action cluster_failover")
    assert r.exit_code == 1
    assert asked == []
    r = shell.execute('echo "YES" | alation_action cluster_failover')
    assert r.exit_code == 0, r.stderr
    mode = out(shell, "alation_conf alation.cluster.replication_mode")
    assert mode == "alation.cluster.replication_mode = standalone\n"


# Redirections -----------------------------------------------------------------------------------
def test_output_redirection_writes_inside_the_instance(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_conf alation.backup_v2.incr_backup > /data2/tmp/conf.txt")
    assert (r.stdout, r.exit_code) == ("", 0)
    target = instance.root / "data2/tmp/conf.txt"
    assert target.read_text() == "alation.backup_v2.incr_backup = False\n"
    shell.execute("echo second >> /data2/tmp/conf.txt")
    assert target.read_text() == "alation.backup_v2.incr_backup = False\nsecond\n"
    shell.execute("cd /data2/tmp; echo replaced > conf.txt")
    assert target.read_text() == "replaced\n"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".conf.txt")]  # no temp file left
    shell.execute("> /data2/tmp/empty")
    assert (instance.root / "data2/tmp/empty").read_bytes() == b""


def test_stderr_redirections_in_bash_order(shell: Session, instance: Instance) -> None:
    tmp = instance.root / "data2/tmp"
    r = shell.execute("ls /nope > /data2/tmp/a 2>&1")
    assert (r.stdout, r.stderr) == ("", "")
    assert (tmp / "a").read_text() == "ls: cannot access '/nope': No such file or directory\n"
    r = shell.execute("ls /nope 2>&1 > /data2/tmp/b")
    assert r.stderr == "" and r.stdout == "ls: cannot access '/nope': No such file or directory\n"
    assert (tmp / "b").read_text() == ""
    r = shell.execute("ls /nope 2> /data2/tmp/c; echo done")
    assert (r.stdout, r.stderr) == ("done\n", "")
    r = shell.execute("echo out &> /data2/tmp/d; ls /nope &>> /data2/tmp/d")
    assert (tmp / "d").read_text() == "out\nls: cannot access '/nope': No such file or directory\n"
    r = shell.execute("echo to-err >&2")
    assert (r.stdout, r.stderr) == ("", "to-err\n")
    r = shell.execute("ls /nope |& wc -l")
    assert (r.stdout, r.stderr) == ("1\n", "")


def test_input_redirection(shell: Session, instance: Instance) -> None:
    (instance.root / "data2/tmp/in.txt").write_text("b\na\nc\n")
    assert out(shell, "sort < /data2/tmp/in.txt") == "a\nb\nc\n"
    assert out(shell, "cd /data2/tmp && wc -l < in.txt") == "3\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("echo x > /nope/file", "alation-shell: /nope/file: No such file or directory\n"),
        ("echo x > /data2", "alation-shell: /data2: Is a directory\n"),
        ("sort < /data2/nope", "alation-shell: /data2/nope: No such file or directory\n"),
        ("sort < /data2", "alation-shell: /data2: Is a directory\n"),
        ("echo x > /var/instance.json", "alation-shell: /var/instance.json: Permission denied\n"),
        ("echo x >> /var/clock.json", "alation-shell: /var/clock.json: Permission denied\n"),
        ("echo x > $OLDPWD", "alation-shell: $OLDPWD: ambiguous redirect\n"),
    ],
)
def test_redirection_errors_run_nothing(shell: Session, instance: Instance, line: str, message: str) -> None:
    meta = (instance.root / "var/instance.json").read_bytes()
    r = shell.execute(line)
    assert (r.stdout, r.stderr, r.exit_code) == ("", message, 1)
    assert (instance.root / "var/instance.json").read_bytes() == meta


def test_redirection_never_leaves_the_instance(shell: Session, instance: Instance, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, instance.root / "data2/tmp/escape")  # absolute: inside the chroot, not on the host
    os.symlink(str(outside / "f"), instance.root / "data2/tmp/f_link")
    (instance.root / "tmp").mkdir()
    r = shell.execute("echo x > /data2/tmp/escape/f; echo y > /data2/tmp/f_link; echo z >> /data2/tmp/f_link")
    assert r.stderr.count("No such file or directory") == 3
    shell.execute("cd /data2/tmp; echo w > ../../../../../../../../tmp/w")
    assert list(outside.iterdir()) == []
    assert (instance.root / "tmp/w").read_text() == "w\n"


def test_appending_never_follows_a_link_planted_at_the_last_moment(instance: Instance, tmp_path: Path) -> None:
    from alation_shell.pipeline import OutputFile

    shell = Session(instance)
    target = OutputFile(shell, "/data2/tmp/log", append=True)  # opened now, like bash
    victim = tmp_path / "victim"
    victim.write_text("")
    (instance.root / "data2/tmp/log").unlink()
    os.symlink(victim, instance.root / "data2/tmp/log")
    target.commit("appended\n")  # to the file opened, never through the link put there since
    assert victim.read_text() == ""


def test_replacing_keeps_the_files_mode(shell: Session, instance: Instance) -> None:
    path = instance.root / "data2/tmp/script.sh"
    path.write_text("old\n")
    path.chmod(0o750)
    shell.execute("echo new > /data2/tmp/script.sh")
    assert (path.read_text(), path.stat().st_mode & 0o777) == ("new\n", 0o750)


# Errors of the line ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("echo $(hostname)", "alation-shell: command substitution $(...) is not supported in this emulator\n"),
        ("for f in a; do echo $f; done", "alation-shell: the for loop is not supported in this emulator\n"),
        ("echo a | | b", "alation-shell: syntax error near unexpected token `|'\n"),
        ("X=1 alation_conf x", "alation-shell: variable assignment (X=...) is not supported in this emulator\n"),
        ("sleep 5 &", "alation-shell: a background job (&) is not supported in this emulator\n"),
    ],
)
def test_a_line_that_cannot_run_runs_nothing(shell: Session, line: str, message: str) -> None:
    r = shell.execute("echo before; " + line)
    assert (r.stdout, r.stderr, r.exit_code) == ("", message, 2)
    assert shell.execute("echo $?").stdout == "2\n"


def test_plain_lines_take_the_fast_path_and_mean_the_same(shell: Session) -> None:
    import alation_shell.pipeline as pipeline

    fast = pipeline._PLAIN
    assert fast.issuperset("alation_conf alation.backup.scheduled_hour -s 9")
    for line in ("alation_conf alation.backup_v2.incr_backup", "ls -l /data2", "du -s /data1"):
        plain = shell.execute(line)
        parsed = shell.execute(line + " # forces the parser")
        assert (plain.stdout, plain.stderr, plain.exit_code) == (parsed.stdout, parsed.stderr, parsed.exit_code)


def test_a_piped_plain_command_does_not_import_the_grammar(instance: Instance) -> None:
    code = (
        "import sys; from alation_shell.instance import Instance; from alation_shell.session import Session; "
        f"s = Session(Instance({str(instance.root)!r})); r = s.execute('alation_conf alation.backup_v2.incr_backup');"
        "print(r.stdout.strip(), 'alation_shell.grammar' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "alation.backup_v2.incr_backup = False False\n"


def test_help_flag_on_every_command(shell: Session) -> None:
    from alation_shell.commands import COMMANDS

    for name in COMMANDS:
        r = shell.execute(f"{name} --help")
        assert r.exit_code == 0, (name, r.stderr)
        assert r.stdout.strip(), name
        assert "usage" in r.stdout.lower(), name


# History expansion -------------------------------------------------------------------------------
def test_history_expansion_in_an_interactive_session(instance: Instance) -> None:
    shell = Session(instance, terminal=Terminal(interactive=True))
    shell.execute("alation_conf alation.backup_v2.incr_backup")
    r = shell.execute("!!")
    assert r.stderr == "alation_conf alation.backup_v2.incr_backup\n"  # bash shows the line it runs
    assert r.stdout == "alation.backup_v2.incr_backup = False\n"
    shell.execute("whoami")
    r = shell.execute("sudo !!")
    assert (r.stderr, r.stdout) == ("sudo whoami\n", "root\n")
    assert shell.history[-1] == "sudo whoami"
    assert shell.execute("!1").stdout == "alation.backup_v2.incr_backup = False\n"
    assert shell.execute("!-2").stdout == "root\n"
    r = shell.execute("!99")
    assert (r.stderr, r.exit_code) == ("alation-shell: !99: event not found\n", 1)
    assert shell.history[-1] == "sudo whoami"  # the expanded line, as bash records it; a failed one is not


def test_no_history_expansion_in_scripts(shell: Session) -> None:
    assert out(shell, "echo hi!!") == "hi!!\n"  # as bash running a script
