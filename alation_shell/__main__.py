"""Entry points: `alation-shell`, and the standalone `alation_conf` / `alation_action` console commands.

The mode is chosen once, here: `-c`, a script file, piped stdin (plain line reader), or the REPL on a
terminal. Only the REPL imports prompt_toolkit.
"""

from __future__ import annotations

import os
import sys

from alation_shell import __version__
from alation_shell.commands.base import whole_number
from alation_shell.errors import ShellError

USAGE = """\
usage: alation-shell [--home DIR] [--echo] [-e] [-c COMMAND | SCRIPT]
       alation-shell init [--home DIR] [--seed N] [--size SIZE] [--force]
       alation-shell walkthrough [NAME] [--demo] [--check FILE] ...   (walkthrough --help for more)
       alation-shell serve | adduser | deluser | users ...   (the SSH server: `alation-shell serve --help`)

An emulator of the Alation administration shell (`sudo /etc/init.d/alation shell`).

With stdin on a terminal it opens the interactive shell; with stdin piped it reads one command per line.

options:
  -c COMMAND            run one command and exit with its status
  SCRIPT                run the commands in a file, one per line
  --home DIR            the instance directory (default: $ALATION_SHELL_HOME, else the user data dir)
  --echo                print the prompt and each command before its output (readable demos)
  --record FILE.cast    record the session as asciicast v2 (the interactive shell, piped, -c, SCRIPT)
  --record-input        also record the commands read (off by default: answers may be passwords)
  -e, --stop-on-error   stop at the first failing command
  --version             print the version and exit
  -h, --help            this help

walkthrough: guided exercises and self-playing demos (an addition of this emulator)

init: create and seed an instance (done automatically on first use)
  --seed N              seed of the generated catalog (default 5959)
  --size SIZE           catalog size for benchmarks, e.g. 256M or 1G (default: a small catalog)
  --force               replace an existing instance at DIR
"""


class Options:
    __slots__ = ("home", "echo", "stop_on_error", "command", "script", "subcommand", "seed", "size", "force", "rest",
                 "record", "record_input")

    def __init__(self) -> None:
        self.home: str | None = None
        self.echo = False
        self.stop_on_error = False
        self.command: str | None = None
        self.script: str | None = None
        self.subcommand: str | None = None
        self.seed: int | None = None
        self.size: int | None = None
        self.force = False
        self.rest: list[str] = []  # a subcommand's own arguments (walkthrough parses them)
        self.record: str | None = None
        self.record_input = False


class CliError(Exception):
    pass


SUBCOMMANDS = ("init", "walkthrough")
SERVER_SUBCOMMANDS = ("serve", "adduser", "deluser", "users")  # parsed by alation_shell.server.cli


def parse_args(argv: list[str]) -> Options:
    """Parse `alation-shell`'s arguments (by hand: argparse would cost a piped session 15% of its time)."""
    opts = Options()
    i = 0

    def value(flag: str) -> str:
        nonlocal i
        if i + 1 >= len(argv):
            raise CliError(f"{flag} needs a value")
        i += 1
        return argv[i]

    while i < len(argv):
        arg = argv[i]
        if opts.subcommand is None and opts.script is None and opts.command is None and arg == "walkthrough":
            opts.subcommand, opts.rest = arg, argv[i + 1:]
            break
        if arg in ("-h", "--help"):
            raise CliError("")
        if arg == "--home":
            opts.home = value(arg)
        elif arg.startswith("--home="):
            opts.home = arg.split("=", 1)[1]
        elif arg == "--echo":
            opts.echo = True
        elif arg in ("-e", "--stop-on-error"):
            opts.stop_on_error = True
        elif arg == "-c":
            opts.command = value(arg)
        elif arg == "--record":
            opts.record = value(arg)
        elif arg == "--record-input":
            opts.record_input = True
        elif opts.subcommand == "init" and arg == "--seed":
            text = value(arg)
            opts.seed = whole_number(text)
            if opts.seed is None:
                raise CliError(f"--seed expects a whole number below 10**18, not {text[:40]!r}")
        elif opts.subcommand == "init" and arg == "--size":
            opts.size = parse_size(value(arg))
        elif opts.subcommand == "init" and arg == "--force":
            opts.force = True
        elif arg.startswith("-") and arg != "-":
            raise CliError(f"unknown option {arg!r}")
        elif opts.subcommand is None and opts.script is None and arg in SUBCOMMANDS:
            opts.subcommand = arg
        elif opts.script is None and opts.subcommand is None:
            opts.script = arg
        else:
            raise CliError(f"unexpected argument {arg!r}")
        i += 1
    if opts.command is not None and opts.script is not None:
        raise CliError("give -c COMMAND or a SCRIPT, not both")
    if opts.record_input and opts.record is None:
        raise CliError("--record-input goes with --record FILE.cast")
    return opts


def parse_size(text: str) -> int:
    """'256M' -> 268435456; K, M, G are powers of 1024."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    body, unit = text.rstrip("KMGkmgBb"), text[len(text.rstrip("KMGkmgBb")):].upper().rstrip("B")
    number = whole_number(body)
    if not number or unit not in units:
        raise CliError(f"--size expects a size such as 64M or 1G, not {text[:40]!r}")
    return number * units[unit]


def main(argv: list[str] | None = None) -> int:
    """`alation-shell`."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"alation-shell {__version__}")
        return 0
    if args and args[0] in SERVER_SUBCOMMANDS:
        from alation_shell.server.cli import run_subcommand

        return run_subcommand(args[0], args[1:])
    try:
        opts = parse_args(args)
    except CliError as exc:
        if str(exc):
            print(f"alation-shell: {exc}", file=sys.stderr)
            print("usage: alation-shell [--home DIR] [--echo] [-e] [-c COMMAND | SCRIPT]  (--help for more)",
                  file=sys.stderr)
            return 2
        sys.stdout.write(USAGE)
        return 0
    try:
        return _run(opts)
    except ShellError as exc:
        print(f"alation-shell: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 141


def _run(opts: Options) -> int:
    from alation_shell.node.seed import open_instance

    if opts.subcommand == "init":
        return _init(opts)
    if opts.subcommand == "walkthrough":
        from alation_shell.training.cli import main as walkthrough_main

        return walkthrough_main(opts.rest, home=opts.home)
    instance = open_instance(opts.home)
    if opts.record is not None:
        return _recorded(opts, instance)
    from alation_shell.shell.linemode import LineRunner, stdin_answers

    if opts.command is not None:
        runner = LineRunner(instance, [opts.command], echo=opts.echo, answers=stdin_answers(),
                            answers_on_terminal=sys.stdin.isatty())
        return runner.run()
    if opts.script is not None:
        script = _script_lines(opts.script)
        if script is None:
            return 2
        return LineRunner(instance, script, echo=opts.echo, stop_on_error=opts.stop_on_error).run()
    if sys.stdin.isatty() and sys.stdout.isatty():
        from alation_shell.shell.repl import run_repl

        return run_repl(instance)
    # stdin at a terminal with stdout redirected (`alation-shell | tee log`): plain lines, prompt on stderr.
    prompt_to = sys.stderr if sys.stdin.isatty() else None
    return LineRunner(instance, sys.stdin, echo=opts.echo, stop_on_error=opts.stop_on_error,
                      answers_on_terminal=prompt_to is not None, prompt_to=prompt_to).run()


def _script_lines(path: str) -> list[str] | None:
    """The lines of a script file (a BOM, as Windows editors write it, is not a command); None, after one line
    on stderr, when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"alation-shell: cannot read script {path}: {getattr(exc, 'strerror', exc)}", file=sys.stderr)
        return None


def _recorded(opts: Options, instance) -> int:  # noqa: ANN001 - an Instance
    """A line-mode session (-c, SCRIPT or piped) recorded as asciicast v2."""
    from collections.abc import Iterable, Iterator

    from alation_shell.shell.linemode import LineRunner, stdin_answers
    from alation_shell.training.asciicast import Recorder, terminal_size

    assert opts.record is not None
    width, height = terminal_size(sys.stdout)
    if opts.command is None and opts.script is None and sys.stdin.isatty() and sys.stdout.isatty():
        from alation_shell.shell.repl import run_repl
        from alation_shell.training.asciicast import watch_resizes

        with Recorder(opts.record, width=width, height=height, title="alation-shell",
                      record_input=opts.record_input) as recorder:
            watch_resizes(recorder, sys.stdout)
            return run_repl(instance, stdout=recorder.tap(sys.stdout),
                            typed=lambda line: recorder.input(line + "\r"))
    with Recorder(opts.record, width=width, height=height, title="alation-shell",
                  record_input=opts.record_input) as recorder:
        out, err = recorder.tap(sys.stdout), recorder.tap(sys.stderr)
        lines: Iterable[str]
        if opts.command is not None:
            lines = [opts.command]
        elif opts.script is not None:
            script = _script_lines(opts.script)
            if script is None:
                return 2
            lines = script
        else:
            lines = sys.stdin

        def read() -> Iterator[str]:
            for line in lines:
                recorder.input(line.rstrip("\r\n") + "\r")
                yield line

        answers = stdin_answers() if opts.command is not None else None
        return LineRunner(instance, read(), echo=opts.echo, stop_on_error=opts.stop_on_error, answers=answers,
                          out=out, err=err).run()  # type: ignore[arg-type] - a Tap is a text stream


def _init(opts: Options) -> int:
    from alation_shell.instance import Instance, default_home
    from alation_shell.node.seed import DEFAULT_SEED, create_instance

    root = opts.home if opts.home is not None else default_home()
    instance = Instance(root)
    if instance.is_initialized():
        if not opts.force:
            print(f"alation-shell: an instance already exists at {instance.root} (--force replaces it)",
                  file=sys.stderr)
            return 1
        instance.remove()
    instance.check_can_create()
    if opts.size is not None:
        from alation_shell.progress import human_bytes

        print(f"seeding a {human_bytes(opts.size)} catalog at {instance.root} ...", file=sys.stderr, flush=True)
    create_instance(instance, seed=DEFAULT_SEED if opts.seed is None else opts.seed, size=opts.size)
    print(f"instance ready at {instance.root}")
    return 0


def _tool_main(name: str) -> int:
    """A standalone console command (`alation_conf ...`) acting on the default instance."""
    import shutil

    from alation_shell.commands.base import Context, Output
    from alation_shell.node.seed import open_instance
    from alation_shell.session import Session
    from alation_shell.shell.linemode import asker, stdin_answers
    from alation_shell.shell.progress import ProgressBar
    from alation_shell.terminal import Terminal

    try:
        instance = open_instance()
    except ShellError as exc:
        print(f"{name}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    ask = asker(sys.stdout, stdin_answers(), terminal=sys.stdin.isatty())
    size = shutil.get_terminal_size()
    terminal = Terminal.of_client(os.environ, size.columns, size.lines, pty=sys.stdout.isatty())
    session = Session(instance, terminal=terminal, ask=ask, progress_bar=ProgressBar)
    ctx = Context(session, Output(sys.stdout), Output(sys.stderr))
    session.live_stderr = sys.stderr
    try:
        return session.dispatch(ctx, [name, *sys.argv[1:]])
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 141
    except KeyboardInterrupt:
        return 130


def alation_conf_main() -> int:
    return _tool_main("alation_conf")


def alation_action_main() -> int:
    return _tool_main("alation_action")


def _quiet_broken_pipe() -> None:
    # The reader went away (`| head`): silence the flush at exit instead of a traceback.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
