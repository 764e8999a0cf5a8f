"""A shell session: the one `execute(line) -> Result` that every front end is a thin loop around."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable

from alation_shell.commands import COMMANDS
from alation_shell.commands.base import Context, Output, Result
from alation_shell.display import one_line, quote
from alation_shell.errors import ShellError, UsageError
from alation_shell.instance import RESTORE_DIR, Instance

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from alation_shell.config.registry import Registry

INTERNAL_ERROR = 70


class Session:
    """One operator's session on one instance: working directory, history, and command dispatch."""

    def __init__(
        self,
        instance: Instance,
        *,
        interactive: bool = False,
        ask: Callable[[str], str | None] | None = None,
    ) -> None:
        self.instance = instance
        self.interactive = interactive
        self._ask = ask
        self.cwd = "/"
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
        elif self.cwd == f"/home/{self.user}":
            where = "~"
        else:
            where = self.cwd.rsplit("/", 1)[-1]
        return f"(env) {self.label} [{self.user}@{self.hostname} {where}]{'#' if self.user == 'root' else '$'} "

    def ask(self, prompt: str) -> str | None:
        if self._ask is None:
            return None
        return self._ask(prompt)

    def execute(self, line: str, live: tuple[TextIO, TextIO] | None = None) -> Result:
        """Run one command line. With `live`, output is written to those streams as it happens instead of being
        kept in the Result."""
        stdout = Output(live[0] if live else None)
        stderr = Output(live[1] if live else None)
        self.live_stderr = live[1] if live else None
        try:
            argv = shlex.split(line, comments=True)
        except ValueError as exc:
            stderr.write(f"alation-shell: syntax error: {str(exc).lower()}\n")
            return Result(stdout.getvalue(), stderr.getvalue(), 2)
        if not argv:
            return Result()
        self.history.append(line.strip())
        ctx = Context(self, stdout, stderr)
        code = self.dispatch(ctx, argv)
        return Result(stdout.getvalue(), stderr.getvalue(), code, ctx.stop, ctx.session_status)

    def dispatch(self, ctx: Context, argv: list[str]) -> int:
        """Run `argv` as a command in `ctx` and return its exit status (`ctx.stop` asks to end the session).

        Errors are rendered here, once, as one line `prog: message`; never a traceback. Before a command that
        touches the instance's data runs, a restore interrupted in another run is finished (one lstat when
        there is none): every front end comes through here.
        """
        name = argv[0]
        command = COMMANDS.get(name) or COMMANDS.get(os.path.basename(name) if "/" in name else "")
        if command is None:
            ctx.err(f"alation-shell: {one_line(name)}: command not found (`help` lists the commands)")
            return 127
        try:
            if command.touches_data and os.path.lexists(self.instance.root / RESTORE_DIR):
                from alation_shell.backup.actions import finish_interrupted_restore

                finish_interrupted_restore(ctx)
            return command.load()(ctx, argv[1:])
        except UsageError as exc:
            self._error(ctx, f"{command.name}: {exc.message} (usage: {command.usage})")
            return exc.exit_code
        except ShellError as exc:
            self._error(ctx, f"{command.name}: {exc.message}")
            return exc.exit_code
        except KeyboardInterrupt:
            ctx.err(f"{command.name}: interrupted")
            return 130
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
