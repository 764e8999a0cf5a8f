"""The installed console commands in subprocesses: piped stdin, -c, script files, standalone alation_conf."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import env_for, tool

SEED_PROCEDURE = """\
alation_conf alation.backup_v2.incr_backup -s True
alation_conf alation.backup_v2.incr_backup_versions -s 4
exit
"""
ESCAPE = re.compile(r"\x1b")


def run(args: list[str], home: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, env=env_for(home, **env), timeout=60
    )


def read_back(home: Path) -> str:
    return run([tool("alation-shell"), "-c", "alation_conf incr_backup"], home).stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def test_piped_seed_procedure_persists(home: Path) -> None:
    r = run([tool("alation-shell")], home, SEED_PROCEDURE)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "alation.backup_v2.incr_backup = True\nalation.backup_v2.incr_backup_versions = 4\n"
    assert r.stderr == ""
    assert read_back(home) == "alation.backup_v2.incr_backup = True\nalation.backup_v2.incr_backup_versions = 4\n"


def test_dash_c_one_command_each(home: Path) -> None:
    for line in SEED_PROCEDURE.splitlines()[:2]:
        assert run([tool("alation-shell"), "-c", line], home).returncode == 0
    r = run([tool("alation-shell"), "-c", "alation_conf alation.backup_v2.incr_backup"], home)
    assert (r.stdout, r.returncode) == ("alation.backup_v2.incr_backup = True\n", 0)


def test_script_file(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "enable_incr.sh"
    script.write_text("# enable incremental backups\n" + SEED_PROCEDURE)
    r = run([tool("alation-shell"), str(script)], home)
    assert r.returncode == 0, r.stderr
    assert "alation.backup_v2.incr_backup_versions = 4" in read_back(home)


def test_standalone_alation_conf(home: Path) -> None:
    r = run([tool("alation_conf"), "alation.backup_v2.incr_backup", "-s", "True"], home)
    assert (r.stdout, r.stderr, r.returncode) == ("alation.backup_v2.incr_backup = True\n", "", 0)
    r = run([tool("alation_conf"), "-s", "4", "alation.backup_v2.incr_backup_versions"], home)
    assert r.returncode == 0
    r = run([tool("alation_conf"), "alation.backup_v2.incr_backup_versions", "-s", "four"], home)
    assert r.returncode == 1
    assert r.stderr == (
        "alation_conf: invalid value 'four' for alation.backup_v2.incr_backup_versions:"
        " expected a whole number (0 or more)\n"
    )
    assert read_back(home) == "alation.backup_v2.incr_backup = True\nalation.backup_v2.incr_backup_versions = 4\n"


def test_python_dash_m_works_like_the_console_command(home: Path) -> None:
    r = run([sys.executable, "-m", "alation_shell"], home, SEED_PROCEDURE)
    assert r.returncode == 0, r.stderr
    assert "alation.backup_v2.incr_backup_versions = 4" in read_back(home)


def test_exit_status_is_that_of_the_last_failing_command(home: Path) -> None:
    r = run([tool("alation-shell")], home, "alation_conf nope.nope\nalation_conf incr_backup\n")
    assert r.returncode == 1
    assert "alation.backup_v2.incr_backup = False" in r.stdout
    r = run([tool("alation-shell")], home, "no_such_command\nalation_conf incr_backup\n")
    assert r.returncode == 127
    r = run([tool("alation-shell")], home, "alation_conf incr_backup\nexit 3\nalation_conf x -s 1\n")
    assert r.returncode == 3


def test_stop_on_error(home: Path) -> None:
    stdin = (
        "alation_conf alation.backup_v2.incr_backup_versions -s x\n"
        "alation_conf alation.backup_v2.incr_backup -s True\n"
    )
    r = run([tool("alation-shell"), "-e"], home, stdin)
    assert r.returncode == 1
    assert r.stdout == ""
    assert "alation.backup_v2.incr_backup = False" in read_back(home)
    r = run([tool("alation-shell")], home, stdin)
    assert r.returncode == 1
    assert r.stdout == "alation.backup_v2.incr_backup = True\n"


def test_echo_reads_like_a_transcript(home: Path) -> None:
    stdin = "# a comment\n\nalation_conf alation.backup_v2.incr_backup -s True\nexit\n"
    r = run([tool("alation-shell"), "--echo"], home, stdin)
    assert r.stdout == (
        "(env) DEMO [alationadmin@alation-demo /]$ # a comment\n"
        "(env) DEMO [alationadmin@alation-demo /]$ alation_conf alation.backup_v2.incr_backup -s True\n"
        "alation.backup_v2.incr_backup = True\n"
        "(env) DEMO [alationadmin@alation-demo /]$ exit\n"
    )


def test_piped_mode_prints_no_escape_codes_and_never_imports_prompt_toolkit(home: Path) -> None:
    code = (
        "import sys, io\n"
        "from alation_shell.__main__ import main\n"
        "status = main([])\n"
        "assert not any(m.startswith('prompt_toolkit') for m in sys.modules), 'prompt_toolkit imported'\n"
        "assert 'pygments' not in sys.modules\n"
        "assert not {'asyncssh', 'bcrypt', 'alation_shell.server'} & set(sys.modules), 'server modules imported'\n"
        "sys.exit(status)\n"
    )
    stdin = SEED_PROCEDURE.replace("exit\n", "") + "help\nalation_conf --list\nnope\n"
    r = run([sys.executable, "-c", code], home, stdin, TERM="xterm")
    assert r.returncode == 127, r.stderr
    assert not ESCAPE.search(r.stdout + r.stderr)


def test_bad_command_line_options(home: Path, tmp_path: Path) -> None:
    r = run([tool("alation-shell"), "--bogus"], home)
    assert r.returncode == 2
    assert r.stderr.startswith("alation-shell: unknown option '--bogus'\n")
    r = run([tool("alation-shell"), str(tmp_path / "missing.sh")], home)
    assert r.returncode == 2
    assert "cannot read script" in r.stderr and "Traceback" not in r.stderr
    r = run([tool("alation-shell"), "-c"], home)
    assert r.returncode == 2 and "-c needs a value" in r.stderr


def test_init_subcommand(tmp_path: Path) -> None:
    home = tmp_path / "big"
    r = run([tool("alation-shell"), "init", "--home", str(home), "--seed", "7"], home)
    assert r.returncode == 0, r.stderr
    assert (home / "var/instance.json").is_file()
    r = run([tool("alation-shell"), "init", "--home", str(home)], home)
    assert r.returncode == 1 and "--force" in r.stderr
    r = run([tool("alation-shell"), "init", "--home", str(home), "--size", "lots"], home)
    assert r.returncode == 2 and "--size expects a size" in r.stderr
    not_instance = tmp_path / "not-an-instance"
    not_instance.mkdir()
    (not_instance / "precious.txt").write_text("keep me")
    r = run([tool("alation-shell"), "init", "--home", str(not_instance), "--force"], home)
    assert r.returncode == 1
    assert (not_instance / "precious.txt").read_text() == "keep me"


def test_dash_c_on_a_terminal_asks_before_it_reads(home: Path) -> None:
    import pexpect

    run([tool("alation-shell"), "-c", "alation_conf alation.cluster.replication_mode -s secondary"], home)
    child = pexpect.spawn(tool("alation-shell"), ["-c", "alation_action cluster_failover"],
                          env=env_for(home, TERM="dumb"), encoding="utf-8", timeout=30)
    child.expect_exact("Type YES to continue: ")  # shown before the answer is typed
    child.sendline("YES")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert run([tool("alation_conf"), "alation.cluster.replication_mode"], home).stdout == (
        "alation.cluster.replication_mode = standalone\n"
    )


def test_typed_at_a_terminal_with_stdout_redirected(home: Path, tmp_path: Path) -> None:
    import pexpect

    log = tmp_path / "session.log"
    child = pexpect.spawn("bash", ["-c", f"{tool('alation-shell')} > {log}"], env=env_for(home, TERM="xterm"),
                          encoding="utf-8", timeout=30)
    child.expect_exact("(env) DEMO [alationadmin@alation-demo /]$ ")  # the prompt goes to the terminal
    child.sendline("alation_conf alation.backup_v2.incr_backup")
    child.expect_exact("(env) DEMO [alationadmin@alation-demo /]$ ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert log.read_text() == "alation.backup_v2.incr_backup = False\n"


def test_a_script_file_saved_with_a_utf8_bom_runs(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "procedure.sh"
    script.write_bytes(b"\xef\xbb\xbf" + SEED_PROCEDURE.encode())
    r = run([tool("alation-shell"), str(script)], home)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "alation.backup_v2.incr_backup = True\nalation.backup_v2.incr_backup_versions = 4\n"
    piped = run([tool("alation-shell")], tmp_path / "other", "\ufeffalation_conf alation.backup_v2.incr_backup\n")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "alation.backup_v2.incr_backup = False\n", "")


BIG = "cat /data1/es/index/attribute.jsonl"  # 1.4 MB: more than a pipe holds, so the writer sees the reader go


@pytest.mark.parametrize("argv", [["alation-shell", "-c", BIG], ["alation-shell"]])
def test_a_reader_that_stops_early_ends_it_quietly_as_sigpipe_ends_coreutils(home: Path, argv: list[str]) -> None:
    """`... | head -1`: the first line comes through; then no error line (it was `cat: Broken pipe`, status 1)
    and the status of a process ended by SIGPIPE, 141, as bash reports `cat big | head -1`."""
    run([tool("alation-shell"), "-c", "true"], home)  # the instance exists: no set-up notes
    command = " ".join([tool(argv[0]), *(shlex.quote(arg) for arg in argv[1:])])
    script = f"printf '{BIG}\\n{BIG}\\n' | {command} | head -1; echo \"status ${{PIPESTATUS[1]}}\""
    r = run(["bash", "-c", script], home)
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == "status 141", r.stdout[-300:]
    assert r.stderr == ""
