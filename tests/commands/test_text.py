"""The text tools against GNU coreutils and grep (and bash's echo): the same input run through both, in the
C locale; the same standard output and the same exit status."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from alation_shell.instance import Instance
from alation_shell.session import Session
from tests.conftest import env_for, tool

TEXT = (
    "b 2\nA 10\na 1\nB 3\n\n  c 20\nb 2\nb 2\nfoo:bar:baz:qux\nx,y,z\n1.5 x\n-3 y\nline with  two  spaces\n"
    "tab\there\tthere\nzeta\nZeta\n   \n007 bond\n+4 plus\n1e3 sci\n"
)
LOG = "".join(
    f"2026-03-0{d} 0{h}:{m}0:00 {level:<5} job {n} {word}\n"
    for n, (d, h, m, level, word) in enumerate(
        [(2, 1, 0, "INFO", "started"), (2, 1, 1, "ERROR", "failed: disk"), (3, 2, 0, "WARN", "slow"),
         (3, 2, 5, "INFO", "line.end"), (4, 9, 3, "ERROR", "Error again"), (4, 9, 4, "info", "a.b a_b")], 1
    )
)
FILES = {
    "text": TEXT,
    "nonl": "one\ntwo\nthree",  # no final newline
    "log": LOG,
    "csv": "id,name,rows\n1,alpha,10\n2,beta\n3,gamma,30,extra\nno commas here\n",
    "empty": "",
    "dup": "a\na\nA\nb\nb\nb\nc\na\n",
}
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


@pytest.fixture
def work(shell: Session, instance: Instance) -> Path:
    """The input files in /data2/tmp of the instance, the session's working directory."""
    tmp = instance.root / "data2/tmp"
    for name, text in FILES.items():
        (tmp / name).write_text(text)
    shell.execute("cd /data2/tmp")
    return tmp


def gnu(argv: list[str], cwd: Path, stdin: str | None = None) -> tuple[str, int]:
    binary = shutil.which(argv[0])
    if binary is None:
        pytest.skip(f"{argv[0]} is not installed")
    r = subprocess.run([binary, *argv[1:]], cwd=cwd, input=stdin, capture_output=True, text=True,
                       env={**os.environ, **C_LOCALE})
    return r.stdout, r.returncode


def ours(shell: Session, argv: list[str], stdin_file: str | None = None) -> tuple[str, int]:
    line = shlex.join(argv)
    if stdin_file is not None:
        line = f"cat {stdin_file} | {line}"
    r = shell.execute(line)
    return r.stdout, r.exit_code


def same(shell: Session, work: Path, argv: list[str], stdin_file: str | None = None) -> None:
    """Our tool and GNU's on the same files (or the same input piped in): equal stdout and exit status."""
    expected = gnu(argv, work, FILES[stdin_file] if stdin_file is not None else None)
    assert ours(shell, argv, stdin_file) == expected, argv


# echo -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [["hello", "world"], ["-n", "x"], ["-e", "a\\tb\\nc"], ["-e", "x\\cy"], ["-ne", "a\\x41\\0101\\101"],
     ["-E", "a\\nb"], ["-nx"], ["--", "x"], ["-e", "\\u00e9\\q\\\\"], ["-n", "-e", "-n"], ["-"], [], ["-e", "\\x"],
     ["a  b", "", "c"]],
)
def test_echo_is_bashs(shell: Session, work: Path, args: list[str]) -> None:
    bash = subprocess.run(["bash", "-c", 'echo "$@"', "echo", *args], capture_output=True, text=True)
    assert ours(shell, ["echo", *args]) == (bash.stdout, bash.returncode)


# grep -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["ERROR", "log"], ["-i", "error", "log"], ["-v", "INFO", "log"], ["-c", "ERROR", "log"],
        ["-n", "ERROR", "log"], ["-E", "ERR(OR)?|WARN", "log"], ["-F", "a.b", "log"], ["a.b", "log"],
        ["-w", "job", "log"], ["-w", "a", "log"], ["-x", "b 2", "text"], ["^[0-9]+", "text"],
        ["-E", "^[0-9]+ ", "text"],
        ["[[:digit:]]\\{2\\}", "text"], ["-o", "-E", "[0-9]+", "log"], ["-l", "ERROR", "log", "text", "csv"],
        ["ERROR", "log", "text"], ["-h", "b", "text", "dup"], ["-H", "zeta", "text"], ["-q", "ERROR", "log"],
        ["nothing-matches", "log"], ["ERROR", "nofile", "log"], ["-s", "ERROR", "nofile"],
        ["-e", "zeta", "-e", "bond", "text"],
        ["-m", "2", "ERROR\\|INFO", "log"], ["\\(b \\)*2", "text"], ["b\\|B", "text"], ["x*", "csv"], ["*x", "text"],
        ["[]a]", "dup"], ["[^a-z]", "dup"], ["\\<job\\>", "log"], ["-E", "a{2,}", "dup"], ["-E", "a{", "text"],
        ["-E", "(b|B) ([0-9])", "text"], ["-c", "-v", "b", "dup"], ["-in", "ZETA", "text"], ["-E", "+4", "text"],
        ["-E", "[[:upper:]][[:lower:]]+", "text"], ["[[:space:]]$", "text"], ["-F", "-x", "b", "dup"],
        ["-E", "(a", "text"], ["a\\{1", "text"], ["[z-a]", "text"], ["", "nonl"], ["-c", "", "empty"], ["two", "nonl"],
        ["-ci", "A", "dup"], ["-E", "^$", "text"], ["-vc", ".", "text"], ["-o", "-i", "b", "dup"],
    ],
)
def test_grep_matches_gnu_grep(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["grep", *args])


@pytest.mark.parametrize("args", [["ERROR"], ["-c", "INFO"], ["-n", "-i", "error"], ["-v", "job"], ["-l", "job"]])
def test_grep_on_piped_input(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["grep", *args], stdin_file="log")


def test_grep_binary_file(shell: Session, work: Path) -> None:
    (work / "bin").write_bytes(b"abc\x00def\nabc\n")
    r = shell.execute("grep abc bin")
    assert (r.stdout, r.stderr, r.exit_code) == ("", "grep: bin: binary file matches\n", 0)
    assert shell.execute("grep -c abc bin").stdout == "2\n"


def test_grep_without_input_says_so(shell: Session) -> None:
    r = shell.execute("grep x")
    assert r.exit_code == 1 and "nothing is piped in and no FILE is given" in r.stderr


# cut --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["-d", "=", "-f2"], ["-d", ":", "-f", "1,3-4", "text"], ["-f2", "text"], ["-s", "-d", ",", "-f", "2", "csv"],
        ["-c", "1-3", "text"], ["-c", "2-", "nonl"], ["-b", "-2", "csv"], ["-d", ",", "-f", "3-", "csv"],
        ["--complement", "-d", ",", "-f", "2", "csv"], ["-d", ",", "-f", "1,2", "--output-delimiter=|", "csv"],
        ["-d", " ", "-f", "2,1", "text"], ["-f", "0", "csv"], ["-f", "3-1", "csv"], ["csv"], ["-d", "ab", "-f1", "csv"],
        ["-c", "1", "-d", ",", "csv"], ["-d", ",", "-f", "2", "csv", "nofile"], ["-d", ",", "-f", "x", "csv"],
        ["-c", "1,1,2", "dup"], ["-d,", "-f1", "-s", "empty"],
    ],
)
def test_cut_matches_gnu_cut(shell: Session, work: Path, args: list[str]) -> None:
    if args == ["-d", "=", "-f2"]:
        (work / "conf").write_text("alation.install.base_url = https://alation.example.com\n")
        args = [*args, "conf"]
    same(shell, work, ["cut", *args])


# tr ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["-d", "[:space:]"], ["a-z", "A-Z"], ["[:lower:]", "[:upper:]"], ["[:upper:]", "[:lower:]"], ["-s", " "],
        ["-d", "0-9"], ["-c", "a-z\\n", "_"], ["-cd", "[:alnum:]\\n"], ["-s", "a-z"], ["abc", "x"], ["-t", "abc", "xy"],
        ["a-c", "[x*]"], ["a-e", "[x*2]yz"], ["[:digit:]", "#"], ["-ds", "a", "b"], ["\\n", " "], ["-d", "[:punct:]"],
        ["-d", "[:alpha:]"], ["-s", "[:blank:]"], ["-d", "\\t"], ["z-a", "x"], ["a"], ["-d"], ["[:foo:]", "x"],
        ["a", "b", "c"], ["-d", "a", "b"], ["bb", "xy"], ["-c", "[:alnum:]", "."], ["\\101-\\103", "abc"],
        ["-d", "[=a=]"], ["[:lower:]", "x"], ["a", "[:upper:]"],
    ],
)
def test_tr_matches_gnu_tr(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["tr", *args], stdin_file="text")


# wc ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["-l"], ["-w"], ["-c"], ["-m"], ["-L"], ["-lw"], ["-cl"]])
def test_wc_on_piped_input(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["wc", *args], stdin_file="text")


@pytest.mark.parametrize(
    "args",
    [["text"], ["text", "log"], ["-l", "text", "log"], ["-c", "text", "nofile"], ["nofile", "text"], ["-w", "nonl"],
     ["empty"], ["-l", "empty", "nonl"], ["-L", "text", "log"], ["text", "."]],
)
def test_wc_on_files(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["wc", *args])


# head and tail ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [["-n", "3", "text"], ["-3", "text"], ["-n", "-2", "text"], ["-c", "5", "text"], ["-c", "-3", "nonl"],
     ["text", "log"], ["-q", "-n", "1", "text", "log"], ["-v", "-n", "1", "nonl"], ["nofile", "-n", "1", "nonl"],
     ["-n", "0", "text"], ["-n", "x", "text"], ["-n", "2", "nonl", "empty", "nonl"]],
)
def test_head_matches_gnu_head(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["head", *args])


@pytest.mark.parametrize(
    "args",
    [["-n", "3", "text"], ["-3", "text"], ["-n", "+2", "nonl"], ["+2", "text"], ["-c", "5", "nonl"],
     ["-c", "+5", "text"], ["text", "log"], ["-q", "-n", "1", "text", "log"], ["nofile", "-n", "1", "nonl"],
     ["-n", "0", "text"], ["-n", "2", "empty", "nonl"], ["-v", "-n", "1", "log"]],
)
def test_tail_matches_gnu_tail(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["tail", *args])


@pytest.mark.parametrize("tool_name", ["head", "tail"])
@pytest.mark.parametrize("args", [[], ["-n", "2"], ["-c", "7"], ["-n", "-3"]])
def test_head_and_tail_on_piped_input(shell: Session, work: Path, tool_name: str, args: list[str]) -> None:
    if tool_name == "tail" and args == ["-n", "-3"]:
        args = ["-n", "+3"]
    same(shell, work, [tool_name, *args], stdin_file="log")


# sort and uniq ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        [], ["-r"], ["-n"], ["-nr"], ["-u"], ["-f"], ["-fu"], ["-k2"], ["-k2n"], ["-k2,2"], ["-k2,2n", "-k1,1r"],
        ["-t", ":", "-k3"], ["-b", "-k2"], ["-s", "-k1,1"], ["-n", "-u"], ["-d"], ["-k1.2"], ["-k2.2,2.3"],
        ["-rn", "-s"],
        ["-k1,1", "-k2,2nr"], ["-t", " ", "-k2", "-n"], ["-k2b"], ["-k0"], ["-t", "ab"], ["-k", "1.0"], ["-Q"],
        ["-k2,1"], ["-nk2"],
    ],
)
def test_sort_matches_gnu_sort(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["sort", *args, "text"])


@pytest.mark.parametrize("args", [["-t", ",", "-k3n", "csv"], ["-t", ",", "-k2,2", "-k1,1r", "csv"],
                                  ["log", "dup"], ["nofile"], ["-k4,4", "-k1,1r", "log"], ["-k5", "log"]])
def test_sort_files(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["sort", *args])


@pytest.mark.parametrize(
    "args",
    [[], ["-c"], ["-d"], ["-u"], ["-i"], ["-c", "-i"], ["-du"], ["-f", "1"], ["-s", "1"], ["-w", "1"], ["-cd"]],
)
def test_uniq_matches_gnu_uniq(shell: Session, work: Path, args: list[str]) -> None:
    same(shell, work, ["uniq", *args, "dup"])
    same(shell, work, ["uniq", *args], stdin_file="text")


def test_sort_then_uniq_count(shell: Session, work: Path) -> None:
    expected = subprocess.run("sort dup | uniq -c | sort -rn", shell=True, cwd=work, capture_output=True, text=True,
                              env={**os.environ, **C_LOCALE}).stdout
    assert shell.execute("sort dup | uniq -c | sort -rn").stdout == expected


# tee --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["out"], ["-a", "out"], ["out", "out2"]])
def test_tee_matches_gnu_tee(shell: Session, work: Path, tmp_path: Path, args: list[str]) -> None:
    gnu_dir = tmp_path / "gnu"
    gnu_dir.mkdir()
    for directory in (work, gnu_dir):
        (directory / "out").write_text("before\n")
    expected = gnu(["tee", *args], gnu_dir, FILES["log"])
    assert ours(shell, ["tee", *args], "log") == expected
    for name in ("out", "out2"):
        if (gnu_dir / name).exists():
            assert (work / name).read_text() == (gnu_dir / name).read_text()


def test_tee_refuses_the_emulators_state(shell: Session, instance: Instance) -> None:
    before = (instance.root / "var/instance.json").read_bytes()
    r = shell.execute("echo x | tee /var/instance.json")
    assert (r.stdout, r.exit_code) == ("x\n", 1)
    assert r.stderr == "tee: /var/instance.json: Permission denied\n"
    assert (instance.root / "var/instance.json").read_bytes() == before


# tail -f ----------------------------------------------------------------------------------------
def test_tail_follow_prints_what_is_appended_until_ctrl_c(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    subprocess.run([tool("alation-shell"), "init"], env=env_for(home), check=True, capture_output=True)
    log = home / "opt/alation/site/logs/follow.log"
    log.write_text("old 1\nold 2\n")
    follower = subprocess.Popen(
        [tool("alation-shell"), "-c", "tail -f -s 0.05 -n 1 /opt/alation/site/logs/follow.log"],
        env=env_for(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "old 2\n"
        with open(log, "a") as f:
            f.write("new 3\n")
        assert follower.stdout.readline() == "new 3\n"
        log.write_text("x\n")  # truncated and rewritten: read again from the start
        assert follower.stdout.readline() == "x\n"
    finally:
        follower.send_signal(signal.SIGINT)
        stdout, stderr = follower.communicate(timeout=30)
    assert follower.returncode == 130
    assert "Traceback" not in stderr and "truncated" in stderr


def test_tail_follow_of_piped_input_just_prints_it(shell: Session, work: Path) -> None:
    assert shell.execute("cat nonl | tail -f -n 1").stdout == "three"  # nothing to follow: GNU tail ends too
