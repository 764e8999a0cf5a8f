"""The SSH server (asyncssh): authentication, one channel session per `ssh` command, the server's life cycle.

Everything here runs on one event loop per process; whatever blocks (a command, a bcrypt check, copying an
instance) goes to a thread pool. A channel is one of three kinds, as with sshd:

- exec (`ssh host 'alation_conf NAME'`): the command runs in the user's instance, as
  `chroot ... su - alation -c "..."` does on a real server; stdout and stderr apart; its status is the exit status.
- shell with a pty (`ssh host`): the emulated host prompt, from which `sudo /etc/init.d/alation shell` enters
  the Alation shell's REPL (server/terminal.py).
- shell without a pty (`ssh -T host < script`): the plain line mode of a piped local session, no escape codes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import json
import math
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.server.home import REMOVED, LiveSession, ServerHome, User, check_password
from alation_shell.server.host import is_enter_shell
from alation_shell.server.jobs import INTERRUPTED, CommandPool, Job, LineFeed
from alation_shell.session import Session
from alation_shell.terminal import Terminal

COMMAND_THREADS = 8  # commands running at once per process; more wait their turn
IDLE_MESSAGE = "timed out waiting for input: auto-logout"  # bash's, at TMOUT
USER_CHECK = 0.5  # seconds between a session's looks for its user (removed by `deluser --force`: it ends)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.training.asciicast import Recorder


class ServerOptions:
    """What `alation-shell serve` was asked for."""

    def __init__(self, home: ServerHome, *, bind: str = "127.0.0.1", port: int = 2222, shared: bool = False,
                 workers: int = 1, idle_timeout: float = 1800.0, record_dir: Path | None = None) -> None:
        self.home = home
        self.bind = bind
        self.port = port
        self.shared = shared
        self.workers = workers
        self.idle_timeout = idle_timeout
        self.record_dir = record_dir  # each session recorded there as asciicast v2 (what the client saw)


class ServerLog:
    """`server.log`: one line per event (login, refused, command, logout), appended; safe across workers."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: str, **fields: object) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        parts = [stamp, f"pid={os.getpid()}", event]
        for key, value in fields.items():
            text = str(value)
            # A command line is the user's text: quoted and escaped, so one event stays one line.
            shown = json.dumps(text) if key == "line" or not text.isprintable() or " " in text else text
            parts.append(f"{key}={shown}")
        with contextlib.suppress(OSError):  # a full disk costs the log, never the sessions
            os.write(self._fd, (" ".join(parts) + "\n").encode("utf-8", "replace"))

    def close(self) -> None:
        os.close(self._fd)


class Throttle:
    """Failed password logins per client address, counted for all the workers of one server home: each failure
    doubles the wait before that address's next check, and the checks of one address take turns, one at a time
    across the workers (else SO_REUSEPORT, spreading an attacker's connections over N workers, would give N
    times the guesses).

    An address with failures has a small file in `directory` (named by a hash of the address): `COUNT TIME`,
    read and written under an flock held for the address's whole turn (the wait and the check). The file work
    runs on `pool`, never on the event loop. A record that cannot be read costs its address its count, and is
    `log`ged: a throttle is never a reason to refuse a login.
    """

    BASE = 0.25  # seconds before the check that follows a first failure
    CAP = 30.0
    FORGET = 900.0  # failures older than this no longer count
    POLL = 0.1  # seconds between tries of a turn that another worker holds

    def __init__(self, directory: Path, pool: concurrent.futures.Executor, log: Callable[..., None]) -> None:
        self.directory = directory
        self.pool = pool
        self.log = log
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}  # per address: its lock, and who holds or awaits it
        self._swept: float | None = None  # when this process last forgot the stale addresses

    def record(self, address: str) -> AddressRecord:
        """The record of `address`'s failures, not held yet."""
        import hashlib

        name = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:32]
        return AddressRecord(self, self.directory / name, address)

    @contextlib.asynccontextmanager
    async def turn(self, address: str) -> AsyncIterator[AddressRecord]:
        """Line up the password checks of one address, one at a time across the workers: its record, held for
        the turn (its `failed` and `succeeded` write a file: call them on `pool`)."""
        lock, users = self._turns.get(address, (asyncio.Lock(), 0))
        self._turns[address] = (lock, users + 1)
        try:
            async with lock:  # this process's checks first, so that one of them at most waits for another worker
                record = self.record(address)
                loop = asyncio.get_running_loop()
                try:
                    while not await loop.run_in_executor(self.pool, record.acquire):
                        await asyncio.sleep(self.POLL)
                    yield record
                finally:
                    try:
                        await loop.run_in_executor(self.pool, record.release)
                    except RuntimeError:  # the pool is shut down: the server stops
                        record.release()
        finally:
            lock, users = self._turns[address]
            if users == 1:
                del self._turns[address]
            else:
                self._turns[address] = (lock, users - 1)

    def sweep(self) -> None:
        """Forget the addresses whose failures no longer count (remove their files), at most once per FORGET in
        a process, so that the directory stays as small as the addresses that failed lately."""
        now = time.monotonic()
        if self._swept is not None and now - self._swept < self.FORGET:
            return
        self._swept = now
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            record = AddressRecord(self, self.directory / name, f"#{name}")
            record.acquire()  # a record in another check's turn is left alone
            record.release()  # which removes it if none of its failures counts any more


def throttled_as(address: str) -> str:
    """Who the throttle counts a client address as: an IPv4 address itself (an IPv4-mapped IPv6 one too), an
    IPv6 address its /64, the block one client is given (else rotating through it would give an attacker a
    fresh count for each of its 2**64 addresses)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # (a link-local address may name its interface)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class AddressRecord:
    """The failed logins of one address, as its file in the throttle's directory holds them; held (flocked) for
    the address's turn. Blocking: its methods run on the throttle's pool (a turn that is cancelled may end
    while its check still runs, hence the lock)."""

    def __init__(self, throttle: Throttle, path: Path, address: str) -> None:
        self.throttle = throttle
        self.path = path
        self.address = address
        self.count = 0  # failures that still count
        self._fd = -1
        self._held = False
        self._released = False
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        """Take the address's turn unless another check holds it (never waits); also True when the record cannot
        be used (logged): the check then goes on without one."""
        with self._lock:
            if self._released:
                return True
            if self._fd < 0:
                self._fd = self._open()
                if self._fd < 0:
                    return True
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                own, now = os.fstat(self._fd), os.stat(self.path, follow_symlinks=False)
                same = (own.st_dev, own.st_ino) == (now.st_dev, now.st_ino)
            except OSError:
                same = False
            if not same:  # removed by the check that held it (a success) or a sweep: the next try opens anew
                os.close(self._fd)
                self._fd = -1
                return False
            self._held = True
            self._read()
            return True

    def delay(self) -> float:
        """Seconds to wait before this check: BASE after one failure, twice as long after each other, CAP at most."""
        if self.count == 0:
            return 0.0
        return min(self.throttle.BASE * 2 ** min(self.count - 1, 16), self.throttle.CAP)

    def failed(self) -> None:
        """Count a failed check."""
        with self._lock:
            if not self._held:
                return
            self.count = min(self.count + 1, 64)
            data = f"{self.count} {time.time():.3f}\n".encode()
            try:
                os.pwrite(self._fd, data, 0)
                os.ftruncate(self._fd, len(data))
            except OSError as exc:
                self.throttle.log("throttle-unavailable", address=self.address, reason=exc.strerror or exc)
        self.throttle.sweep()

    def succeeded(self) -> None:
        """A right password: the address's failures are forgotten."""
        with self._lock:
            self.count = 0

    def release(self) -> None:
        """End the turn; an address whose failures do not count keeps no file."""
        with self._lock:
            self._released = True
            if self._fd < 0:
                return
            if self._held and self.count == 0:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(self._fd)  # drops the lock
            self._fd = -1
            self._held = False

    def _open(self) -> int:
        """The record's file, made if need be. One that cannot be opened is removed and made afresh, once;
        -1 if even that fails."""
        for again in (False, True):
            try:
                self.path.parent.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if again:
                    self.throttle.log("throttle-unavailable", address=self.address, reason=reason)
                    return -1
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                continue
            if again:
                self.throttle.log("throttle-reset", address=self.address, reason=f"could not be opened: {reason}")
            return fd
        return -1

    def _read(self) -> None:
        self.count = 0
        try:
            data = os.pread(self._fd, 64, 0)
        except OSError:
            data = b"?"
        if not data:
            return  # a new record
        try:
            count, last = data.decode("ascii").split()
            failures, when = int(count), float(last)
            if not 1 <= failures <= 64 or not math.isfinite(when):
                raise ValueError
        except (UnicodeDecodeError, ValueError):
            self.throttle.log("throttle-reset", address=self.address, reason="damaged record")
            return
        if abs(time.time() - when) <= self.throttle.FORGET:  # a clock set back does not keep them for ever
            self.count = failures


class ServerState:
    """What every connection of one server process shares."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.home = options.home
        self.log = ServerLog(options.home.log_file)
        self.pool = CommandPool(COMMAND_THREADS)
        self.auth_pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="auth")
        self.throttle = Throttle(options.home.throttle, self.auth_pool, self.log.write)
        self.channels: set[ChannelSession] = set()
        self._next_id = 0

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id


def make_session(instance: Instance, *, terminal: Terminal | None,
                 ask: Callable[[str], str | None] | None) -> Session:
    """The shell session a connection's commands run in (the one place a server session is made); `terminal`:
    the client's, as its pty request and environment give it (None: no pty, plain lines)."""
    return Session(instance, terminal=terminal, ask=ask)


class LoginServer(asyncssh.SSHServer):
    """One client connection: who it is (public key or bcrypt password), then its channel sessions."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.method = "publickey"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.address = throttled_as(str(peer[0]))
        self.peer = f"{peer[0]}:{peer[1]}"

    def begin_auth(self, username: str) -> bool:
        user = self.state.home.find_user(username)
        keys = user.public_keys() if user is not None else []
        if keys and self.conn is not None:
            try:
                self.conn.set_authorized_keys(asyncssh.import_authorized_keys("\n".join(keys) + "\n"))
            except (asyncssh.KeyImportError, ValueError):
                self.state.log.write("bad-keys", user=username)
        return True  # every login authenticates, known user or not

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        state = self.state
        # One check at a time per address, across the workers, so that parallel connections do not multiply
        # an attacker's tries.
        async with state.throttle.turn(self.address) as record:
            await asyncio.sleep(record.delay())

            def check() -> bool:
                user = state.home.find_user(username)
                # An unknown user is checked against a dummy hash: the same time as a real one.
                ok = check_password(password, user.password_hash if user is not None else None)
                if ok:
                    record.succeeded()
                else:
                    record.failed()
                return ok

            ok = await asyncio.get_running_loop().run_in_executor(state.auth_pool, check)
            if ok:
                self.method = "password"
            else:
                state.log.write("refused", user=username, peer=self.peer, method="password")
        return ok

    def auth_completed(self) -> None:
        assert self.conn is not None
        self.state.log.write("login", user=self.conn.get_extra_info("username"), peer=self.peer,
                             method=self.method)

    def session_requested(self) -> ChannelSession:
        assert self.conn is not None
        user = self.state.home.find_user(self.conn.get_extra_info("username"))
        if user is None:  # deleted since it logged in
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "no such user")
        return ChannelSession(self.state, user, self.peer)


class ChannelSession(asyncssh.SSHServerSession):
    """One session channel: exec, a shell with a pty, or a shell without one."""

    def __init__(self, state: ServerState, user: User, peer: str) -> None:
        self.state = state
        self.user = user
        self.peer = peer
        self.id = state.next_id()
        self.chan: asyncssh.SSHServerChannel | None = None
        self.loop = asyncio.get_running_loop()
        self.pty = False
        self.term_type: str | None = None
        self.size = (80, 24)
        self.recorder: Recorder | None = None
        self.env: dict[str, str] = {}
        self.command: str | None = None
        self.lines = LineFeed()
        self.terminal = None  # server/terminal.py's RemoteTerminal, for a session with a pty
        self.job: Job | None = None
        self.closed = False
        self.status = 0
        self.last_input = time.monotonic()
        self.task: asyncio.Task[None] | None = None
        self.watchdog: asyncio.Task[None] | None = None

    # asyncssh's callbacks --------------------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes: object) -> bool:
        self.pty = True
        self.term_type = term_type or None
        self._set_size(term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        assert self.chan is not None
        self.env = {str(k): str(v) for k, v in self.chan.get_environment().items()}
        self.chan.set_encoding(_charset(self.env), "replace")
        self.state.channels.add(self)
        self._start_recording()
        self.task = self.loop.create_task(self._main())
        if self.state.options.idle_timeout > 0:
            self.watchdog = self.loop.create_task(self._watch_idle())

    def data_received(self, data: str, datatype: object) -> None:
        self.last_input = time.monotonic()
        if self.terminal is not None:
            self.terminal.received(data)
        else:
            self.lines.feed(data)

    def eof_received(self) -> bool:
        self.lines.close()
        if self.terminal is not None:
            self.terminal.received_eof()
        return True  # keep the channel open for our output and exit status

    def break_received(self, msec: int) -> bool:
        self.interrupt()
        return True

    def signal_received(self, name: str) -> None:
        if name == "INT":
            self.interrupt()

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self._set_size(width, height)
        if self.recorder is not None:
            self.recorder.resize(*self.size)
        if self.terminal is not None:
            self.terminal.resized()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.state.channels.discard(self)
        self.lines.close()
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.job is not None:
            self.job.interrupt(force=True)  # the session ends once its command has stopped (and logs when)
        if self.terminal is not None:
            self.terminal.close()
        elif self.job is None and self.task is not None:
            self.task.cancel()

    # Used by the session kinds ------------------------------------------------------------------
    def send(self, text: str, *, stderr: bool = False) -> None:
        """Write to the client (on the event loop); with a pty, newlines become CR LF and all goes to stdout."""
        if self.closed or not text or self.chan is None:
            return
        if self.pty:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if self.recorder is not None:
            self.recorder.output(text)
        try:
            if self.pty:
                self.chan.write(text)
            elif stderr:
                self.chan.write_stderr(text)
            else:
                self.chan.write(text)
        except (BrokenPipeError, asyncssh.Error, OSError):
            self.closed = True

    def streams(self) -> tuple[ChannelStream, ChannelStream]:
        """stdout and stderr for a command running in a pool thread."""
        return ChannelStream(self, stderr=False), ChannelStream(self, stderr=True)

    async def run_job(self, work: Callable[[], object], *, line: str | None = None,
                      cancel: Callable[[], None] | None = None) -> object:
        """Run `work` on the command pool, interruptible by Ctrl-C and by the client going away (`cancel`: the
        cancel of the session it runs in)."""
        if line is not None and line.strip():
            self.state.log.write("command", user=self.user.name, session=self.id, line=line)
        job = self.job = Job(work, cancel)
        try:
            return await self.state.pool.run(job)
        finally:
            self.job = None
            self.last_input = time.monotonic()

    def interrupt(self, *, force: bool = False) -> None:
        """Ctrl-C: interrupt the running command, if any (`force`: wherever it is, as a second Ctrl-C does)."""
        if self.job is not None:
            self.job.interrupt(force=force)

    # The session ----------------------------------------------------------------------------------
    async def _main(self) -> None:
        started = time.monotonic()
        home = self.state.home
        mark: LiveSession | None = None
        watcher: asyncio.Task[None] | None = None

        def begin() -> tuple[LiveSession, Instance]:
            # Marked live first: `deluser` refuses while it is, and `deluser --force` waits for its end.
            live = home.mark_session(self.user, f"{os.getpid()}-{self.id}")
            try:
                return live, home.instance_for(self.user, shared=self.state.options.shared)
            except BaseException:
                live.release()
                raise

        try:
            begun = await self.run_job(begin)
            if begun is INTERRUPTED:
                return
            assert isinstance(begun, tuple)
            mark, instance = begun
            watcher = self.loop.create_task(self._watch_user())
            if self.command is not None and not is_enter_shell(self.command):
                self.status = await self._exec(instance, self.command)
            elif self.pty:
                from alation_shell.server.terminal import run_terminal

                self.status = await run_terminal(self, instance, at_host=self.command is None)
            else:
                self.status = await self._line_mode(instance)
        except asyncio.CancelledError:
            pass  # the client went away while nothing ran, or the server stops
        except (ShellError, OSError) as exc:
            message = exc.message if isinstance(exc, ShellError) else f"{exc.strerror or exc}"
            self.send(f"alation-shell: {message}\n", stderr=True)
            self.status = getattr(exc, "exit_code", 1)
        except Exception as exc:  # noqa: BLE001 - the edge: one line to the client and the log, never a traceback
            self.send(f"alation-shell: internal error: {type(exc).__name__}: {exc}\n", stderr=True)
            self.state.log.write("error", user=self.user.name, session=self.id, error=f"{type(exc).__name__}: {exc}")
            self.status = 70
        finally:
            removed = watcher is not None and watcher.done() and not watcher.cancelled()
            if watcher is not None:
                watcher.cancel()
            if mark is not None:
                mark.release()  # its command has stopped: `deluser --force` may now remove the instance
            self.state.log.write("logout", user=self.user.name, session=self.id, status=self.status,
                                 seconds=f"{time.monotonic() - started:.1f}",
                                 how="removed" if removed else "disconnected" if self.closed else "exit")
            self._end(self.status)

    async def _watch_user(self) -> None:
        """End the session once its user is removed (`deluser --force`, which waits for that): a line to the
        client and the log, the exit status, then as if the client had gone (its command stops, then it ends)."""
        while True:
            try:
                os.stat(self.user.account_file)
            except FileNotFoundError:
                break
            except OSError:
                pass  # not a sign of removal: look again
            await asyncio.sleep(USER_CHECK)
        self.send(f"\nalation-shell: {REMOVED}\n", stderr=True)
        self.state.log.write("removed", user=self.user.name, session=self.id)
        if not self.closed and self.chan is not None:
            with contextlib.suppress(BrokenPipeError, asyncssh.Error, OSError):
                self.chan.exit(1)
        self.connection_lost(None)

    def _start_recording(self) -> None:
        """With `serve --record-dir`: this session's output (what its client is shown, never its input) as
        `USER-YYYYmmdd-HHMMSS-PID-N.cast`."""
        directory = self.state.options.record_dir
        if directory is None:
            return
        from alation_shell.training.asciicast import Recorder

        name = f"{self.user.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self.id}.cast"
        try:
            self.recorder = Recorder(str(directory / name), width=self.size[0], height=self.size[1],
                                     title=f"{self.user.name}@alation-demo",
                                     env={"TERM": self.term_type} if self.term_type else {})
        except ShellError as exc:
            self.state.log.write("record-failed", user=self.user.name, session=self.id, reason=exc.message)

    def _end(self, status: int) -> None:
        if self.recorder is not None:
            self.recorder.close()
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.state.channels.discard(self)
        if not self.closed and self.chan is not None:
            self.closed = True
            with contextlib.suppress(BrokenPipeError, asyncssh.Error, OSError):
                self.chan.exit(status)  # sends the exit status, then closes

    async def _exec(self, instance: Instance, command: str) -> int:
        from alation_shell.shell.linemode import asker

        out, err = self.streams()
        session = make_session(instance, terminal=None, ask=asker(out, self.lines.blocking()))
        result = await self.run_job(lambda: session.execute(command, live=(out, err)), line=command,
                                    cancel=session.cancel.cancel)
        if result is INTERRUPTED:
            return 130
        if result.stop and result.session_status is not None:
            return result.session_status
        return result.exit_code

    async def _line_mode(self, instance: Instance) -> int:
        from alation_shell.shell.linemode import LineRunner

        out, err = self.streams()
        runner = LineRunner(instance, self.lines.blocking(), out=out, err=err)
        while not self.closed:
            line = await self.lines.next_line()
            if line is None:
                break
            going_on = await self.run_job(lambda line=line: runner.step(line), line=line,
                                          cancel=runner.session.cancel.cancel)
            if going_on is INTERRUPTED:
                runner.status = 130
            elif not going_on:
                break
        return runner.status

    async def _watch_idle(self) -> None:
        timeout = self.state.options.idle_timeout
        while True:
            idle = time.monotonic() - self.last_input
            if self.job is None and idle >= timeout:
                break
            await asyncio.sleep(max(timeout - idle, 0.05) if self.job is None else timeout)
        self.send(f"\n{IDLE_MESSAGE}\n", stderr=True)
        self.state.log.write("idle", user=self.user.name, session=self.id, seconds=f"{timeout:g}")
        self.watchdog = None
        if self.terminal is not None:
            self.terminal.close()
        if self.task is not None:
            self.task.cancel()

    def _set_size(self, width: int, height: int) -> None:
        self.size = (width or 80, height or 24)


class ChannelStream:
    """A text stream for a command in a pool thread: each write is handed to the event loop, in order."""

    def __init__(self, channel: ChannelSession, *, stderr: bool) -> None:
        self._channel = channel
        self._stderr = stderr

    def write(self, text: str) -> int:
        job = self._channel.job
        if job is not None:
            job.check()  # Ctrl-C or a dropped connection stops the command here, in its own thread
        if not self._channel.closed:
            with contextlib.suppress(RuntimeError):  # the loop is closing: the server stops
                self._channel.loop.call_soon_threadsafe(self._send, text)
        return len(text)

    def _send(self, text: str) -> None:
        self._channel.send(text, stderr=self._stderr)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self._channel.pty


def _charset(env: dict[str, str]) -> str:
    """The client's character set from its locale (LC_ALL, LC_CTYPE, LANG sent by the client), utf-8 if none."""
    import codecs

    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if locale in ("C", "POSIX"):
        return "ascii"
    codeset = locale.partition(".")[2].partition("@")[0]
    if codeset:
        with contextlib.suppress(LookupError):
            return codecs.lookup(codeset).name
    return "utf-8"


# The server's life cycle ----------------------------------------------------------------------------
def load_host_key(home: ServerHome) -> asyncssh.SSHKey:
    """The server's ed25519 host key, generated on first use and kept (0600) in the server home."""
    from alation_shell.storage import atomic_write

    path = home.host_key_file
    if path.exists():
        try:
            return asyncssh.read_private_key(str(path))
        except (asyncssh.KeyImportError, OSError) as exc:
            raise ShellError(f"cannot read the host key {path}: {exc} (remove it to make a new one)") from exc
    key = asyncssh.generate_private_key("ssh-ed25519", comment="alation-shell")
    atomic_write(path, key.export_private_key(), mode=0o600)
    return key


async def listen(state: ServerState, host_key: asyncssh.SSHKey, port: int, *, reuse_port: bool) -> asyncssh.SSHAcceptor:
    """Start accepting connections on `state.options.bind`:`port`."""
    return await asyncssh.listen(
        state.options.bind, port,
        server_factory=lambda: LoginServer(state),
        server_host_keys=[host_key],
        line_editor=False,  # prompt_toolkit edits lines; asyncssh's editor would double every CR
        encoding="utf-8", errors="replace",
        reuse_port=reuse_port,
        login_timeout=60,
        agent_forwarding=False, x11_forwarding=False, allow_scp=False,
    )


async def serve_forever(state: ServerState, host_key: asyncssh.SSHKey, port: int, *, reuse_port: bool,
                        ready: Callable[[int], None]) -> bool:
    """Serve until SIGINT or SIGTERM; `ready(port)` once listening. Running commands are interrupted at the
    end and waited for (30 s), so that every instance is left consistent; False if some did not stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    acceptor = await listen(state, host_key, port, reuse_port=reuse_port)
    ready(acceptor.sockets[0].getsockname()[1])
    await stop.wait()
    acceptor.close()
    tasks = []
    for channel in list(state.channels):
        channel.send("\nalation-shell: the server is shutting down\n", stderr=True)
        channel.interrupt(force=True)
        # No more input: a prompt the session comes back to once its command has stopped ends the session.
        channel.lines.close()
        if channel.terminal is not None:
            channel.terminal.close()
        if channel.task is not None:
            tasks.append(channel.task)
            if channel.job is None:
                channel.task.cancel()
    stuck = bool(tasks) and bool((await asyncio.wait(tasks, timeout=30))[1])
    if stuck:
        state.log.write("shutdown", stuck="a command did not stop in 30 s")
    await acceptor.wait_closed()
    state.pool.shutdown(wait=not stuck)
    state.auth_pool.shutdown()
    return not stuck


def run(options: ServerOptions, announce: Callable[[int, asyncssh.SSHKey], None]) -> int:
    """Run the server: one process, or `options.workers` processes sharing the port (SO_REUSEPORT)."""
    home = options.home
    home.create()
    host_key = load_host_key(home)
    home.ensure_template()  # seeded once here, so that a first login only copies it
    if options.shared:
        home.shared_instance()
    if options.workers == 1:
        state = ServerState(options)
        if not asyncio.run(serve_forever(state, host_key, options.port, reuse_port=False,
                                         ready=lambda port: announce(port, host_key))):
            # A command that never writes cannot be interrupted; the server stops all the same (an
            # interrupted backup is cleaned up by the next one), without waiting for its thread at exit.
            os.write(2, b"alation-shell serve: stopped with a command still running (see server.log)\n")
            os._exit(1)
        return 0
    return _run_workers(options, host_key, announce)


def _run_workers(options: ServerOptions, host_key: asyncssh.SSHKey,
                 announce: Callable[[int, asyncssh.SSHKey], None]) -> int:
    # The port is taken here first (port 0 gives one), by a socket that never listens: it only keeps the port.
    family = socket.AF_INET6 if ":" in options.bind else socket.AF_INET
    keeper = socket.socket(family, socket.SOCK_STREAM)
    keeper.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    keeper.bind((options.bind, options.port))
    port = keeper.getsockname()[1]
    ready_r, ready_w = os.pipe()
    children = []
    for _ in range(options.workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own event loop, its own connections
            os.close(ready_r)
            keeper.close()
            status = 1
            try:
                clean = asyncio.run(serve_forever(ServerState(options), host_key, port, reuse_port=True,
                                                  ready=lambda _port: os.write(ready_w, b".")))
                status = 0 if clean else 1
            except OSError as exc:
                os.write(2, f"alation-shell serve: worker {os.getpid()}: {exc.strerror or exc}\n".encode())
            finally:
                os._exit(status)
        children.append(pid)
    os.close(ready_w)
    started = 0
    while started < options.workers:
        got = os.read(ready_r, options.workers)
        if not got:
            break
        started += len(got)
    os.close(ready_r)
    if started == options.workers:
        announce(port, host_key)

    def forward(signum: int, frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0 if started == options.workers else 1
    if status:
        forward(signal.SIGTERM, None)
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or (1 if code else 0)
    keeper.close()
    return status
