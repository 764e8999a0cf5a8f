"""A shell session: the one `execute(line) -> Result` that every front end is a thin loop around."""

from __future__ import annotations

import os
from collections.abc import Callable

from alation_shell.commands import COMMANDS
from alation_shell.commands.base import Context, Result
from alation_shell.errors import ShellError, UsageError
from alation_shell.instance import Instance
from alation_shell.pipeline import run_line

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
        if self._ask is None:
            return None
        return self._ask(prompt)

    def execute(self, line: str, live: tuple[TextIO, TextIO] | None = None) -> Result:
        """Run one command line as bash would (alation_shell.pipeline). With `live`, output is also written to
        those streams as it happens."""
        return run_line(self, line, live)

    def dispatch(self, ctx: Context, argv: list[str]) -> int:
        """Run `argv` as a command in `ctx` and return its exit status (`ctx.stop` asks to end the session).

        Errors are rendered here, once, as one line `prog: message`; never a traceback.
        """
        name = argv[0]
        command = COMMANDS.get(name) or COMMANDS.get(os.path.basename(name) if "/" in name else "")
        if command is None:
            shown = name if name.isprintable() else name.encode("unicode_escape").decode()  # one line, always
            ctx.err(f"alation-shell: {shown}: command not found (`help` lists the commands)")
            return 127
        try:
            return command.load()(ctx, argv[1:])
        except UsageError as exc:
            ctx.err(f"{command.name}: {exc.message} (usage: {command.usage})")
            return exc.exit_code
        except ShellError as exc:
            ctx.err(f"{command.name}: {exc.message}")
            return exc.exit_code
        except KeyboardInterrupt:
            ctx.err(f"{command.name}: interrupted")
            return 130
        except OSError as exc:
            ctx.err(f"{command.name}: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
            return 1
        except Exception as exc:  # noqa: BLE001 - the edge: report, never a traceback
            ctx.err(f"{command.name}: internal error: {type(exc).__name__}: {exc}")
            return INTERNAL_ERROR
