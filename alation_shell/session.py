"""A shell session: the one `execute(line) -> Result` that every front end is a thin loop around.

A session holds everything of its own: its terminal (as its front end saw it), its command table and its
cancel token. Nothing in it is process-wide, so one process can hold many sessions on many threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from alation_shell.commands import COMMANDS, CommandTable
from alation_shell.commands.base import Context, Result
from alation_shell.display import one_line, quote
from alation_shell.errors import Cancelled, ShellError, UsageError
from alation_shell.instance import Instance
from alation_shell.node.layout import RESTORE_DIR
from alation_shell.pipeline import run_line
from alation_shell.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.config.registry import Registry
    from alation_shell.progress import Progress

    BarFactory = Callable[[str, int, TextIO, str, "CancelToken"], Progress]

INTERNAL_ERROR = 70


class CancelToken:
    """Asks the running command to stop: `cancel()` from any thread; long work calls `check()` at each step."""

    __slots__ = ("_cancelled",)

    def __init__(self) -> None:
        self._cancelled = False  # one attribute written whole: no lock needed

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Cancelled (exit status 130, "interrupted") once `cancel()` was called."""
        if self._cancelled:
            raise Cancelled()

    def reset(self) -> None:
        self._cancelled = False


class Session:
    """One operator's session on one instance: working directory, history, and command dispatch.

    `terminal` is the session's terminal (default: none, as on a pipe), `table` the commands it runs (default:
    the Alation shell's), `ask` reads the answer to a confirmation, and `progress_bar` draws progress on the
    terminal (`ProgressBar(label, total, stream, unit, cancel)`; without it progress is not shown).
    """

    def __init__(
        self,
        instance: Instance,
        *,
        terminal: Terminal | None = None,
        table: CommandTable = COMMANDS,
        ask: Callable[[str], str | None] | None = None,
        progress_bar: BarFactory | None = None,
    ) -> None:
        self.instance = instance
        self.terminal = terminal if terminal is not None else Terminal()
        self.table = table
        self.asker = ask
        self.progress_bar = progress_bar
        self.cancel = CancelToken()
        self.cwd = "/"
        self.oldpwd: str | None = None  # `cd -` goes back there
        self.last_status = 0  # `$?`
        self.history: list[str] = []
        self.live_stderr: TextIO | None = None
        self._registry: Registry | None = None
        meta = instance.meta
        self.user = str(meta.get("user", "alationadmin"))
        self.su_stack: list[tuple[str, str]] = []  # (user, cwd) of the shells `sudo su` started from
        self.hostname = str(meta.get("hostname", "alation-demo"))
        self.label = str(meta.get("label", "DEMO"))

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from alation_shell.config.registry import Registry

            self._registry = Registry.for_instance(self.instance)
        return self._registry

    def prompt(self) -> str:
        """The prompt, shaped like the real one: `(env) DEMO [alationadmin@alation-demo /]$ ` (bash's `\\$`:
        `#` for root)."""
        if self.cwd == "/":
            where = "/"
        elif self.cwd == ("/root" if self.user == "root" else f"/home/{self.user}"):
            where = "~"
        else:
            where = self.cwd.rsplit("/", 1)[-1]
        return f"(env) {self.label} [{self.user}@{self.hostname} {where}]{'#' if self.user == 'root' else '$'} "

    def ask(self, prompt: str) -> str | None:
        """The operator's answer to `prompt`, or None (no way to ask, or end of input)."""
        if self.asker is None:
            return None
        return self.asker(prompt)

    def execute(self, line: str, live: tuple[TextIO, TextIO] | None = None) -> Result:
        """Run one command line as bash would (alation_shell.pipeline). With `live`, output is written to those
        streams as it happens instead of being kept in the Result.

        `self.cancel.cancel()`, from any thread, stops the command at its next check (exit status 130).
        """
        self.cancel.reset()
        return run_line(self, line, live)

    def dispatch(self, ctx: Context, argv: list[str]) -> int:
        """Run `argv` as a command in `ctx` and return its exit status (`ctx.stop` asks to end the session).

        Errors are rendered here, once, as one line `prog: message`; never a traceback. Before a command that
        touches the instance's data runs, a restore interrupted in another run is finished (one lstat when
        there is none): every front end comes through here.
        """
        name = argv[0]
        command = self.table.find(name)
        if command is None:
            ctx.err(f"alation-shell: {one_line(name)}: command not found (`help` lists the commands)")
            return 127
        ctx.command = command
        try:
            if command.touches_data and os.path.lexists(self.instance.root / RESTORE_DIR):
                from alation_shell.backup.run import finish_interrupted_restore

                done = finish_interrupted_restore(self.instance)
                if done is not None:
                    ctx.err(f"note: {done}")
            return command.load()(ctx, argv[1:])
        except UsageError as exc:
            # A message that ends in its own parenthesis gets the usage after a semicolon: never `(...) (...)`.
            usage = f"; usage: {command.usage}" if exc.message.endswith(")") else f" (usage: {command.usage})"
            self._error(ctx, f"{command.name}: {exc.message}{usage}")
            return exc.exit_code
        except ShellError as exc:
            self._error(ctx, f"{command.name}: {exc.message}")
            return exc.exit_code
        except KeyboardInterrupt:
            ctx.err(f"{command.name}: interrupted")
            return 130
        except BrokenPipeError:
            raise  # the reader of this process's output has gone (`| head`): the front end ends quietly, 141
        except OSError as exc:
            where = self.instance.shell_name(exc.filename) if exc.filename else None
            self._error(ctx, f"{command.name}: {f'{quote(where)}: ' if where else ''}{exc.strerror or exc}")
            return 1
        except Exception as exc:  # noqa: BLE001 - the edge: report, never a traceback
            self._error(ctx, f"{command.name}: internal error: {type(exc).__name__}: {exc}")
            return INTERNAL_ERROR

    def _error(self, ctx: Context, message: str) -> None:
        """Write an error line: one line, nothing a terminal acts on, and no host path of the instance (any
        that a message carries is shown as the shell's own, `/data2/...`)."""
        root = str(self.instance.root)
        if root in message:
            message = message.replace(root + "/", "/").replace(root, "/")
        ctx.err(one_line(message))
