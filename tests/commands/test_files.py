"""File commands inside the emulated chroot: output like coreutils, and no way out of the instance."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.session import Session
from alation_shell.terminal import Terminal
from tests.conftest import env_for, tool


def _is_gnu(tool_name: str) -> bool:
    path = shutil.which(tool_name)
    if path is None:
        return False
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    return "GNU coreutils" in version


needs_gnu_du = pytest.mark.skipif(not _is_gnu("du"), reason="GNU du not installed")
needs_gnu_ls = pytest.mark.skipif(not _is_gnu("ls"), reason="GNU ls not installed")
needs_gnu_tail = pytest.mark.skipif(not _is_gnu("tail"), reason="GNU tail not installed")
HOST_ETC = Path("/etc")


@pytest.fixture
def escapes(instance: Instance) -> Instance:
    """An instance holding symlinks that would leave it if followed on the host."""
    data2 = instance.root / "data2"
    os.symlink("/etc", data2 / "host_etc")
    os.symlink("/etc/hostname", data2 / "host_hostname")
    os.symlink("../../../../../../../..", data2 / "way_up")
    return instance


# pwd and cd -------------------------------------------------------------------------------------
def test_cd_and_pwd(shell: Session) -> None:
    assert shell.execute("pwd").stdout == "/\n"
    assert shell.execute("cd /data1/pgsql").exit_code == 0
    assert shell.execute("pwd").stdout == "/data1/pgsql\n"
    assert shell.prompt() == "(env) DEMO [alationadmin@alation-demo pgsql]$ "
    shell.execute("cd ../../..")
    assert shell.cwd == "/"
    shell.execute("cd ..")
    assert shell.cwd == "/"
    shell.execute("cd")
    assert shell.cwd == "/home/alationadmin"
    shell.execute("cd /")
    shell.execute("cd ~")
    assert shell.cwd == "/home/alationadmin"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cd /nope", "cd: /nope: No such file or directory\n"),
        ("cd /etc/alation/alation_conf.toml", "cd: /etc/alation/alation_conf.toml: Not a directory\n"),
        ("cd / /data1", "cd: too many arguments\n"),
    ],
)
def test_cd_errors_like_bash(shell: Session, line: str, message: str) -> None:
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")  # so alation_conf.toml exists
    shell.execute("cd /data1")
    r = shell.execute(line)
    assert (r.stderr, r.exit_code) == (message, 1)
    assert shell.cwd == "/data1"


# ls ---------------------------------------------------------------------------------------------
def test_ls_root_shows_the_instance_only(shell: Session, instance: Instance) -> None:
    r = shell.execute("ls /")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == sorted(n for n in os.listdir(instance.root) if not n.startswith("."))
    assert set(r.stdout.split()) >= {"data1", "data2", "etc", "opt"}
    assert "bin" not in r.stdout.split() and "usr" not in r.stdout.split()


def test_ls_on_a_terminal_fills_columns(instance: Instance) -> None:
    names = sorted(n for n in os.listdir(instance.root) if not n.startswith("."))
    session = Session(instance, terminal=Terminal(width=80, interactive=True))
    assert session.execute("ls /").stdout == "  ".join(names) + "\n"
    session.terminal = session.terminal.resized(12, 24)
    lines = session.execute("ls /").stdout.splitlines()
    assert 1 < len(lines) < len(names)
    assert all(len(line) <= 12 for line in lines)
    assert sorted(lines[0].split() + [n for line in lines[1:] for n in line.split()]) == names
    assert lines[0].split()[0] == names[0] and lines[1].split()[0] == names[1]  # down the columns first


def test_ls_long_format(shell: Session, instance: Instance) -> None:
    backup = instance.root / "data2/backup"
    (backup / "b.tar.gz").write_bytes(b"x" * 5000)
    (backup / "a.tar.gz").write_bytes(b"y" * 12)
    (backup / ".hidden").write_bytes(b"")
    r = shell.execute("ls -l /data2/backup")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"total \d+", lines[0])
    row = re.compile(r"-rw-r--r-- 1 alation alation +(\d+) \w{3} [ \d]\d ( \d{4}|\d\d:\d\d) (\S+)")
    rows = [row.fullmatch(line) for line in lines[1:]]
    assert all(rows), lines
    assert [(m.group(3), m.group(1)) for m in rows if m] == [("a.tar.gz", "12"), ("b.tar.gz", "5000")]
    assert len({len(line) for line in lines[1:]}) == 1  # the size column is aligned

    everything = shell.execute("ls -la /data2/backup").stdout.splitlines()
    assert [line.split()[-1] for line in everything[1:]][:3] == [".", "..", ".hidden"]
    human = shell.execute("ls -lh /data2/backup").stdout
    assert " 4.9K " in human and " 12 " in human


@needs_gnu_ls
def test_ls_total_matches_gnu_ls(shell: Session, instance: Instance) -> None:
    real = instance.root / "data1/eventbus"
    for flags in ("-l", "-la", "-lh"):
        ours = shell.execute(f"ls {flags} /data1/eventbus").stdout.splitlines()[0]
        gnu = subprocess.run(["ls", flags, str(real)], capture_output=True, text=True,
                             env={"LC_ALL": "C", "PATH": os.environ["PATH"]}).stdout.splitlines()[0]
        assert ours == gnu, flags


def test_ls_operands_and_errors(shell: Session) -> None:
    r = shell.execute("ls /data1/pgsql/rosemeta.db /nope /data2")
    assert r.exit_code == 2
    assert r.stderr == "ls: cannot access '/nope': No such file or directory\n"
    assert r.stdout == "/data1/pgsql/rosemeta.db\n\n/data2:\nbackup\ntmp\n"
    r = shell.execute("ls -z")
    assert r.exit_code == 2 and r.stderr.startswith("ls: invalid option -- 'z'")


def test_ls_symlinks_long_and_short(shell: Session, escapes: Instance) -> None:
    r = shell.execute("ls -l /data2")
    assert r.exit_code == 0
    assert re.search(r"^lrwxrwxrwx 1 alation alation +\d+ .* host_etc -> /etc$", r.stdout, re.M)
    # Without -l the link is followed, inside the instance: its /etc, never the host's.
    listed = shell.execute("ls /data2/host_etc").stdout.split()
    assert listed == sorted(os.listdir(escapes.root / "etc"))
    assert "passwd" not in listed and "alation" in listed


def test_ls_glob_and_tilde(shell: Session, instance: Instance) -> None:
    (instance.root / "data2/backup/202603020900_17-0-0-49181_alation_backup.tar.gz").write_bytes(b"1")
    (instance.root / "data2/backup/202603030900_17-0-0-49181_alation_backup.tar.gz").write_bytes(b"2")
    r = shell.execute("ls /data2/backup/*_alation_backup.tar.gz")
    assert r.stdout.splitlines() == [
        "/data2/backup/202603020900_17-0-0-49181_alation_backup.tar.gz",
        "/data2/backup/202603030900_17-0-0-49181_alation_backup.tar.gz",
    ]
    r = shell.execute("ls /data2/backup/*.zip")
    assert (r.exit_code, r.stderr) == (2, "ls: cannot access '/data2/backup/*.zip': No such file or directory\n")
    (instance.root / "home/alationadmin/notes.txt").write_text("hi\n")
    assert shell.execute("ls ~").stdout == "notes.txt\n"
    assert shell.execute("cat ~/notes.txt").stdout == "hi\n"


# Confinement ------------------------------------------------------------------------------------
def test_cat_etc_passwd_reads_the_instance(shell: Session) -> None:
    assert (HOST_ETC / "passwd").exists()  # so the host file is there to leak, if anything leaked
    for line in ("cat /etc/passwd", "cat ../../../../../../etc/passwd", "cat /data2/host_etc/passwd",
                 "cat /data2/way_up/etc/passwd", "cat /data2/host_hostname"):
        r = shell.execute(line)
        assert r.exit_code == 1, line
        assert r.stdout == ""
        assert r.stderr.endswith(": No such file or directory\n"), line


@pytest.mark.usefixtures("escapes")
def test_no_command_leaves_the_instance(shell: Session, instance: Instance) -> None:
    root_listing = sorted(n for n in os.listdir(instance.root) if not n.startswith("."))
    assert shell.execute("ls /data2/way_up").stdout.splitlines() == root_listing
    assert shell.execute("ls /data2/way_up/..").stdout.splitlines() == root_listing
    assert shell.execute("cd /data2/way_up").exit_code == 0
    assert shell.cwd == "/"
    assert shell.execute("cd /data2/host_etc").exit_code == 0
    assert shell.cwd == "/etc"
    assert shell.execute("ls").stdout.split() == sorted(os.listdir(instance.root / "etc"))
    for line in ("tail /data2/host_hostname", "tail /data2/host_etc/passwd", "du /data2/host_etc/passwd",
                 "ls /data2/host_etc/passwd"):
        assert shell.execute(line).exit_code != 0, line
    # du walks the tree without following links: the links count as themselves.
    r = shell.execute("du /data2")
    assert r.exit_code == 0
    assert [line.split("\t")[1] for line in r.stdout.splitlines()] == ["/data2/backup", "/data2/tmp", "/data2"]
    r = shell.execute("ls -la /")
    dotdot = next(line for line in r.stdout.splitlines() if line.endswith(" .."))
    dot = next(line for line in r.stdout.splitlines() if line.endswith(" ."))
    assert dotdot[:-2] == dot[:-1]  # `..` of / is / itself


# cat and tail -----------------------------------------------------------------------------------
def test_cat_binary_directory_and_fifo(shell: Session, instance: Instance) -> None:
    tmp = instance.root / "data2/tmp"
    (tmp / "blob").write_bytes(b"\xff\xfeok\n")
    (tmp / "text").write_text("line one\n")
    os.mkfifo(tmp / "pipe")
    r = shell.execute("cat /data2/tmp/blob /data2/tmp/text")
    assert (r.stdout, r.exit_code) == ("\ufffd\ufffdok\nline one\n", 0)
    r = shell.execute("cat /data2/tmp /data2/tmp/pipe /data2/tmp/text")
    assert r.exit_code == 1
    assert r.stderr == "cat: /data2/tmp: Is a directory\ncat: /data2/tmp/pipe: not a regular file\n"
    assert r.stdout == "line one\n"


@pytest.fixture
def log(instance: Instance) -> Path:
    path = instance.root / "opt/alation/site/logs/big.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(1, 200_001)))
    return path


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", [f"line {i}" for i in range(199_991, 200_001)]),
        ("-n 3", ["line 199998", "line 199999", "line 200000"]),
        ("-n2", ["line 199999", "line 200000"]),
        ("-1", ["line 200000"]),
        ("--lines=1", ["line 200000"]),
        ("-n 0", []),
        ("-n +199999", ["line 199999", "line 200000"]),
    ],
)
def test_tail_reads_from_the_end(shell: Session, log: Path, options: str, expected: list[str]) -> None:
    r = shell.execute(f"tail {options} /opt/alation/site/logs/big.log")
    assert (r.stdout.splitlines(), r.exit_code) == (expected, 0)


def test_tail_edges(shell: Session, instance: Instance) -> None:
    tmp = instance.root / "data2/tmp"
    (tmp / "a").write_bytes(b"one\ntwo\nthree")  # no final newline
    (tmp / "b").write_bytes(b"")
    r = shell.execute("tail -n 2 /data2/tmp/a /data2/tmp/b")
    assert r.stdout == "==> /data2/tmp/a <==\ntwo\nthree\n==> /data2/tmp/b <==\n"
    r = shell.execute("tail /data2/tmp/nope /data2/tmp")
    assert r.exit_code == 1
    assert r.stderr == ("tail: cannot open '/data2/tmp/nope' for reading: No such file or directory\n"
                        "tail: error reading '/data2/tmp': Is a directory\n")
    r = shell.execute("tail -n x /data2/tmp/a")
    assert (r.exit_code, r.stderr) == (1, "tail: invalid number of lines: 'x' (usage: tail [-n [+]N | -c [+]N] "
                                          "[-f] [-s SECONDS] [-qv] [FILE ...])\n")


def test_tail_multiple_files_are_separated_by_a_blank_line(shell: Session, instance: Instance) -> None:
    tmp = instance.root / "data2/tmp"
    (tmp / "a").write_text("1\n2\n")
    (tmp / "b").write_text("3\n")
    r = shell.execute("tail -n 1 /data2/tmp/a /data2/tmp/b")
    assert r.stdout == "==> /data2/tmp/a <==\n2\n\n==> /data2/tmp/b <==\n3\n"


# du ---------------------------------------------------------------------------------------------
@needs_gnu_du
@pytest.mark.parametrize("flags", ["", "-s", "-h", "-sh"])
def test_du_matches_gnu_du(shell: Session, instance: Instance, flags: str) -> None:
    # A hard link beside its file: where a link in another directory counts depends on walk order.
    (instance.root / "data1/pgsql/hardlink").hardlink_to(instance.root / "data1/pgsql/rosemeta.db")
    os.symlink("/etc", instance.root / "data1/link_out")
    ours = shell.execute(f"du {flags} /data1").stdout.splitlines()
    gnu = subprocess.run(["du", *([flags] if flags else []), "."], cwd=instance.root / "data1",
                         capture_output=True, text=True, check=True).stdout.splitlines()

    def by_path(lines: list[str], prefix: str) -> dict[str, str]:
        return {path.removeprefix(prefix): size for size, path in (line.split("\t") for line in lines)}

    assert by_path(ours, "/data1") == by_path(gnu, ".")
    assert ours[-1].endswith("\t/data1")


def test_du_errors_and_default_operand(shell: Session) -> None:
    r = shell.execute("du -s /nope")
    assert (r.exit_code, r.stderr) == (1, "du: cannot access '/nope': No such file or directory\n")
    shell.execute("cd /data2")
    r = shell.execute("du")
    assert [line.split("\t")[1] for line in r.stdout.splitlines()] == ["./backup", "./tmp", "."]


def test_chown_checks_owner_files_and_root(shell) -> None:  # noqa: ANN001 - the Session fixture
    shell.execute("alation_action backup_all")
    r = shell.execute("chown alation:alation /data2/backup")
    assert r.exit_code == 1
    assert r.stderr == "chown: changing ownership of '/data2/backup': Operation not permitted (use sudo)\n"
    assert shell.execute("sudo chown alation:alation /data2/backup/*.tar.gz").exit_code == 0
    r = shell.execute("sudo chown -R alation /data2/backup /data2/nope")
    assert (r.exit_code, r.stderr) == (1, "chown: cannot access '/data2/nope': No such file or directory\n")
    r = shell.execute("sudo chown mallory /data2/backup")
    assert (r.exit_code, r.stderr) == (1, "chown: invalid user: 'mallory'\n")


# Hostile shapes: odd names, deep trees, huge lines and numbers -------------------------------
def test_ls_on_a_terminal_quotes_and_aligns_like_gnu_ls(instance: Instance) -> None:
    folder = instance.root / "data2/tmp"
    for name in ("a b", "c", "d\ne"):
        (folder / name).touch()
    os.symlink("t\x1bg", folder / "lnk")
    when = clock.now(instance).timestamp()  # dated as the emulator dates files: `ls -l` shows HH:MM
    for name in ("a b", "c", "d\ne", "lnk"):
        os.utime(folder / name, (when, when), follow_symlinks=False)
    session = Session(instance, terminal=Terminal(width=80, interactive=True))
    assert session.execute("ls /data2/tmp").stdout == "'a b'   c  'd'$'\\n''e'   lnk\n"
    lines = session.execute("ls -l /data2/tmp").stdout.splitlines()
    assert [line.split(":", 1)[1][3:] for line in lines[1:]] == [
        "'a b'", " c", "'d'$'\\n''e'", " lnk -> 't'$'\\033''g'"]
    assert Session(instance).execute("ls /data2/tmp").stdout == "a b\nc\n'd'$'\\n''e'\nlnk\n"  # a pipe


@needs_gnu_du
def test_du_goes_through_a_tree_deeper_than_the_recursion_limit(
    shell: Session, instance: Instance, deep_tree: Callable[..., Path]
) -> None:
    top = deep_tree(instance.root / "data1/site_data/deep", 1100)
    r = shell.execute("du /data1/site_data/deep")
    assert (r.exit_code, r.stderr) == (0, "")
    gnu = subprocess.run(["du", "."], cwd=top, capture_output=True, text=True, check=True).stdout
    assert sorted(r.stdout.replace("\t/data1/site_data/deep", "\t.").splitlines()) == sorted(gnu.splitlines())
    assert len(r.stdout.splitlines()) == 1101
    r = shell.execute("du -s /data1/site_data/deep")
    assert r.stdout == gnu.splitlines()[-1].replace("\t.", "\t/data1/site_data/deep") + "\n"


def test_du_names_a_path_too_long_for_the_host_and_goes_on(
    shell: Session, instance: Instance, deep_tree: Callable[..., Path]
) -> None:
    deep_tree(instance.root / "data1/site_data/deep", 1100, "ddd")  # 4,400 characters: more than PATH_MAX
    r = shell.execute("du -s /data1/site_data")
    assert r.exit_code == 1
    assert r.stdout.endswith("\t/data1/site_data\n")
    [error] = r.stderr.splitlines()
    assert error.startswith("du: cannot access '/data1/site_data/deep/ddd/ddd/") and "File name too long" in error
    assert str(instance.root) not in r.stderr


@needs_gnu_tail
@pytest.mark.parametrize("content", [
    b"", b"\n", b"one", b"one\n", b"a\nb\nc", b"a\nb\nc\n", b"\n\n\n", b"x\r\ny\rz\n", b"tail\n" * 30_000 + b"end",
    bytes(range(256)) * 700,
])
@pytest.mark.parametrize("count", ["0", "1", "2", "+1", "+2", "+3", "10", "+70000"])
def test_tail_matches_gnu_tail(shell: Session, instance: Instance, content: bytes, count: str) -> None:
    path = instance.root / "data2/tmp/f"
    path.write_bytes(content)
    gnu = subprocess.run(["tail", "-n", count, str(path)], capture_output=True, check=True).stdout
    assert shell.execute(f"tail -n {count} /data2/tmp/f").stdout == gnu.decode("utf-8", "replace")


def test_tail_of_a_huge_line_holds_none_of_it(instance: Instance) -> None:
    """64 MiB without a newline: the last line is the whole file. It is streamed, so a process allowed 32 MiB of
    data prints it (reading it whole, or keeping what was printed, would need more)."""
    import hashlib
    import resource

    path = instance.root / "data1/site_data/one_line.bin"
    with open(path, "wb") as f:
        for i in range(64):
            f.write(bytes([65 + i % 26]) * (1 << 20))
    out = instance.root.parent / "tail.out"
    limit = 32 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    with open(out, "wb") as f:
        r = subprocess.run([tool("alation-shell"), "-c", "tail /data1/site_data/one_line.bin"], stdout=f,
                           stderr=subprocess.PIPE, env=env_for(instance.root), preexec_fn=limited, timeout=120)
    assert (r.returncode, r.stderr) == (0, b"")
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()


HUGE = "9" * 5000
TAIL_USAGE = "tail [-n [+]N | -c [+]N] [-f] [-s SECONDS] [-qv] [FILE ...]"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"tail -n {HUGE} /data2/tmp/f", f"tail: invalid number of lines: '{HUGE[:24]}...{HUGE[:13]}': Value too "
                                         f"large for defined data type (usage: {TAIL_USAGE})"),
        (f"tail -{HUGE} /data2/tmp/f", None),
        (f"tail --lines=+{HUGE} /data2/tmp/f", None),
        ("tail -n \u00b2 /data2/tmp/f", f"tail: invalid number of lines: '\u00b2' (usage: {TAIL_USAGE})"),
        ("tail -n +-3 /data2/tmp/f", None),
        (f"history {HUGE}", "history: history takes an optional COUNT (a whole number); usage: history [N]"),
        ("history \u00b2", None),
        (f"exit {HUGE}", "exit: exit takes an optional numeric STATUS (usage: exit [STATUS])"),
        (f"exit -{HUGE}", None),
        ("exit \u0663", None),  # ARABIC-INDIC DIGIT THREE: a digit to int(), not to bash
    ],
)
def test_numbers_beyond_range_or_not_ascii_are_usage_errors(
    shell: Session, instance: Instance, line: str, message: str | None
) -> None:
    (instance.root / "data2/tmp/f").write_text("x\n")
    r = shell.execute(line)
    assert r.exit_code == (1 if line.startswith("tail") else 2) and not r.stop, r  # tail: GNU's status
    assert len(r.stderr.splitlines()) == 1 and "internal error" not in r.stderr
    if message is not None:
        assert r.stderr == message + "\n"


def test_numbers_in_range_still_work(shell: Session, instance: Instance) -> None:
    (instance.root / "data2/tmp/f").write_text("1\n2\n3\n")
    assert shell.execute("tail -n 000000000000000000000002 /data2/tmp/f").stdout == "2\n3\n"
    assert shell.execute("tail -n 999999999999999999 /data2/tmp/f").stdout == "1\n2\n3\n"
    assert shell.execute("history 2").stdout.splitlines()[-1].endswith("history 2")
    r = shell.execute("exit -1")
    assert (r.stop, r.session_status) == (True, 255)


# ls sorting and block sizes, du --max-depth, cd -, cat of piped input --------------------------
@pytest.fixture
def listing(instance: Instance) -> Path:
    """Files of several sizes and times (two share a time, so that the name decides between them)."""
    folder = instance.root / "data2/backup/listing"
    folder.mkdir()
    for name, size, day in [("b_big", 3_000_000, 3), ("a_exact", 1 << 20, 3), ("c_small", 3, 1),
                            ("d_empty", 0, 5), ("e_mid", 5000, 4)]:
        (folder / name).write_bytes(b"x" * size)
        os.utime(folder / name, (1767225600 + day * 86400, 1767225600 + day * 86400))
    (folder / "sub").mkdir()
    os.utime(folder / "sub", (1767225600 + 2 * 86400, 1767225600 + 2 * 86400))
    return folder


def _columns_that_do_not_depend_on_the_owner(text: str) -> list[tuple[str, ...]]:
    """(mode, links, size, name) of each `ls -l` row, and the `total` line."""
    rows: list[tuple[str, ...]] = []
    for line in text.splitlines():
        if line.startswith("total"):
            rows.append((line,))
        else:
            mode, links, _, _, size, _, _, _, name = line.split(None, 8)
            rows.append((mode, links, size, name))
    return rows


@needs_gnu_ls
@pytest.mark.parametrize("flags", ["-lt", "-ltr", "-lS", "-lSr", "-l --block-size=M", "-lh --block-size=M",
                                   "-l --block-size=M -h", "-l --block-size=K", "-lr", "-t", "-S", "-tr"])
def test_ls_order_and_block_size_match_gnu_ls(shell: Session, listing: Path, flags: str) -> None:
    ours = shell.execute(f"ls {flags} /data2/backup/listing").stdout
    gnu = subprocess.run(["ls", *flags.split(), "listing"], cwd=listing.parent, capture_output=True, text=True,
                         env={**os.environ, "LC_ALL": "C"}, check=True).stdout
    if "l" in flags.split()[0]:
        assert _columns_that_do_not_depend_on_the_owner(ours) == _columns_that_do_not_depend_on_the_owner(gnu)
    else:
        assert ours == gnu


def test_ls_block_size_errors(shell: Session) -> None:
    r = shell.execute("ls -l --block-size=Q /")
    assert r.exit_code == 2 and "invalid --block-size argument 'Q'" in r.stderr
    assert shell.execute("ls --color /").exit_code == 2


@needs_gnu_du
@pytest.mark.parametrize("flags", ["--max-depth=1", "-d 0", "-d1", "--max-depth 2", "-h --max-depth=1"])
def test_du_max_depth_matches_gnu_du(shell: Session, instance: Instance, flags: str) -> None:
    ours = shell.execute(f"du {flags} /data1").stdout.splitlines()
    gnu = subprocess.run(["du", *flags.split(), "."], cwd=instance.root / "data1", capture_output=True, text=True,
                         check=True).stdout.splitlines()

    def by_path(lines: list[str], prefix: str) -> dict[str, str]:
        return {path.removeprefix(prefix): size for size, path in (line.split("\t") for line in lines)}

    assert by_path(ours, "/data1") == by_path(gnu, ".")


def test_du_max_depth_errors(shell: Session) -> None:
    assert shell.execute("du --max-depth=x /data1").exit_code == 2
    r = shell.execute("du -s --max-depth=1 /data1")
    assert r.exit_code == 2 and "summarizing conflicts with --max-depth=1" in r.stderr


def test_cd_dash_goes_back_and_prints_where(shell: Session) -> None:
    r = shell.execute("cd -")
    assert (r.stderr, r.exit_code) == ("cd: OLDPWD not set\n", 1)
    shell.execute("cd /data2/backup")
    shell.execute("cd /opt")
    r = shell.execute("cd -")
    assert (r.stdout, shell.cwd) == ("/data2/backup\n", "/data2/backup")
    assert shell.execute("cd -").stdout == "/opt\n"


def test_cat_reads_piped_input(shell: Session) -> None:
    assert shell.execute("echo hi | cat").stdout == "hi\n"
    assert shell.execute("echo hi | cat - /etc/alation/../alation/ 2>&1").stdout.startswith("hi\n")
    r = shell.execute("cat")
    assert r.exit_code == 2 and "nothing is piped in" in r.stderr
