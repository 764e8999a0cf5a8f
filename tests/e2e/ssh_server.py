"""An `alation-shell serve` in a subprocess on 127.0.0.1 (a free port), with test-made users and keys."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh

from tests.conftest import tool

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
               "-o", "LogLevel=ERROR"]


def make_key(path: Path) -> Path:
    """A new ed25519 key pair at `path` (private) and `path`.pub; the private key's path."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def adduser(home: Path, name: str, *, key: Path | None = None, password: str | None = None) -> None:
    args = [tool("alation-shell"), "adduser", name, "--server-home", str(home)]
    if key is not None:
        args += ["--key", f"{key}.pub"]
    if password is not None:
        args.append("--password")
    r = subprocess.run(args, input=f"{password}\n" if password is not None else "", capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


class Server:
    """`alation-shell serve --port 0` on a server home; `stop()` sends SIGTERM and waits for it."""

    def __init__(self, home: Path, template: Path, *args: str) -> None:
        self.home = home
        if not (home / "template").exists():  # a seeded instance ready, so that no test waits for seeding
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copytree(template, home / "template", symlinks=True)
        self.proc = subprocess.Popen(
            [tool("alation-shell"), "serve", "--port", "0", "--server-home", str(home), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.banner: list[str] = []
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"serve did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
            self.banner.append(line)
            if line.startswith("connect: "):
                break
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", "".join(self.banner))
        assert found, self.banner
        self.port = int(found.group(1))

    def ssh(self, user: str, key: Path, *command: str, input: str | None = None,
            options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """The OpenSSH client, non-interactively."""
        return subprocess.run(
            ["ssh", *SSH_OPTIONS, *options, "-i", str(key), "-p", str(self.port), f"{user}@127.0.0.1", *command],
            input=input, capture_output=True, text=True, timeout=60,
        )

    def ssh_argv(self, user: str, key: Path, *extra: str) -> list[str]:
        return ["ssh", *SSH_OPTIONS, "-i", str(key), "-p", str(self.port), *extra, f"{user}@127.0.0.1"]

    def connect(self, user: str, *, key: Path | None = None, password: str | None = None
                ) -> asyncssh.SSHClientConnection:
        """An asyncssh client connection (a coroutine to await)."""
        return asyncssh.connect("127.0.0.1", self.port, username=user, known_hosts=None,
                                client_keys=[str(key)] if key else [], password=password,
                                agent_path=None, preferred_auth="publickey,password" if key else "password")

    def log(self) -> str:
        return (self.home / "server.log").read_text()

    def wait_for_log(self, pattern: str, timeout: float = 60) -> str:
        """The server log once `pattern` (a regex) appears in it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if re.search(pattern, text):
                return text
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in the server log:\n{self.log()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


def run_async(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@contextlib.contextmanager
def own_server(home: Path, template: Path, *args: str) -> Iterator[Server]:
    """A server of a test's own on `home` (its users added first), stopped at the end: cleanly, status 0."""
    server = Server(home, template, *args)
    try:
        yield server
    finally:
        assert server.stop() == 0
