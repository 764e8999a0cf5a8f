"""`alation-shell adduser | deluser | users | serve`: the server's commands (parsed by hand, like the rest)."""

from __future__ import annotations

import sys
from pathlib import Path

from alation_shell.errors import ShellError
from alation_shell.server.home import ServerHome, ServerHomeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from asyncssh import SSHKey

SESSIONS_END_WAIT = 30  # seconds `deluser --force` gives the sessions to end before it removes their instance

USAGE = """\
usage: alation-shell adduser NAME [--key FILE.pub ...] [--password] [--server-home DIR]
       alation-shell deluser NAME [--force] [--server-home DIR]
       alation-shell users [--server-home DIR]
       alation-shell serve [--bind ADDRESS] [--port N] [--shared] [--workers N] [--idle-timeout SECONDS]
                           [--record-dir DIR] [--server-home DIR]

The SSH server: operators and trainees log in with the OpenSSH client (`ssh -p 2222 NAME@HOST`) and enter the
Alation shell from an emulated host prompt, each in an own instance (or all in one with --shared).

  --server-home DIR     users, instances, host key and log (default: $ALATION_SHELL_SERVER_HOME, else the
                        user data dir's alation-shell/server)
adduser: create a user, or add keys to one / replace its password
  --key FILE.pub        a public key that may log in as NAME (repeatable)
  --password            ask for a password (twice on a terminal; one line when piped); stored as a bcrypt hash
deluser: remove a user with its instance and history (refused while it is logged in)
  --force               remove it even so: its sessions end (with a line saying why) before its instance goes
serve:
  --bind ADDRESS        address to listen on (default 127.0.0.1, loopback only)
  --port N              port (default 2222; 0 picks a free one)
  --shared              one instance for every user, instead of one each
  --workers N           N processes sharing the port, to use N cores (default 1)
  --idle-timeout S      close a session idle for S seconds (default 1800; 0: never)
  --record-dir DIR      record each session as asciicast v2 in DIR (what the client saw; never its input)
"""


class _Args:
    """The words after the subcommand, taken flag by flag."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.i = 0

    def __iter__(self) -> _Args:
        return self

    def __next__(self) -> str:
        if self.i >= len(self.words):
            raise StopIteration
        self.i += 1
        return self.words[self.i - 1]

    def value(self, flag: str) -> str:
        if self.i >= len(self.words):
            raise ServerHomeError(f"{flag} needs a value", exit_code=2)
        return next(self)


def main(subcommand: str, words: list[str]) -> int:
    """Run a server subcommand; its exit status. Errors are one line on stderr."""
    import os

    os.umask(0o077)  # everything in a server home (keys, hashes, log, instances, history) is the server's alone
    try:
        return _COMMANDS[subcommand](words)
    except ShellError as exc:
        print(f"alation-shell {subcommand}: {exc.message}", file=sys.stderr)
        if exc.exit_code == 2:
            print(f"usage: alation-shell {subcommand} ...  (alation-shell {subcommand} --help for more)",
                  file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def _split(words: list[str], flags: dict[str, bool]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional words and flag values; `flags` maps a flag to whether it takes a value."""
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    args = _Args(words)
    for word in args:
        name, eq, inline = word.partition("=")
        if word in ("-h", "--help"):
            raise _Help
        if name in flags and word.startswith("--"):
            if flags[name]:
                values.setdefault(name, []).append(inline if eq else args.value(name))
            elif eq:
                raise ServerHomeError(f"{name} takes no value", exit_code=2)
            else:
                values.setdefault(name, []).append("")
        elif word.startswith("-") and word != "-":
            raise ServerHomeError(f"unknown option {word!r}", exit_code=2)
        else:
            positional.append(word)
    return positional, values


class _Help(Exception):
    pass


def _home(values: dict[str, list[str]]) -> ServerHome:
    given = values.get("--server-home")
    return ServerHome(given[-1] if given else None)


def _one_name(positional: list[str]) -> str:
    if len(positional) != 1:
        raise ServerHomeError("expected one user NAME" if not positional else
                              f"unexpected argument {positional[1]!r}", exit_code=2)
    return positional[0]


def adduser(words: list[str]) -> int:
    positional, values = _split(words, {"--key": True, "--password": False, "--server-home": True})
    from alation_shell.server.home import check_username, hash_password, read_public_keys

    name = check_username(_one_name(positional))
    keys = [key for path in values.get("--key", []) for key in read_public_keys(path)]
    password_hash = hash_password(_read_password()) if "--password" in values else None
    home = _home(values)
    if not keys and password_hash is None and home.find_user(name) is None:
        raise ServerHomeError("a user needs a way to log in: give --key FILE.pub and/or --password", exit_code=2)
    new = home.save_user(name, keys=keys, password_hash=password_hash)
    what = [f"{len(keys)} key{'s' * (len(keys) != 1)}"] if keys else []
    what += ["a password"] if password_hash else []
    print(f"{'added' if new else 'updated'} user {name}{' with ' + ' and '.join(what) if what else ''}"
          f" in {home.root}")
    return 0


def _read_password() -> str:
    """The password: typed twice without echo at a terminal, or one line of piped stdin."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if first and getpass.getpass("password again: ") != first:
            raise ServerHomeError("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def deluser(words: list[str]) -> int:
    positional, values = _split(words, {"--server-home": True, "--force": False})
    name = _one_name(positional)
    home = _home(values)
    live, left = home.delete_user(name, force="--force" in values, wait=SESSIONS_END_WAIT)
    ended = f", after ending its {live} live session{'s' * (live != 1)}" if live else ""
    print(f"removed user {name} (with its instance and history) from {home.root}{ended}")
    if left:
        print(f"alation-shell deluser: warning: {left} of them had not ended after {SESSIONS_END_WAIT} s (is their"
              " server stuck?); removed anyway", file=sys.stderr)
    return 0


def users(words: list[str]) -> int:
    positional, values = _split(words, {"--server-home": True})
    if positional:
        raise ServerHomeError(f"unexpected argument {positional[0]!r}", exit_code=2)
    home = _home(values)
    found = home.list_users()
    if not found:
        print(f"no users in {home.root} (add one: alation-shell adduser NAME --key FILE.pub)", file=sys.stderr)
        return 0
    for user in found:
        keys = len(user.public_keys())
        print(f"{user.name:<32} {keys} key{'s' * (keys != 1)}  password: {'yes' if user.password_hash else 'no'}"
              f"  instance: {'yes' if (user.instance_dir / 'var/instance.json').is_file() else 'not yet'}")
    return 0


def serve(words: list[str]) -> int:
    positional, values = _split(words, {"--bind": True, "--port": True, "--shared": False, "--workers": True,
                                        "--idle-timeout": True, "--server-home": True,
                                        "--record-dir": True})
    if positional:
        raise ServerHomeError(f"unexpected argument {positional[0]!r}", exit_code=2)
    bind = values.get("--bind", ["127.0.0.1"])[-1]
    port = _number(values, "--port", 2222, 0, 65535)
    workers = _number(values, "--workers", 1, 1, 64)
    idle = _number(values, "--idle-timeout", 1800, 0, 10**7)
    home = _home(values)
    from alation_shell.instance import Instance
    from alation_shell.server.ssh import ServerOptions, run

    if not Instance(home.template).is_initialized():
        print("alation-shell serve: seeding the template instance users' instances are copied from (once)",
              file=sys.stderr, flush=True)

    record_dir = Path(values["--record-dir"][-1]) if "--record-dir" in values else None
    if record_dir is not None and not record_dir.is_dir():
        raise ServerHomeError(f"--record-dir {record_dir}: no such directory", exit_code=2)
    options = ServerOptions(home, bind=bind, port=port, shared="--shared" in values, workers=workers,
                            idle_timeout=float(idle), record_dir=record_dir)
    if not home.list_users():
        print("alation-shell serve: no users yet; add one with `alation-shell adduser NAME --key FILE.pub`",
              file=sys.stderr)
    if not _is_loopback(bind) and not any(user.public_keys() for user in home.list_users()):
        print(f"alation-shell serve: warning: listening on {bind}, beyond this machine, and no user has a public"
              " key: logins rest on passwords alone", file=sys.stderr)

    def announce(real_port: int, host_key: SSHKey) -> None:
        shown_host = f"[{bind}]" if ":" in bind else bind
        target = "127.0.0.1" if bind in ("0.0.0.0", "") else ("::1" if bind == "::" else bind)
        print(f"alation-shell serve: listening on {shown_host}:{real_port} ({workers} worker"
              f"{'s' * (workers != 1)}, {'one shared instance' if options.shared else 'an instance per user'})")
        print(f"host key: {host_key.get_algorithm()} {host_key.get_fingerprint()}")
        print(f"log: {home.log_file}")
        print(f"connect: ssh -p {real_port} USER@{target}")
        sys.stdout.flush()

    try:
        return run(options, announce)
    except OSError as exc:
        raise ServerHomeError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from exc


def _number(values: dict[str, list[str]], flag: str, default: int, low: int, high: int) -> int:
    given = values.get(flag)
    if not given:
        return default
    text = given[-1]
    if not text.isdecimal() or not low <= int(text) <= high:
        raise ServerHomeError(f"{flag} expects a whole number from {low} to {high}, not {text!r}", exit_code=2)
    return int(text)


def _is_loopback(address: str) -> bool:
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


_COMMANDS = {"adduser": adduser, "deluser": deluser, "users": users, "serve": serve}


def run_subcommand(subcommand: str, words: list[str]) -> int:
    """Entry from `alation-shell`."""
    try:
        return main(subcommand, words)
    except _Help:
        sys.stdout.write(USAGE)
        return 0
