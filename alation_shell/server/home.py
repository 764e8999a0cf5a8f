"""The server home: users (hashed passwords, authorized keys), their instances, the host key and the log.

```
SERVER_HOME/                     0700
  host_key                       ed25519 private key, 0600
  server.log                     one line per login, command and logout, 0600
  template/                      a seeded instance, copied for each user on first login
  shared/                        the one instance of `serve --shared`
  throttle/HASH                  failed password logins of one client address (server/ssh.py's Throttle)
  users/NAME/account.json        {"password": BCRYPT_HASH or null}, 0600
  users/NAME/authorized_keys     OpenSSH authorized_keys lines, 0600
  users/NAME/history             the user's shell history
  users/NAME/instance/           the user's own instance
  users/NAME/sessions/PID-N      one per live session, flocked by the server for the session's life
```
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.storage import atomic_write, locked, read_json

HOME_ENV = "ALATION_SHELL_SERVER_HOME"
USERNAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; a longer password would be silently cut
REMOVED = "your user was removed; logging out"


class ServerHomeError(ShellError):
    """A bad user name, password or key file, or a server home that cannot be used."""


def default_server_home() -> Path:
    """`$ALATION_SHELL_SERVER_HOME`, else the platform's user data dir + `alation-shell/server`."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "server"


def check_username(name: str) -> str:
    """`name` if it is a valid user name (as useradd's default NAME_REGEX, no `/`, `..` or control characters)."""
    if not USERNAME.fullmatch(name):
        shown = name if name.isprintable() else name.encode("unicode_escape").decode()
        raise ServerHomeError(
            f"invalid user name {shown!r}: expected a lower-case letter or _, then up to 31 of a-z 0-9 _ -"
        )
    return name


def hash_password(password: str) -> str:
    """A bcrypt hash of `password` (refused when empty or longer than bcrypt reads)."""
    import bcrypt

    if not password:
        raise ServerHomeError("empty password refused: give a password, or use --key")
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        raise ServerHomeError(f"password too long: at most {MAX_PASSWORD_BYTES} bytes (bcrypt reads no further)")
    return bcrypt.hashpw(data, bcrypt.gensalt()).decode("ascii")


def check_password(password: str, hashed: str | None) -> bool:
    """Whether `password` matches `hashed`; with no hash, a check against a dummy hash (same cost), False."""
    import bcrypt

    data = password.encode("utf-8")
    if not data or len(data) > MAX_PASSWORD_BYTES:
        data = b"\0"  # never matches a stored hash (empty passwords are refused), but costs the same
    if hashed is None:
        bcrypt.checkpw(data, _dummy_hash())
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except ValueError:  # a damaged hash in account.json
        return False


_DUMMY: list[bytes] = []


def _dummy_hash() -> bytes:
    import bcrypt

    if not _DUMMY:
        _DUMMY.append(bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt()))
    return _DUMMY[0]


def read_public_keys(path: str) -> list[str]:
    """The public keys in the file at `path` (a `.pub` file or authorized_keys lines), one line each."""
    import asyncssh

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerHomeError(f"cannot read key file {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise ServerHomeError(f"{path}:{number}: not an OpenSSH public key ({exc})") from exc
        keys.append(key.export_public_key("openssh").decode("ascii").strip())
    if not keys:
        raise ServerHomeError(f"{path}: no public key in it (expected a line such as `ssh-ed25519 AAAA... me@host`)")
    return keys


class User:
    """One login of the server: its password hash and public keys, and where its files are."""

    def __init__(self, home: ServerHome, name: str) -> None:
        self.name = name
        self.dir = home.users / name

    @property
    def account_file(self) -> Path:
        return self.dir / "account.json"

    @property
    def keys_file(self) -> Path:
        return self.dir / "authorized_keys"

    @property
    def history_file(self) -> Path:
        return self.dir / "history"

    @property
    def instance_dir(self) -> Path:
        return self.dir / "instance"

    @property
    def sessions_dir(self) -> Path:
        return self.dir / "sessions"

    def exists(self) -> bool:
        return self.account_file.is_file()

    @property
    def password_hash(self) -> str | None:
        account = read_json(self.account_file, {})
        value = account.get("password") if isinstance(account, dict) else None
        return value if isinstance(value, str) else None

    def public_keys(self) -> list[str]:
        try:
            text = self.keys_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


class LiveSession:
    """The mark of one live session: its file under users/NAME/sessions/, flocked until `release()`. The kernel
    drops the lock when the server dies, so a file left behind never counts as a live session."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        """The session has ended (its command stopped): remove the mark and drop its lock."""
        if self._fd < 0:
            return
        try:  # noqa: SIM105 - gone already when `deluser --force` removed the user
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = -1


class ServerHome:
    """The directory `serve`, `adduser`, `deluser` and `users` work in."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(os.path.abspath(root if root is not None else default_server_home()))

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def host_key_file(self) -> Path:
        return self.root / "host_key"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def template(self) -> Path:
        return self.root / "template"

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def throttle(self) -> Path:
        return self.root / "throttle"

    def create(self) -> None:
        """Make the home and its users directory (0700), or tighten them if they exist."""
        try:
            for directory in (self.root, self.users):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(directory, 0o700)
        except OSError as exc:
            raise ServerHomeError(f"cannot use server home {self.root}: {exc.strerror or exc}") from exc

    def user(self, name: str) -> User:
        return User(self, check_username(name))

    def find_user(self, name: str) -> User | None:
        """The user called `name`, or None (also for a name that is not a valid user name)."""
        if not USERNAME.fullmatch(name):
            return None
        user = User(self, name)
        return user if user.exists() else None

    def list_users(self) -> list[User]:
        try:
            names = sorted(entry.name for entry in self.users.iterdir())
        except FileNotFoundError:
            return []
        return [user for name in names if (user := self.find_user(name)) is not None]

    def save_user(self, name: str, *, keys: list[str], password_hash: str | None) -> bool:
        """Create the user, or add `keys` and replace the password of an existing one; True if it is new."""
        user = self.user(name)
        self.create()
        with locked(self.root / ".users.lock"):
            new = not user.exists()
            if new and user.dir.exists():
                # No account but files: a `deluser --force` waiting for the sessions to end (it would remove
                # the new account with the old files), or what one that died in its wait left (never inherited).
                if self.live_sessions(user):
                    raise ServerHomeError(f"{name} is being removed (its sessions are ending); try again in a moment")
                shutil.rmtree(user.dir)
            user.dir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(user.dir, 0o700)
            if keys:
                known = user.public_keys()
                merged = known + [k for k in keys if k not in known]
                atomic_write(user.keys_file, ("\n".join(merged) + "\n").encode(), mode=0o600)
            if password_hash is not None or new:
                current = None if new else user.password_hash
                _write_private_json(user.account_file, {"password": password_hash or current})
        return new

    def delete_user(self, name: str, *, force: bool = False, wait: float = 30.0) -> tuple[int, int]:
        """Remove the user, its keys, history and instance; (its live sessions, those still live when its files
        went). Refused while it has a live session, unless `force`: then its account goes first, the server
        ends its sessions (it watches for that), and the rest goes once they have ended, or after `wait` s."""
        user = self.user(name)
        with locked(self.root / ".users.lock"):
            if not user.exists():
                raise ServerHomeError(f"no user {name!r} in {self.root} (`alation-shell users` lists them)")
            live = self.live_sessions(user)
            if live and not force:
                raise ServerHomeError(f"{name} is logged in ({live} session{'s' * (live != 1)}); use --force to"
                                      " remove them anyway, or try again when they have logged out")
            # The account goes first: from then on no login or session can start, whatever is left of the rest.
            os.unlink(user.account_file)
            if not live:
                shutil.rmtree(user.dir)
                return 0, 0
        # The instance stays until the sessions' commands have stopped, so that none sees it vanish.
        deadline = time.monotonic() + wait
        while (left := self.live_sessions(user)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with locked(self.root / ".users.lock"):
            if not user.exists():  # else an adduser came once the sessions had ended, and removed the old files
                shutil.rmtree(user.dir)
        return live, left

    def mark_session(self, user: User, name: str) -> LiveSession:
        """Mark a session of `user` live (`name`: unique among the server's live sessions) until its
        `release()`; refused if the user was removed since it logged in."""
        with locked(self.root / ".users.lock"):  # so that deluser sees every session, or none can start
            if not user.exists():
                raise ServerHomeError(REMOVED)
            user.sessions_dir.mkdir(mode=0o700, exist_ok=True)
            path = user.sessions_dir / name
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        return LiveSession(path, fd)

    def live_sessions(self, user: User) -> int:
        """How many sessions of `user` are live: their marks are locked by a running server."""
        try:
            names = os.listdir(user.sessions_dir)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        live = 0
        for name in names:
            try:
                fd = os.open(user.sessions_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:
                continue  # gone meanwhile (a session ended), or not a mark
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                live += 1
            finally:
                os.close(fd)
        return live

    def ensure_template(self) -> Instance:
        """The seeded instance users' instances are copied from, made once (seeding takes seconds)."""
        template = Instance(self.template)
        with locked(self.root / ".template.lock"):
            if not template.is_initialized():
                if template.root.exists():
                    shutil.rmtree(template.root)  # a seeding that was interrupted
                from alation_shell.node.seed import create_instance

                create_instance(template)
        return template

    def shared_instance(self) -> Instance:
        """The one instance of `serve --shared`, copied from the template on first use."""
        instance = Instance(self.shared)
        if not instance.is_initialized():
            with locked(self.root / ".shared.lock"):
                if not instance.is_initialized():
                    self._copy_template(instance.root)
        return instance

    def instance_for(self, user: User, *, shared: bool) -> Instance:
        """The instance `user` works in: the shared one, or its own, copied from the template on first use."""
        if shared:
            return self.shared_instance()
        instance = Instance(user.instance_dir)
        if not instance.is_initialized():
            with locked(user.dir / ".instance.lock"):
                if not instance.is_initialized():
                    self._copy_template(instance.root)
        return instance

    def _copy_template(self, target: Path) -> None:
        template = self.ensure_template()
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        if staging.exists():
            shutil.rmtree(staging)
        if target.exists():
            shutil.rmtree(target)  # not an instance (no var/instance.json): a copy that was interrupted
        shutil.copytree(template.root, staging, symlinks=True)
        os.replace(staging, target)


def _write_private_json(path: Path, value: object) -> None:
    import json

    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode(), mode=0o600)

