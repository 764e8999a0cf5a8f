"""What the emulated server says about itself: users, host name, date (the virtual clock), disks, network,
`su`. Layouts are checked against the GNU tools where the host has them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from alation_shell.commands.system import df_table
from alation_shell.instance import Instance
from alation_shell.session import Session

EPOCH = 1772442000 + 3 * 86400 + 3723  # Thu 2026-03-05 10:02:03 UTC


def out(shell: Session, line: str) -> str:
    r = shell.execute(line)
    assert r.exit_code == 0, r.stderr
    return r.stdout


# Users ------------------------------------------------------------------------------------------
def test_whoami_follows_sudo_and_su(shell: Session) -> None:
    assert out(shell, "whoami") == "alationadmin\n"
    assert out(shell, "sudo whoami") == "root\n"
    shell.execute("sudo su - alation")
    assert (out(shell, "whoami"), shell.cwd) == ("alation\n", "/home/alation")
    assert shell.prompt() == "(env) DEMO [alation@alation-demo ~]$ "
    shell.execute("exit")
    assert (out(shell, "whoami"), shell.cwd) == ("alationadmin\n", "/")


def test_id(shell: Session) -> None:
    assert out(shell, "id") == "uid=1001(alationadmin) gid=1001(alationadmin) groups=1001(alationadmin),10(wheel)\n"
    assert out(shell, "id alation") == "uid=1000(alation) gid=1000(alation) groups=1000(alation)\n"
    assert out(shell, "id -un; id -u; id -gn; id -G") == "alationadmin\n1001\nalationadmin\n1001 10\n"
    assert out(shell, "id -Gn") == "alationadmin wheel\n"
    r = shell.execute("id bob")
    assert (r.stderr, r.exit_code) == ("id: 'bob': no such user\n", 1)


@pytest.mark.skipif(shutil.which("id") is None, reason="no id")
@pytest.mark.parametrize("args", [[], ["-u"], ["-un"], ["-g"], ["-G"], ["-Gn"]])
def test_id_of_root_is_gnu_ids(shell: Session, args: list[str]) -> None:
    gnu = subprocess.run(["id", *args, "root"], capture_output=True, text=True)
    assert out(shell, " ".join(["id", *args, "root"])) == gnu.stdout


def test_hostname(shell: Session) -> None:
    assert out(shell, "hostname; hostname -s; hostname -i; hostname -I") == \
        "alation-demo\nalation-demo\n10.11.2.15\n10.11.2.15 \n"
    r = shell.execute("hostname other")
    assert (r.stderr, r.exit_code) == ("hostname: you must be root to change the host name\n", 1)


# date -------------------------------------------------------------------------------------------
def test_date_is_the_virtual_clock(shell: Session) -> None:
    assert out(shell, "date +%F") == "2026-03-02\n"
    assert out(shell, "date").startswith("Mon Mar  2 09:0")
    assert out(shell, "date -u").endswith(" UTC 2026\n")
    shell.execute("sim advance 3d")
    assert out(shell, "date +%F") == "2026-03-05\n"
    assert out(shell, "date '+%A %H'") == "Thursday 09\n"


@pytest.mark.skipif(shutil.which("date") is None, reason="no date")
@pytest.mark.parametrize(
    "args",
    [[], ["+%Y-%m-%d %H:%M:%S"], ["+%s"], ["+%N|%3N"], ["+%:z|%::z|%z"], ["+%Z"], ["+%a %b %e %k %l %p %P"],
     ["+%-d/%-m/%y"], ["+%j %U %W %V %G %u %w"], ["+%D %T %R %r %c %x %X"], ["+%%|%n|%t|%h"], ["-R"], ["-I"],
     ["-Iseconds"], ["-Ins"], ["-Ihours"], ["+%_H|%05e|%^a|%#b"], ["+[%H]"], ["+"]],
)
def test_date_formats_are_gnu_dates(shell: Session, args: list[str]) -> None:
    gnu = subprocess.run(["date", "-u", "-d", f"@{EPOCH}", *args], capture_output=True, text=True,
                         env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})
    r = shell.execute(" ".join(["date", "-d", f"@{EPOCH}", *(f"'{a}'" for a in args)]))
    assert (r.stdout, r.exit_code) == (gnu.stdout, gnu.returncode)


def test_date_cannot_be_set(shell: Session) -> None:
    r = shell.execute("sudo date -s '2020-01-01'")
    assert r.exit_code == 1 and "sim advance" in r.stderr
    assert shell.execute("date 0101").exit_code == 1


# df ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("df") is None, reason="no df")
@pytest.mark.parametrize(("args", "human", "types", "unit", "suffix"),
                         [(["-h"], True, False, 1024, ""), ([], False, False, 1024, ""),
                          (["-T"], False, True, 1024, ""), (["-hT"], True, True, 1024, ""),
                          (["-BG"], False, False, 1 << 30, "G"), (["-m"], False, False, 1 << 20, "")])
def test_df_layout_is_gnu_dfs(args: list[str], human: bool, types: bool, unit: int, suffix: str) -> None:
    """GNU df's rows of the host, laid out by our df_table: the same text, to the space."""
    gnu = subprocess.run(["df", *args, "/"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    lines = gnu.stdout.splitlines()
    rows = [line.split(None, 6 if types else 5) for line in lines[1:]]
    assert df_table(rows, human=human, types=types, unit=unit, suffix=suffix) == gnu.stdout


def test_df_shows_the_emulated_disks_and_what_the_instance_uses(shell: Session, instance: Instance) -> None:
    lines = out(shell, "df -h").splitlines()
    assert lines[0] == "Filesystem      Size  Used Avail Use% Mounted on"
    assert [line.split()[-1] for line in lines[1:]] == ["/", "/data1", "/data2"]
    assert [line.split()[1] for line in lines[1:]] == ["50G", "200G", "300G"]

    def used_kib() -> int:
        return int(out(shell, "df /data1").splitlines()[1].split()[2])

    before = used_kib()
    (instance.root / "data1/site_data/uploads/big.bin").write_bytes(os.urandom(10 << 20))
    grown = used_kib() - before
    assert 10 << 10 <= grown < (10 << 10) + 64
    assert out(shell, "df /data2/backup").splitlines()[1].split()[-1] == "/data2"
    assert out(shell, "df -h /opt").splitlines()[1].split()[-1] == "/"
    r = shell.execute("df /nope")
    assert (r.stderr, r.exit_code) == ("df: /nope: No such file or directory\n", 1)


# ip ---------------------------------------------------------------------------------------------
def test_ip_addr(shell: Session) -> None:
    full = out(shell, "ip addr")
    assert full.splitlines()[0].startswith("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536")
    assert "    inet 10.11.2.15/24 brd 10.11.2.255 scope global dynamic noprefixroute eth0\n" in full
    assert out(shell, "ip a") == full == out(shell, "ip address show")
    eth0 = out(shell, "ip -4 addr show dev eth0").splitlines()
    assert [line.split()[0] for line in eth0] == ["2:", "inet", "valid_lft"]
    assert out(shell, "ip route").startswith("default via 10.11.2.1 dev eth0")
    r = shell.execute("ip addr show wlan0")
    assert (r.stderr, r.exit_code) == ('ip: Device "wlan0" does not exist.\n', 1)


# su ---------------------------------------------------------------------------------------------
def test_su_needs_sudo(shell: Session) -> None:
    r = shell.execute("su - alation")
    assert r.exit_code == 1 and "Authentication failure" in r.stderr
    assert shell.user == "alationadmin"


def test_su_with_a_command_runs_it_as_the_user_and_comes_back(shell: Session) -> None:
    r = shell.execute('sudo su - alation -c \'whoami; pwd; echo $HOME\'; echo "$HOME"')
    assert r.stdout == "alation\n/home/alation\n/home/alation\n/home/alationadmin\n"
    assert (shell.user, shell.cwd, shell.su_stack) == ("alationadmin", "/", [])
    r = shell.execute("sudo su - alation -c 'alation_conf alation.backup_v2.incr_backup -s True'")
    assert r.stdout == "alation.backup_v2.incr_backup = True\n"


def test_sudo_su_makes_the_home_directory(shell: Session, instance: Instance) -> None:
    shutil.rmtree(instance.root / "home/alation", ignore_errors=True)
    shell.execute("sudo su -")
    assert (shell.user, shell.cwd) == ("root", "/root")
    assert (instance.root / "root").is_dir()
    assert shell.prompt().endswith("~]# ")
