"""`alation-shell serve` end to end, on 127.0.0.1: the OpenSSH client binary and an asyncssh client."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import asyncssh
import pexpect
import pytest

from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.server.ssh import COMMAND_THREADS, IDLE_MESSAGE
from tests.conftest import tool
from tests.e2e.ssh_server import Server, adduser, make_key, own_server

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None or shutil.which("ssh-keygen") is None,
                                reason="needs the OpenSSH client (scripts/test installs it when run as root)")

INCR = "alation.backup_v2.incr_backup"
VERSIONS = "alation.backup_v2.incr_backup_versions"
HOST_PROMPT = "[bob@alation-demo ~]$"  # prompt_toolkit moves the cursor past the trailing space
SHELL_PROMPT = r"alation-demo(\x1b\[[0-9;]*m)* (\x1b\[[0-9;]*m)*/(\x1b\[[0-9;]*m)*\]\$"  # coloured
SETTLE = 0.3  # between keys, for prompt_toolkit's asynchronous completion (repl-lessons: the Tab/Enter race)
REMOVED = "alation-shell: your user was removed; logging out"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("keys")
    return {name: make_key(where / name) for name in ("bob", "carol", "stranger")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seeded_template: Path, keys: dict[str, Path]) -> Server:
    home = tmp_path_factory.mktemp("server") / "home"
    home.mkdir(mode=0o700)
    adduser(home, "bob", key=keys["bob"])
    adduser(home, "carol", key=keys["carol"], password="carol's secret")
    started = Server(home, seeded_template)
    yield started
    assert started.stop() == 0


def instance_of(server: Server, user: str) -> Instance:
    return Instance(server.home / "users" / user / "instance")


def spawn_tty(server: Server, key: Path, *extra: str, user: str = "bob") -> pexpect.spawn:
    """`ssh -tt` in a real terminal (pexpect), at the host prompt."""
    child = pexpect.spawn(server.ssh_argv(user, key, "-tt", *extra)[0], server.ssh_argv(user, key, "-tt", *extra)[1:],
                          env=dict(os.environ, TERM="xterm"), dimensions=(30, 120), encoding="utf-8", timeout=30)
    child.logfile_read = io.StringIO()
    return child


def spawn_plain(server: Server, key: Path, user: str = "bob") -> pexpect.spawn:
    """`ssh -T`: a session without a pty (plain line mode), driven through pexpect."""
    argv = server.ssh_argv(user, key, "-T")
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=30)
    child.logfile_read = io.StringIO()
    child.sendline(f"alation_conf {INCR}")
    child.expect_exact(f"{INCR} = False")  # logged in, its session live
    return child


def deluser(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("alation-shell"), "deluser", *args, "--server-home", str(home)],
                          capture_output=True, text=True, timeout=120)


# Exec ------------------------------------------------------------------------------------------------
def test_exec_prints_the_value_and_exits_0(server: Server, keys: dict[str, Path]) -> None:
    r = server.ssh("bob", keys["bob"], f"alation_conf {INCR}")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{INCR} = False\n", "")


def test_exec_failure_keeps_its_status_and_its_error_on_stderr(server: Server, keys: dict[str, Path]) -> None:
    r = server.ssh("bob", keys["bob"], f"alation_conf {VERSIONS} -s four")
    assert r.returncode == 1  # the command's own status, not ssh's 255
    assert r.stdout == ""
    assert r.stderr.startswith(f"alation_conf: invalid value 'four' for {VERSIONS}")
    r = server.ssh("bob", keys["bob"], "no_such_command")
    assert r.returncode == 127 and "no_such_command: command not found" in r.stderr
    assert server.ssh("bob", keys["bob"], "exit 3").returncode == 3


def test_exec_answers_a_confirmation_from_stdin(server: Server, keys: dict[str, Path]) -> None:
    assert server.ssh("bob", keys["bob"], "alation_conf alation.cluster.replication_mode -s secondary").returncode == 0
    r = server.ssh("bob", keys["bob"], "alation_action cluster_failover", input="YES\n")
    assert r.returncode == 0, r.stderr
    r = server.ssh("bob", keys["bob"], "alation_conf alation.cluster.replication_mode")
    assert r.stdout == "alation.cluster.replication_mode = standalone\n"


def test_the_log_has_a_line_for_each_login_command_and_logout(server: Server, keys: dict[str, Path]) -> None:
    server.ssh("carol", keys["carol"], "alation_conf alation.backup.scheduled_hour")
    log = server.wait_for_log(r"logout user=carol")
    assert "login user=carol peer=127.0.0.1:" in log and "method=publickey" in log
    assert 'command user=carol session=' in log and 'line="alation_conf alation.backup.scheduled_hour"' in log
    assert all(len(line.split(" ")) >= 3 for line in log.splitlines())


# Logins ----------------------------------------------------------------------------------------------
def test_password_login_with_an_asyncssh_client(server: Server) -> None:
    async def go() -> asyncssh.SSHCompletedProcess:
        async with server.connect("carol", password="carol's secret") as conn:
            return await conn.run(f"alation_conf {INCR}")

    r = asyncio.run(go())
    assert (r.exit_status, r.stdout, r.stderr) == (0, f"{INCR} = False\n", "")
    assert "login user=carol" in server.log() and "method=password" in server.log()


def test_refused_logins_and_repeated_failures_are_slowed(tmp_path: Path, seeded_template: Path,
                                                         keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    adduser(home, "carol", password="right")
    with own_server(home, seeded_template) as server:
        r = server.ssh("bob", keys["stranger"], f"alation_conf {INCR}")  # a key that is not bob's
        assert r.returncode == 255 and "Permission denied" in r.stderr and r.stdout == ""

        async def refused(user: str, password: str) -> float:
            started = time.monotonic()
            with pytest.raises(asyncssh.PermissionDenied):
                async with server.connect(user, password=password):
                    pass
            return time.monotonic() - started

        async def attempts() -> list[float]:
            return [
                await refused("carol", "wrong"),
                await refused("nobody", "right"),  # an unknown user
                await refused("carol", ""),  # an empty password
                await refused("bob", "anything"),  # a user with a key and no password
                await refused("carol", "wrong again"),
            ]

        took = asyncio.run(attempts())
        # Four failures from this address before the fifth attempt: it waits at least 0.25 * 2**3 s.
        assert took[4] >= 2.0
        log = server.log()
        assert log.count("refused user=") == 5 and "refused user=nobody" in log
        assert "login user=" not in log


def test_repeated_failures_are_slowed_across_workers(tmp_path: Path, seeded_template: Path) -> None:
    """With --workers 2 the kernel spreads one address's connections over both workers (SO_REUSEPORT): the
    failures are counted for the server home, so each attempt waits as long as with one worker."""
    home = tmp_path / "home"
    adduser(home, "carol", password="right")
    with own_server(home, seeded_template, "--workers", "2") as server:
        def workers() -> set[str]:
            return set(re.findall(r"pid=(\d+) refused ", server.log()))

        async def refused(password: str) -> float:
            started = time.monotonic()
            with pytest.raises(asyncssh.PermissionDenied):
                async with server.connect("carol", password=password):
                    pass
            return time.monotonic() - started

        async def attempts() -> list[float]:
            took: list[float] = []
            # Five, or more until both workers have refused some (the kernel picks each connection's worker).
            while len(took) < 5 or (len(workers()) < 2 and len(took) < 7):
                took.append(await refused(f"wrong {len(took)}"))
            return took

        took = asyncio.run(attempts())
        # After k failures from this address, whichever worker has the next attempt waits 0.25 * 2**(k-1) s.
        for k, seconds in enumerate(took[1:], 1):
            assert seconds >= 0.25 * 2 ** (k - 1), (k, took, workers())
        assert server.log().count("refused user=carol") == len(took)


# deluser while the user is logged in ---------------------------------------------------------------------
def test_deluser_is_refused_while_the_user_is_logged_in(tmp_path: Path, seeded_template: Path,
                                                        keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    with own_server(home, seeded_template) as server:
        child = spawn_tty(server, keys["bob"])
        child.expect_exact(HOST_PROMPT)
        plain = spawn_plain(server, keys["bob"])
        r = deluser(home, "bob")
        assert (r.returncode, r.stdout) == (1, "")
        assert r.stderr == ("alation-shell deluser: bob is logged in (2 sessions); use --force to remove them anyway,"
                            " or try again when they have logged out\n")
        assert instance_of(server, "bob").is_initialized() and (home / "users/bob/account.json").is_file()
        child.send("whoami\r")  # the sessions go on
        child.expect_exact("bob\r\n")
        child.expect_exact(HOST_PROMPT)
        child.send("exit\r")
        child.expect(pexpect.EOF)
        r = deluser(home, "bob")
        assert r.returncode == 1 and "(1 session);" in r.stderr
        plain.sendeof()
        plain.expect(pexpect.EOF)
        r = deluser(home, "bob")
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        assert r.stdout == f"removed user bob (with its instance and history) from {home}\n"
        assert not (home / "users/bob").exists()


def following_a_log(server: Server, key: Path) -> pexpect.spawn:
    """bob in the Alation shell over `ssh -tt`, running `tail -f` on a log that does not grow: a command that
    waits without writing."""
    child = spawn_tty(server, key)
    child.expect_exact(HOST_PROMPT)
    child.send("sudo /etc/init.d/alation shell\r")
    child.expect(SHELL_PROMPT)
    child.send("echo started > /opt/alation/site/logs/f.log\r")
    child.expect(SHELL_PROMPT)
    child.send("tail -f /opt/alation/site/logs/f.log\r")
    child.expect_exact("started\r\n")  # tail runs, and waits
    return child


def test_deluser_force_ends_the_live_sessions_with_one_line(tmp_path: Path, seeded_template: Path,
                                                            keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    adduser(home, "carol", key=keys["carol"])
    server = Server(home, seeded_template)
    try:
        child = following_a_log(server, keys["bob"])
        plain = spawn_plain(server, keys["bob"])
        carol = spawn_plain(server, keys["carol"], user="carol")
        r = deluser(home, "bob", "--force")
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
        assert r.stdout == (f"removed user bob (with its instance and history) from {home},"
                            " after ending its 2 live sessions\n")
        assert not (home / "users/bob").exists()
        for session in (child, plain):
            session.expect_exact(REMOVED)
            session.expect(pexpect.EOF)
            shown = session.logfile_read.getvalue()
            assert "Traceback" not in shown and "internal error" not in shown, shown
        carol.sendline(f"alation_conf {INCR}")  # another user's session is not disturbed
        carol.expect_exact(f"{INCR} = False")
        carol.sendeof()
        carol.expect(pexpect.EOF)
        log = server.log()
        assert log.count("removed user=bob") == 2 and log.count("how=removed") == 2
        assert "Traceback" not in log and " error " not in log
    finally:
        server.proc.send_signal(signal.SIGTERM)
        _, errors = server.proc.communicate(timeout=60)
        assert server.stop() == 0
    assert "Traceback" not in errors


# The host prompt and the interactive shell -----------------------------------------------------------
def test_host_prompt_then_the_alation_shell_with_completion_and_ctrl_c(server: Server,
                                                                     keys: dict[str, Path]) -> None:
    child = spawn_tty(server, keys["bob"])
    child.expect_exact(HOST_PROMPT)
    for typed, answer in [
        ("ls", "-rbash: ls: command not found"),
        ("cd ../../..", "-rbash: cd: restricted"),
        ("/bin/sh", "-rbash: /bin/sh: restricted: cannot specify `/' in command names"),
        ("sudo cat /etc/shadow", "Sorry, user bob is not allowed to execute '/usr/bin/cat /etc/shadow' as root"),
        ("whoami", "bob"),
        ("hostname", "alation-demo"),
    ]:
        child.send(typed + "\r")
        child.expect_exact(answer)
        child.expect_exact(HOST_PROMPT)
    child.send("sudo /etc/in")
    time.sleep(SETTLE)
    child.send("\t")  # Tab at the host prompt: the way into the Alation shell completes
    child.expect_exact("it.d/alation")
    child.send("sh\t")
    child.expect_exact("ell")
    child.send("\r")
    child.expect(SHELL_PROMPT)

    child.send(f"alation_conf {VERSIONS[:-5]}")
    time.sleep(SETTLE)
    child.send("\t")  # one candidate: the word is finished and a blank follows, as in bash
    child.expect_exact("sions")
    time.sleep(SETTLE)
    child.send("-s 5\r")
    child.expect_exact(f"{VERSIONS} = 5")
    child.expect(SHELL_PROMPT)
    child.send("alation_conf alation.backup_v2.incr_backup")
    time.sleep(SETTLE)
    child.send("\t")  # several: the list, then the line again
    child.expect_exact("alation.backup_v2.incr_backup_versions")
    child.expect(SHELL_PROMPT)
    child.expect_exact("alation.backup_v2.incr_backup")
    child.send("\x15")  # Ctrl-U: the line is emptied

    child.send("alation_conf garbage")  # Ctrl-C drops the line being typed
    time.sleep(SETTLE)
    child.send("\x03")
    child.expect(SHELL_PROMPT)
    child.send("sim advance 365d\r")  # a year of nightly backups: long enough to be interrupted
    child.expect(r"20\d\d-\d\d-\d\d")
    child.send("\x03")
    child.expect_exact("sim: interrupted")
    child.expect(SHELL_PROMPT)
    child.send(f"alation_conf {VERSIONS}\r")
    child.expect_exact(f"{VERSIONS} = 5")
    child.expect(SHELL_PROMPT)
    child.send("\x12")  # Ctrl-R, then Enter runs the line found
    child.expect_exact("(reverse-i-search)")
    child.send("-s 5")
    child.expect(r"-s 5': (\x1b\[[0-9;]*m)*alation_conf")
    time.sleep(SETTLE)
    child.send("\r")
    child.expect_exact(f"{VERSIONS} = 5")
    child.expect(SHELL_PROMPT)

    child.send("exit\r")  # back to the host prompt
    child.expect_exact(HOST_PROMPT)
    child.send("exit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "garbage" not in server.log()
    history = server.home / "users/bob/history"  # the user's own, kept
    assert "sim advance 365d" in history.read_text() and stat.S_IMODE(history.stat().st_mode) == 0o600
    assert not (server.home / "users/carol/history").exists()
    assert Registry.for_instance(instance_of(server, "bob")).get(VERSIONS) == 5
    r = server.ssh("bob", keys["bob"], "sim verify")  # the interrupted run left every backup whole
    assert r.returncode == 0, r.stdout + r.stderr


def test_resize_redraws_the_prompt_of_that_session_only(server: Server, keys: dict[str, Path]) -> None:
    async def go() -> tuple[str, str, str]:
        async with server.connect("bob", key=keys["bob"]) as conn, \
                server.connect("carol", key=keys["carol"]) as other:
            proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
            watcher = await other.create_process(term_type="xterm", term_size=(80, 24))
            await proc.stdout.readuntil(HOST_PROMPT)
            await watcher.stdout.readuntil("[carol@alation-demo ~]$")
            proc.change_terminal_size(50, 20)
            redrawn = await asyncio.wait_for(proc.stdout.readuntil(HOST_PROMPT), 10)  # no key was typed
            proc.stdin.write("whoami\r")
            await proc.stdout.readuntil("bob\r\n")
            watcher.stdin.write("whoami\r")
            theirs = await watcher.stdout.readuntil("carol\r\n")
            for p in (proc, watcher):
                p.stdin.write("exit\r")
                await p.wait_closed()
            assert proc.exit_status == 0
            return redrawn, theirs

    redrawn, theirs = asyncio.run(go())
    assert "\x1b[J" in redrawn  # the prompt was erased and drawn again for the new size
    assert "bob" not in theirs  # nothing of bob's session reached carol's screen


def test_no_color_and_term_are_per_connection(server: Server, keys: dict[str, Path]) -> None:
    async def shell_prompt(env: dict[str, str], term: str) -> str:
        async with server.connect("bob", key=keys["bob"]) as conn:
            proc = await conn.create_process(term_type=term, term_size=(100, 30), env=env)
            await proc.stdout.readuntil(HOST_PROMPT)
            proc.stdin.write("sudo /etc/init.d/alation shell\r")
            await proc.stdout.readuntil("(env) ")  # the shell's prompt begins
            shown = await proc.stdout.readuntil("]$")
            proc.stdin.write("\x04")  # Ctrl-D: back to the host prompt
            await proc.stdout.readuntil(HOST_PROMPT)
            proc.stdin.write("logout\r")
            await proc.wait_closed()
            return shown

    async def three() -> list[str]:
        return list(await asyncio.gather(shell_prompt({}, "xterm-256color"), shell_prompt({"NO_COLOR": "1"}, "xterm"),
                                         shell_prompt({}, "dumb")))

    coloured, no_color, dumb = asyncio.run(three())
    assert colour_codes(coloured)
    assert not colour_codes(no_color) and no_color.endswith("DEMO [alationadmin@alation-demo /]$")
    assert not colour_codes(dumb)


def colour_codes(output: str) -> list[str]:
    """The SGR sequences of `output` that set a colour."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", output):
        numbers = [int(p) for p in params.split(";") if p.isdigit()]
        if any(30 <= n <= 38 or 40 <= n <= 48 or 90 <= n <= 97 or 100 <= n <= 107 for n in numbers):
            found.append(params)
    return found


# Without a pty ---------------------------------------------------------------------------------------
def test_a_script_without_a_pty_runs_in_plain_line_mode(server: Server, keys: dict[str, Path]) -> None:
    script = (
        "# a procedure, piped\n"
        f"alation_conf {INCR} -s True\n"
        "alation_conf alation.cluster.replication_mode -s secondary\n"
        "alation_action cluster_failover\n"
        "YES\n"
        "alation_conf alation.cluster.replication_mode\n"
        f"alation_conf {INCR}\n"
    )
    r = server.ssh("carol", keys["carol"], input=script, options=("-T",))
    assert "\x1b" not in r.stdout + r.stderr
    assert r.returncode == 0, r.stderr
    assert "YES: command not found" not in r.stderr  # the YES was the answer, read from the next line
    assert r.stdout.endswith(f"alation.cluster.replication_mode = standalone\n{INCR} = True\n")
    failing = server.ssh("carol", keys["carol"], input=f"alation_conf {VERSIONS} -s x\nalation_conf {INCR}\n",
                         options=("-T",))
    assert failing.returncode == 1 and failing.stdout == f"{INCR} = True\n"  # the last failing command's status


def test_destructive_restore_all_reads_yes_from_the_next_line(server: Server, keys: dict[str, Path]) -> None:
    bob = keys["bob"]
    assert server.ssh("bob", bob, "alation_action backup_all").returncode == 0
    listed = server.ssh("bob", bob, "ls /data2/backup").stdout.split()
    full = next(name for name in listed if name.endswith("_alation_backup.tar.gz"))
    eb = next(name for name in listed if name.endswith("_alation_eb_backup.tar.gz"))
    script = (
        f"alation_conf alation.backup.restore_file -s /data2/backup/{full}\n"
        f"alation_conf alation.backup.eb_restore_file -s /data2/backup/{eb}\n"
        "alation_action destructive_restore_all\n"
        "YES\n"
    )
    r = server.ssh("bob", bob, input=script, options=("-T",))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "\x1b" not in r.stdout + r.stderr
    assert "Type YES to continue: \n" in r.stdout  # the answer was read from the next line, not shown
    assert f"restored backup {full.split('_')[0]} (full)" in r.stdout


# Isolation and confinement ---------------------------------------------------------------------------
def test_two_users_have_their_own_instances(server: Server, keys: dict[str, Path]) -> None:
    assert server.ssh("bob", keys["bob"], "alation_conf alation.backup.scheduled_minute -s 42").returncode == 0
    assert server.ssh("carol", keys["carol"], "alation_conf alation.backup.scheduled_minute").stdout == (
        "alation.backup.scheduled_minute = 0\n"
    )
    assert Registry.for_instance(instance_of(server, "bob")).get("alation.backup.scheduled_minute") == 42


def test_file_commands_stay_inside_the_instance(server: Server, keys: dict[str, Path]) -> None:
    bob = keys["bob"]
    r = server.ssh("bob", bob, "cat /etc/shadow")
    assert r.returncode != 0 and r.stdout == ""
    r = server.ssh("bob", bob, input="cd ../../..\npwd\nls /\n", options=("-T",))
    assert r.stdout.splitlines()[0] == "/"
    assert set(r.stdout.split()[1:]) >= {"data1", "data2", "etc", "opt"} and "proc" not in r.stdout.split()
    root = instance_of(server, "bob").root
    (root / "data2/out").symlink_to("/etc")
    (root / "data2/up").symlink_to("../../../../../../../../etc")
    host_hosts = Path("/etc/hosts").read_text()
    for path in ("/data2/out/hosts", "/data2/up/hosts"):
        r = server.ssh("bob", bob, f"cat {path}")
        assert host_hosts.strip() not in r.stdout or not host_hosts.strip()


def test_shared_mode_loses_no_update_under_concurrent_sets(tmp_path: Path, seeded_template: Path,
                                                           keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    users = ["u0", "u1", "u2", "u3"]
    for user in users:
        adduser(home, user, key=keys["bob"])
    params = ["alation.backup.scheduled_minute", "alation.backup.scheduled_hour", VERSIONS,
              "alation.backup.keep_cycles"]
    with own_server(home, seeded_template, "--shared") as server:
        async def sets(user: str, param: str) -> int:
            async with server.connect(user, key=keys["bob"]) as conn:
                script = "".join(f"alation_conf {param} -s {value}\n" for value in range(1, 11))
                r = await conn.run(input=script)
                return r.exit_status

        async def all_at_once() -> list[int]:
            return await asyncio.gather(*(sets(u, p) for u, p in zip(users, params, strict=True)))

        assert asyncio.run(all_at_once()) == [0, 0, 0, 0]
        registry = Registry.for_instance(Instance(home / "shared"))
        assert [registry.get(p) for p in params] == [10, 10, 10, 10]
        assert not (home / "users/u0/instance").exists()


async def in_the_alation_shell(conn: asyncssh.SSHClientConnection, user: str) -> asyncssh.SSHClientProcess:
    """A pty session of `user` on `conn` (xterm, 120x30), at the Alation shell's first prompt."""
    proc = await conn.create_process(term_type="xterm", term_size=(120, 30))
    await proc.stdout.readuntil(f"[{user}@alation-demo ~]$")
    proc.stdin.write("sudo service alation shell\r")
    await proc.stdout.readuntil("]$ ")
    return proc


def test_long_work_shows_its_progress_over_a_pty(server: Server, keys: dict[str, Path]) -> None:
    async def backup() -> str:
        async with server.connect("carol", key=keys["carol"]) as conn:
            proc = await in_the_alation_shell(conn, "carol")
            proc.stdin.write("alation_action backup_all\r")
            shown = await asyncio.wait_for(proc.stdout.readuntil("complete: full"), 60)
            proc.stdin.write("exit\rexit\r")
            await proc.wait_closed()
            return shown

    shown = asyncio.run(backup())
    assert re.search(r"\r[^\r\n]*100\.0%", shown), shown  # the bar, redrawn in place, to its end


def test_ctrl_c_stops_a_command_that_waits_without_writing(server: Server, keys: dict[str, Path]) -> None:
    async def follow_then_ctrl_c() -> str:
        async with server.connect("carol", key=keys["carol"]) as conn:
            proc = await in_the_alation_shell(conn, "carol")
            proc.stdin.write("echo started > /opt/alation/site/logs/follow.log\r")
            await proc.stdout.readuntil("]$ ")
            proc.stdin.write("tail -f /opt/alation/site/logs/follow.log\r")
            await proc.stdout.readuntil("started")  # then tail waits, writing nothing
            await asyncio.sleep(0.5)
            proc.stdin.write("\x03")
            shown = await asyncio.wait_for(proc.stdout.readuntil("]$ "), 10)
            proc.stdin.write("echo $?\r")
            shown += await asyncio.wait_for(proc.stdout.readuntil("130\r\n"), 10)
            proc.stdin.write("exit\rexit\r")
            await proc.wait_closed()
            return shown

    assert "130" in asyncio.run(follow_then_ctrl_c())


def test_clients_gone_from_waiting_commands_free_the_command_threads(server: Server, keys: dict[str, Path]) -> None:
    async def follow_and_vanish() -> None:
        conn = await server.connect("carol", key=keys["carol"])
        log = "/opt/alation/site/logs/f.log"
        proc = await conn.create_process(f"echo started > {log}; tail -f {log}")
        assert await proc.stdout.readline() == "started\n"  # tail is running, and waits
        conn.abort()

    for _ in range(COMMAND_THREADS + 1):  # more than the pool has threads: each must have been given back
        asyncio.run(follow_and_vanish())
    r = server.ssh("carol", keys["carol"], f"alation_conf {VERSIONS}")
    assert r.returncode == 0 and r.stdout == f"{VERSIONS} = 0\n", r.stderr


# Failures --------------------------------------------------------------------------------------------
def test_a_client_gone_mid_backup_leaves_the_instance_consistent(server: Server, keys: dict[str, Path]) -> None:
    async def start_backup_and_vanish() -> None:
        conn = await server.connect("carol", key=keys["carol"])
        proc = await in_the_alation_shell(conn, "carol")
        proc.stdin.write("alation_action backup_all\r")
        await proc.stdout.readuntil("backup ")  # the progress bar of the first tarball
        conn.abort()  # no goodbye: the TCP connection is dropped

    asyncio.run(start_backup_and_vanish())
    server.wait_for_log(r'line="alation_action backup_all"\n.*logout user=carol session=\d+ status=\d+ '
                        r'seconds=\S+ how=disconnected')
    carol = keys["carol"]
    r = server.ssh("carol", carol, "alation_action backup_all")  # the lock is free again
    assert r.returncode == 0, r.stderr
    r = server.ssh("carol", carol, "sim verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list((instance_of(server, "carol").root / "data2/tmp").iterdir()) == []


def test_an_idle_session_is_closed_with_a_message(tmp_path: Path, seeded_template: Path,
                                                  keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    with own_server(home, seeded_template, "--idle-timeout", "1") as server:
        child = spawn_tty(server, keys["bob"])
        child.expect_exact(HOST_PROMPT)
        child.expect_exact(IDLE_MESSAGE)
        child.expect(pexpect.EOF)
        child.close()
        async def without_pty() -> str:
            async with server.connect("bob", key=keys["bob"]) as conn:
                proc = await conn.create_process()
                await proc.wait_closed()
                return await proc.stderr.read()

        assert IDLE_MESSAGE in asyncio.run(without_pty())
        assert server.log().count("idle user=bob") == 2


# The server itself -----------------------------------------------------------------------------------
def test_the_server_stops_at_once_with_a_command_running_at_a_prompt(tmp_path: Path, seeded_template: Path,
                                                                    keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    server = Server(home, seeded_template)
    try:
        child = following_a_log(server, keys["bob"])
        server.wait_for_log(r'line="tail -f')
        # Status 0: the command stopped, and the session with it (a session still running after 30 s: status 1).
        assert server.stop() == 0
        child.expect_exact("the server is shutting down")
        child.expect(pexpect.EOF)
    finally:
        server.stop()


def test_host_key_is_made_once_and_private(tmp_path: Path, seeded_template: Path, keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    first = Server(home, seeded_template)
    assert first.stop() == 0
    second = Server(home, seeded_template)
    assert second.stop() == 0
    fingerprint = [line for line in first.banner if line.startswith("host key: ssh-ed25519 SHA256:")]
    assert fingerprint and fingerprint == [line for line in second.banner if line.startswith("host key:")]
    assert any(f"ssh -p {first.port} USER@127.0.0.1" in line for line in first.banner)
    for path in (home / "host_key", home / "server.log", home / ".users.lock", home / "users/bob/account.json",
                 home / "users/bob/authorized_keys"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (home, home / "users", home / "users/bob"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_workers_share_the_port(tmp_path: Path, seeded_template: Path, keys: dict[str, Path]) -> None:
    home = tmp_path / "home"
    adduser(home, "bob", key=keys["bob"])
    with own_server(home, seeded_template, "--workers", "2") as server:
        assert "(2 workers," in "".join(server.banner)
        for _ in range(4):
            r = server.ssh("bob", keys["bob"], f"alation_conf {INCR}")
            assert (r.returncode, r.stdout) == (0, f"{INCR} = False\n")
    assert server.log().count("logout user=bob") == 4


# Walkthroughs at the host prompt ------------------------------------------------------------------------
def test_a_walkthrough_over_ssh_resumes_after_a_dropped_connection(server: Server, keys: dict[str, Path]) -> None:
    child = spawn_tty(server, keys["carol"], user="carol")
    child.expect_exact(HOST_PROMPT.replace("bob", "carol"))
    everyday_before = dict(Registry.for_instance(instance_of(server, "carol")).changed())
    child.send("walkthrough\r")
    child.expect_exact("incremental-backups")
    child.expect_exact(HOST_PROMPT.replace("bob", "carol"))
    child.send("walkthrough incremental-backups\r")
    child.expect("Step 1 of 3")
    child.expect(r"\]\$")
    child.send("alation_conf alation.backup_v2.incr_backup -s true\r")
    child.expect("Step 2 of 3")
    child.expect(r"\]\$")
    child.close(force=True)  # the connection drops in the middle of the exercise

    child = spawn_tty(server, keys["carol"], user="carol")
    child.expect_exact(HOST_PROMPT.replace("bob", "carol"))
    child.send("walkthrough incremental-backups\r")
    child.expect("Step 2 of 3")  # resumed where it was
    child.expect(r"\]\$")
    child.send("alation_conf alation.backup_v2.incr_backup_ver")
    time.sleep(SETTLE)
    child.send("\t")  # the shell's completion at the walkthrough's prompt too
    child.expect_exact("sions")
    child.send("-s 4\r")
    child.expect("Step 3 of 3")
    child.expect(r"\]\$")
    child.send("exit\r")
    child.expect("All 3 steps done", timeout=60)
    child.expect_exact(HOST_PROMPT.replace("bob", "carol"), timeout=60)
    child.send("exit\r")
    child.expect(pexpect.EOF)
    # The exercise ran on its own instance, not on carol's everyday one.
    assert dict(Registry.for_instance(instance_of(server, "carol")).changed()) == everyday_before
    walked = Instance(server.home / "users/carol/walkthroughs/incremental-backups")
    assert Registry.for_instance(walked).get("alation.backup_v2.incr_backup_versions") == 4


def test_record_dir_records_each_session(tmp_path: Path, seeded_template: Path, keys: dict[str, Path]) -> None:
    import json

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    adduser(home, "bob", key=keys["bob"])
    casts = tmp_path / "casts"
    casts.mkdir()
    with own_server(home, seeded_template, "--record-dir", str(casts)) as server:
        child = spawn_tty(server, keys["bob"])
        child.expect_exact(HOST_PROMPT)
        child.send("sudo /etc/init.d/alation shell\r")
        child.expect(SHELL_PROMPT)
        child.send(f"alation_conf {VERSIONS}\r")
        child.expect_exact(f"{VERSIONS} = 0")
        child.expect(SHELL_PROMPT)
        child.setwinsize(40, 100)  # a resize is recorded
        child.send("exit\r")
        child.expect_exact(HOST_PROMPT)
        child.send("exit\r")
        child.expect(pexpect.EOF)
        child.close()
    [cast] = list(casts.iterdir())
    assert cast.name.startswith("bob-") and cast.suffix == ".cast"
    lines = cast.read_text(encoding="utf-8").splitlines()
    header, events = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert (header["version"], header["width"], header["height"]) == (2, 120, 30)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert {e[1] for e in events} == {"o", "r"} and ["r", "100x40"] in [e[1:] for e in events]
    shown = "".join(e[2] for e in events if e[1] == "o")
    assert f"{VERSIONS} = 0\r\n" in shown and "[bob@alation-demo ~]$" in shown


def test_a_demo_over_ssh_pauses_on_a_key_and_resumes_on_the_next(server: Server, keys: dict[str, Path]) -> None:
    child = spawn_tty(server, keys["bob"])
    child.expect_exact(HOST_PROMPT)
    child.send("walkthrough incremental-backups --demo\r")
    child.expect("Step 1 of 3")
    child.send(" ")  # pause
    time.sleep(2)  # the pause begins at the demo's next wait, well within this
    child.expect(pexpect.TIMEOUT, timeout=0.5)  # take what was written so far
    before = child.logfile_read.getvalue()
    time.sleep(2)
    child.expect(pexpect.TIMEOUT, timeout=0.5)  # take what came meanwhile
    assert child.logfile_read.getvalue() == before  # paused: nothing more was typed
    child.send(" ")  # resume
    child.expect("All 3 steps done", timeout=60)
    child.expect_exact(HOST_PROMPT, timeout=60)
    child.send("exit\r")
    child.expect(pexpect.EOF)
    # The demo played on a scratch instance: a walkthrough in progress keeps its instance and its progress.
    assert (server.home / "users/bob/walkthroughs/.demo-incremental-backups/var/instance.json").is_file()
    assert not (server.home / "users/bob/walkthroughs/incremental-backups").exists()
