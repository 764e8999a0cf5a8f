#!/usr/bin/env python3
"""SSH benchmark: N interactive sessions typing at a human pace, and exec round trips against OpenSSH's sshd.

On 127.0.0.1 only. `alation-shell serve` runs in its own process (pinned to nothing; the clients share the
machine); the clients are asyncssh connections in this process. Each session enters the Alation shell from the
host prompt, then types commands (5-10 keys/s, 2-6 s between commands, jittered): reads, sets, `sim backups`,
and in session 0 `alation_action backup_all` every time. Measured:

- keystroke echo: from a key sent to the first output that follows it;
- Enter to prompt: from Enter to the next prompt being drawn (bracketed paste is turned on as a new prompt is
  drawn, as bash 5.1 does: `ESC[?2004h`);
- server RSS per session: (RSS with N idle sessions in the shell - RSS with one) / (N - 1), on a server started
  afresh for each N (what the first session loads once, modules and the catalog's caches, is not a session's);
- exec round trip: the OpenSSH client running `ssh ... 'alation_conf NAME'` against this server, and the same
  command through a real sshd (Debian's openssh-server, started here on a spare loopback port with its own
  config and keys) running the installed `alation_conf` console script, alternating run by run.

    .venv/bin/python scripts/bench_ssh.py [--sessions 10,50,100] [--seconds 30] [--exec-runs 40] [--workers 1]
                                          [--backup-size 64M]

Session 0's instance has a catalog of --backup-size, so that its backups overlap the others' typing; the
latencies of keys and commands sent while one ran are shown apart too.

Goals (issue 11, 2 cores): with 50 sessions and a backup running, Enter-to-prompt p99 < 100 ms and echo p99 <
50 ms; idle sessions < 3 MiB RSS each; exec round trip ratio (ours / sshd) <= 1.0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROMPT_DRAWN = "\x1b[?2004h"
COMMANDS = [
    "alation_conf alation.backup_v2.incr_backup",
    "alation_conf alation.backup.scheduled_minute -s {n}",
    "sim backups",
    "alation_conf incr_backup",
    "alation_conf alation.backup_v2.incr_backup_versions -s {n}",
]
SSH = ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
       "-o", "LogLevel=ERROR"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(proc: subprocess.Popen[str]) -> list[int]:
    """The server and its worker processes."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [proc.pid, *kids]


class Session:
    """One interactive client: a pty session, its output timestamped as it arrives."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: asyncssh.SSHClientProcess) -> None:
        self.conn = conn
        self.proc = proc
        self.buffer = ""
        self.arrived = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                return
            self.buffer += data
            self.arrived.set()

    async def wait_for(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(deadline - time.monotonic(), 0.001))

    async def key(self, char: str) -> float:
        """Send one key; the time to the first output after it."""
        self.buffer = ""
        self.arrived.clear()
        sent = time.monotonic()
        self.proc.stdin.write(char)
        await asyncio.wait_for(self.arrived.wait(), 60)
        return time.monotonic() - sent

    async def enter(self) -> float:
        self.buffer = ""
        sent = time.monotonic()
        self.proc.stdin.write("\r")
        await self.wait_for(PROMPT_DRAWN, 120)
        return time.monotonic() - sent


async def open_session(port: int, user: str, key: str) -> Session:
    conn = await asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key], known_hosts=None,
                                  agent_path=None)
    proc = await conn.create_process(term_type="xterm", term_size=(120, 40))
    session = Session(conn, proc)
    await session.wait_for("]$")
    session.buffer = ""
    session.proc.stdin.write("sudo service alation shell\r")
    await session.wait_for("(env)", 60)  # the Alation shell's prompt
    await session.wait_for("]$", 60)
    await asyncio.sleep(0.5)
    return session


Sample = tuple[float, float]  # (when it was sent, latency)


async def type_commands(session: Session, index: int, until: float, echo: list[Sample], enter: list[Sample],
                        backups: list[Sample]) -> None:
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, 4))
    while time.monotonic() < until:
        backup = index == 0  # session 0 backs up, again and again
        line = "alation_action backup_all" if backup else rng.choice(COMMANDS).format(n=rng.randint(0, 59))
        for char in line:
            sent = time.monotonic()
            echo.append((sent, await session.key(char)))
            await asyncio.sleep(1 / rng.uniform(5, 10))
        sent = time.monotonic()
        took = await session.enter()
        if backup:
            if "complete:" not in session.buffer:
                raise SystemExit(f"the backup failed: {session.buffer[-500:]!r}")
            backups.append((sent, took))  # its own Enter-to-prompt is the backup's time, not a latency
        else:
            enter.append((sent, took))
        await asyncio.sleep(rng.uniform(2, 6))


def during(samples: list[Sample], windows: list[Sample]) -> list[float]:
    """The latencies of the samples sent while a backup ran."""
    return [took for sent, took in samples if any(start <= sent <= start + length for start, length in windows)]


async def interactive(port: int, users: list[str], key: str, seconds: float,
                      server: subprocess.Popen[str]) -> dict[str, float]:
    sessions = [await open_session(port, users[0], key)]
    await asyncio.sleep(1)
    one = rss_kib(server_pids(server))  # the server with one session: what a session loads once is loaded
    for user in users[1:]:  # logins one after another, as a class arrives
        sessions.append(await open_session(port, user, key))
    await asyncio.sleep(1)
    idle = rss_kib(server_pids(server))
    echo: list[Sample] = []
    enter: list[Sample] = []
    backups: list[Sample] = []
    until = time.monotonic() + seconds
    cpu = cpu_seconds(server_pids(server))
    mine = time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(type_commands(s, i, until, echo, enter, backups) for i, s in enumerate(sessions)))
    cpu = cpu_seconds(server_pids(server)) - cpu
    client_load = (time.process_time() - mine) / (time.monotonic() - started)
    for session in sessions:
        session.conn.close()
    echo_all = [took for _, took in echo]
    enter_all = [took for _, took in enter]
    echo_backup, enter_backup = during(echo, backups), during(enter, backups)
    return {"echo_p50": pct(echo_all, 0.5), "echo_p99": pct(echo_all, 0.99), "enter_p50": pct(enter_all, 0.5),
            "enter_p99": pct(enter_all, 0.99), "keys": len(echo), "commands": len(enter),
            "backups": len(backups), "backup_s": statistics.median([t for _, t in backups]) if backups else 0.0,
            "echo_backup_p99": pct(echo_backup, 0.99), "enter_backup_p99": pct(enter_backup, 0.99),
            "echo_backup_n": len(echo_backup), "enter_backup_n": len(enter_backup),
            "rss_per_session_mib": (idle - one) / max(len(users) - 1, 1) / 1024, "rss_total_mib": idle / 1024,
            "cpu_ms_per_key": cpu / max(len(echo), 1) * 1000, "client_load": client_load}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sshd(where: Path, pubkey: Path, instance: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                           "openssh-server", shell=True, capture_output=True)
        if not os.path.exists(sshd):
            print("sshd not found (Debian's openssh-server): the exec comparison is skipped", file=sys.stderr)
            return None
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(where / "sshd_host")], check=True)
    shutil.copy(pubkey, where / "authorized_keys")
    port = free_port()
    config = where / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {where / 'sshd_host'}\n"
        f"AuthorizedKeysFile {where / 'authorized_keys'}\nPidFile {where / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PermitRootLogin prohibit-password\nPrintMotd no\nPrintLastLog no\n"
        f"SetEnv ALATION_SHELL_HOME={instance}\n"
    )
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.terminate()
    print("sshd did not start: the exec comparison is skipped", file=sys.stderr)
    return None


def exec_round_trips(runs: int, ours: list[str], theirs: list[str] | None) -> None:
    def timed(argv: list[str]) -> float:
        start = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True)
        took = time.perf_counter() - start
        assert r.returncode == 0 and r.stdout == "alation.backup_v2.incr_backup = False\n", (argv, r)
        return took

    mine, sshd = [], []
    for _ in range(3):
        timed(ours)
        if theirs:
            timed(theirs)
    for _ in range(runs):
        mine.append(timed(ours))
        if theirs:
            sshd.append(timed(theirs))
    print(f"exec round trip, alation-shell serve: median {statistics.median(mine) * 1000:6.1f} ms  "
          f"p99 {pct(mine, 0.99):6.1f} ms")
    if sshd:
        print(f"exec round trip, OpenSSH sshd + alation_conf: median {statistics.median(sshd) * 1000:6.1f} ms  "
              f"p99 {pct(sshd, 0.99):6.1f} ms")
        print(f"ratio (goal <= 1.0): {statistics.median(mine) / statistics.median(sshd):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,50,100", help="session counts to run (default 10,50,100)")
    parser.add_argument("--seconds", type=float, default=30, help="typing time per run (default 30)")
    parser.add_argument("--exec-runs", type=int, default=40, help="exec round trips of each kind (default 40)")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers (default 1)")
    parser.add_argument("--backup-size", default="64M",
                        help="catalog size of the instance session 0 backs up (alation-shell init --size; default 64M)")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.sessions.split(",") if n]
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        home = where / "server"
        key = where / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        users = [f"u{i}" for i in range(max(counts, default=1))]
        for user in users:
            subprocess.run([str(BIN / "alation-shell"), "adduser", user, "--key", f"{key}.pub", "--server-home",
                            str(home)], check=True, capture_output=True)
        # Session 0's instance is a bigger one, so that its backups take long enough to overlap the others' typing.
        subprocess.run([str(BIN / "alation-shell"), "init", "--home", str(home / "users" / "u0" / "instance"),
                        "--size", opts.backup_size], check=True, capture_output=True)
        server, port = start_server(home, opts.workers)
        print(f"server: {opts.workers} worker(s), a fresh one for each run; clients: asyncssh in one process; "
              f"{os.cpu_count()} cores shared")
        try:
            ours = [*SSH, "-i", str(key), "-p", str(port), "u0@127.0.0.1", "alation_conf alation.backup_v2.incr_backup"]
            instance = where / "sshd-instance"
            subprocess.run([str(BIN / "alation-shell"), "init", "--home", str(instance)], check=True,
                           capture_output=True)
            started = start_sshd(where, Path(f"{key}.pub"), instance)
            theirs = None
            if started is not None:
                theirs = [*SSH, "-i", str(key), "-p", str(started[1]), "root@127.0.0.1",
                          f"{BIN / 'alation_conf'} alation.backup_v2.incr_backup"]
            try:
                exec_round_trips(opts.exec_runs, ours, theirs)
            finally:
                if started is not None:
                    started[0].terminate()
                    started[0].wait()
        finally:
            stop_server(server)
        for count in counts:
            server, port = start_server(home, opts.workers)  # its memory measured from its start
            try:
                figures = asyncio.run(interactive(port, users[:count], str(key), opts.seconds, server))
                print(f"{count:4} sessions: echo p50 {figures['echo_p50']:6.1f} ms p99 {figures['echo_p99']:6.1f} ms"
                      f" | Enter-to-prompt p50 {figures['enter_p50']:6.1f} ms p99 {figures['enter_p99']:6.1f} ms"
                      f" | {figures['keys']} keys, {figures['commands']} commands,"
                      f" server CPU {figures['cpu_ms_per_key']:.1f} ms/key (commands included),"
                      f" clients' process {figures['client_load']:.0%} of a core"
                      f" | RSS {figures['rss_total_mib']:.0f} MiB, {figures['rss_per_session_mib']:.2f} MiB/session")
                print(f"      while a backup ran ({figures['backups']} backups of the {opts.backup_size} instance, "
                      f"median {figures['backup_s']:.1f} s): echo p99 {figures['echo_backup_p99']:6.1f} ms "
                      f"({figures['echo_backup_n']} keys), Enter-to-prompt p99 {figures['enter_backup_p99']:6.1f} ms"
                      f" ({figures['enter_backup_n']} commands)")
            finally:
                stop_server(server)
    return 0


def start_server(home: Path, workers: int) -> tuple[subprocess.Popen[str], int]:
    """`alation-shell serve` on a free port of 127.0.0.1: the process and the port."""
    server = subprocess.Popen([str(BIN / "alation-shell"), "serve", "--port", "0", "--server-home", str(home),
                               "--idle-timeout", "0", "--workers", str(workers)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    banner = ""
    while "connect: " not in banner:
        line = server.stdout.readline()
        if not line:
            raise SystemExit("serve did not start")
        banner += line
    return server, int(banner.split("listening on 127.0.0.1:")[1].split()[0])


def stop_server(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(60)


if __name__ == "__main__":
    sys.exit(main())
