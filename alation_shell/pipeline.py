"""Running a command line as bash would: lists, pipelines, redirections into the instance, `$?`, history.

`run_line` is what `Session.execute` does with a line. A plain line (a known command and simple words) takes
a fast path that never imports the grammar; any other line is parsed by `alation_shell.grammar` and run
here. The commands of a pipeline run one after the other, each on the whole output of the one before (an
emulator's simplification: a pipeline's exit status is its last command's, as in bash, and, as in bash, the
commands of a pipeline of several run in subshells: `cd` or `exit` there does not change the session).
"""

from __future__ import annotations

import os

from alation_shell.commands.base import Context, Output, Result
from alation_shell.errors import ShellError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

    from alation_shell.grammar import AndOr, Command, Pipeline, Word
    from alation_shell.session import Session

INTERRUPTED = 130  # a command stopped by Ctrl-C: as in bash, the rest of the line does not run
# Characters of a line that need no parsing: words split on blanks are then exactly what bash would see.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t_-./:,@%+=~^")


def run_line(session: Session, line: str, live: tuple[TextIO, TextIO] | None = None) -> Result:
    """Run one command line in `session`; with `live`, output is also written to those streams as it happens."""
    stdout = Output(live[0] if live else None)
    stderr = Output(live[1] if live else None)
    session.live_stderr = live[1] if live else None
    argv = line.split() if _PLAIN.issuperset(line) else None
    if argv is not None and (not argv or argv[0] in session.table):
        if not argv:
            return Result()
        session.history.append(line.strip())
        ctx = Context(session, stdout, stderr)
        status = session.last_status = run_argv(ctx, argv)
        return Result(stdout.getvalue(), stderr.getvalue(), status, ctx.stop, ctx.session_status)
    from alation_shell import grammar

    try:
        if session.terminal.interactive:
            line, expanded = grammar.expand_history(line, session.history)
            if expanded:
                stderr.write(line + "\n")  # bash shows the line it is about to run
        script = grammar.parse(line)
    except ShellError as exc:
        stderr.write(f"alation-shell: {exc.message}\n")
        session.last_status = exc.exit_code
        return Result(stdout.getvalue(), stderr.getvalue(), exc.exit_code)
    if not script:
        return Result()
    session.history.append(line.strip())
    runner = _Runner(session, stdout, stderr)
    status = runner.script(script)
    return Result(stdout.getvalue(), stderr.getvalue(), status, runner.stop, runner.session_status)


def run_argv(ctx: Context, argv: list[str]) -> int:
    """Run one command's words. `NAME --help` prints the table's usage of a command that has no help of its
    own (those that do say `--help` in their usage line)."""
    if len(argv) == 2 and argv[1] == "--help":
        command = ctx.session.table.get(argv[0])
        if command is not None and "--help" not in command.usage and not any(
                "--help" in flag.names for flag in command.flags):
            from alation_shell.commands.builtins import help_

            return help_(ctx, [command.name])
    return ctx.session.dispatch(ctx, argv)


def run_string(ctx: Context, text: str) -> int:
    """Run `text` as a command line inside a command (`su -c "..."`), on that command's streams and input."""
    from alation_shell import grammar

    try:
        script = grammar.parse(text)
    except ShellError as exc:
        ctx.err(f"alation-shell: {exc.message}")
        return exc.exit_code
    runner = _Runner(ctx.session, ctx.stdout, ctx.stderr, ctx.stdin)
    return runner.script(script)


class _Runner:
    """Runs a parsed line in a session; `stop` and `session_status` as `exit` left them."""

    def __init__(self, session: Session, stdout: Output, stderr: Output, stdin: str | None = None) -> None:
        self.session = session
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin  # what the first command of each pipeline reads (`su -c` passes its own on)
        self.stop = False
        self.session_status: int | None = None

    def script(self, items: list[AndOr]) -> int:
        status = self.session.last_status
        for item in items:
            status = self.pipeline(item.first)
            for op, pipeline in item.rest:
                if self.stop or status == INTERRUPTED:
                    break
                if (op == "&&") == (status == 0):
                    status = self.pipeline(pipeline)
            if self.stop or status == INTERRUPTED:
                break
        return status

    def pipeline(self, pipeline: Pipeline) -> int:
        commands = pipeline.commands
        if len(commands) == 1:
            status = self.command(commands[0], self.stdin, self.stdout, subshell=False)
        else:
            session = self.session
            saved = (session.cwd, session.oldpwd, session.user, list(session.su_stack))
            data = self.stdin
            try:
                for i, command in enumerate(commands):
                    last = i == len(commands) - 1
                    out = self.stdout if last else Output()
                    status = self.command(command, data, out, subshell=True)
                    if status == INTERRUPTED:
                        break
                    data = out.getvalue()
            finally:
                session.cwd, session.oldpwd, session.user, session.su_stack = saved
        if pipeline.negated:
            status = int(status == 0)
        self.session.last_status = status
        return status

    def command(self, command: Command, stdin: str | None, stdout: Output, *, subshell: bool) -> int:
        argv = [field for word in command.words for field in self.fields(word)]
        streams = {1: stdout, 2: self.stderr}
        files: list[tuple[Output, OutputFile]] = []
        try:
            for redirect in command.redirects:
                if isinstance(redirect.target, int):  # `2>&1`
                    streams[redirect.fd] = streams[redirect.target]
                    continue
                path = self.one_field(redirect.target)
                device = _device(self.session, path)
                if redirect.op == "<":
                    stdin = "" if device == NULL_DEVICE else read_input(self.session, path)
                    continue
                if device in STD_DEVICES:  # `> /dev/stderr`: as `>&2`
                    sink = streams[STD_DEVICES[device]]
                elif device == NULL_DEVICE:
                    sink = Output()  # written to nothing
                else:
                    sink = Output()
                    files.append((sink, OutputFile(self.session, path, append=redirect.op in (">>", "&>>"))))
                if redirect.op in ("&>", "&>>"):
                    streams[1] = streams[2] = sink
                else:
                    streams[redirect.fd] = sink
        except ShellError as exc:
            for _, target in files:
                target.abandon()
            self.stderr.write(f"alation-shell: {exc.message}\n")
            return 1
        status = 0
        if argv:
            ctx = Context(self.session, streams[1], streams[2], stdin)
            try:
                status = run_argv(ctx, argv)
            finally:
                for sink, target in files:
                    try:
                        target.commit(sink.getvalue())
                    except OSError as exc:
                        self.stderr.write(f"alation-shell: {target.shown}: {exc.strerror or exc}\n")
                        status = status or 1
            if ctx.stop and not subshell:
                self.stop = True
                self.session_status = ctx.session_status
        else:
            for _, target in files:  # `> FILE` alone creates (or empties) FILE
                target.commit("")
        return status

    # Words ------------------------------------------------------------------------------------
    def fields(self, word: Word) -> list[str]:
        """The words `word` expands to: parameters replaced; an unquoted value is split at blanks."""
        from alation_shell.grammar import Parameter

        fields = [""]
        boundary = False  # an unquoted value ended with blanks: the next text starts a new word
        for part in word.parts:
            if not isinstance(part, Parameter):
                if boundary and fields[-1]:
                    fields.append("")
                boundary = False
                fields[-1] += part
                continue
            value = self.parameter(part.name)
            if part.quoted:
                fields[-1] += value
                boundary = False
                continue
            pieces = value.split()
            if pieces:
                if (value[0].isspace() or boundary) and fields[-1]:
                    fields.append("")
                fields[-1] += pieces[0]
                fields.extend(pieces[1:])
            boundary = boundary or (value[-1:].isspace())
        if fields == [""] and not word.quoted:
            return []
        return fields

    def one_field(self, word: Word) -> str:
        fields = self.fields(word)
        if len(fields) != 1:
            shown = "".join(p if isinstance(p, str) else f"${p.name}" for p in word.parts)
            raise ShellError(f"{shown}: ambiguous redirect")
        return fields[0]

    def parameter(self, name: str) -> str:
        session = self.session
        if name == "?":
            return str(session.last_status)
        if name == "HOME":
            return home_of(session.user)
        if name in ("USER", "LOGNAME"):
            return session.user
        if name == "PWD":
            return session.cwd
        if name == "OLDPWD":
            return session.oldpwd or ""
        return session.hostname  # HOSTNAME: the grammar lets no other name through


NULL_DEVICE = "/dev/null"
STD_DEVICES = {"/dev/stdout": 1, "/dev/stderr": 2}


def _device(session: Session, path: str) -> str:
    """`/dev/null`, `/dev/stdout` or `/dev/stderr` when `path` names one (the emulated chroot has these three
    devices and no others), else ""."""
    if "dev" not in path:
        return ""
    shown = session.instance.resolve(path, session.cwd).shell
    return shown if shown == NULL_DEVICE or shown in STD_DEVICES else ""


def home_of(user: str) -> str:
    """A user's home directory in the emulated chroot."""
    return "/root" if user == "root" else f"/home/{user}"


def _path(session: Session, path: str) -> tuple[str, Path]:
    """A redirection's path (with `~` as bash expands it) as the shell shows it and where it really is."""
    if path == "~" or path.startswith("~/"):
        path = home_of(session.user) + path[1:]
    if not path:
        raise ShellError(": No such file or directory")
    location = session.instance.resolve(path, session.cwd)
    return path, location.real


def read_input(session: Session, path: str) -> str:
    """The text of the file `< path` names (inside the instance)."""
    import stat

    shown, real = _path(session, path)
    try:
        mode = os.stat(real).st_mode
        if stat.S_ISDIR(mode):
            raise ShellError(f"{shown}: Is a directory")
        if not stat.S_ISREG(mode):
            raise ShellError(f"{shown}: not a regular file")  # a FIFO would block the shell
        with open(real, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ShellError(f"{shown}: {exc.strerror or exc}") from None


class OutputFile:
    """A file output is redirected to, inside the instance. `>` replaces the file atomically once the command
    is done (written aside, fsynced, renamed); `>>` opens it now (O_APPEND, O_NOFOLLOW) and appends then.

    The emulator's own state (`/var` of the instance) is never written: Permission denied.
    """

    def __init__(self, session: Session, path: str, *, append: bool) -> None:
        self.shown, self.real = _path(session, path)
        self.instance = session.instance
        self.append = append
        self.fd = -1
        var = session.instance.var
        if self.real == var or var in self.real.parents:
            raise ShellError(f"{self.shown}: Permission denied")
        if self.real.is_dir():
            raise ShellError(f"{self.shown}: Is a directory")
        if not self.real.parent.is_dir():
            raise ShellError(f"{self.shown}: No such file or directory")
        if append:
            try:
                self.fd = os.open(self.real, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                                  0o644)
            except OSError as exc:
                raise ShellError(f"{self.shown}: {exc.strerror or exc}") from None

    def commit(self, text: str) -> None:
        """Write `text` to the file (replacing or appending); OSError when the disk refuses."""
        data = text.encode("utf-8", errors="replace")
        if self.append:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view):]
                os.utime(self.fd, (when := self._now(), when))
            finally:
                self.abandon()
            return
        replace_file(self.real, data, self._now())

    def _now(self) -> float:
        """The virtual time: files written here are dated on the clock `date` and `ls -l` show."""
        from alation_shell.node import clock

        return clock.timestamp(self.instance)

    def abandon(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def replace_file(real: Path, data: bytes, mtime: float | None = None) -> None:
    """Replace `real` with `data` atomically: a new file beside it (O_EXCL, O_NOFOLLOW: never through a
    link planted at its name), fsynced, renamed over it, the directory fsynced. Keeps the old file's mode;
    dated `mtime` when given."""
    import secrets

    from alation_shell.storage import fsync_dir

    try:
        mode = os.stat(real, follow_symlinks=False).st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    tmp = real.with_name(f".{real.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if mtime is not None:
                os.utime(f.fileno(), (mtime, mtime))
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException:
        try:  # noqa: SIM105 - contextlib costs an import
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(real.parent)
