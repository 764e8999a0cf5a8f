"""`alation_action`: the catalog of actions (data: actions.json), the command, and the `YES` confirmation.

The handlers live beside this file, one module per family: services, keys, license, cluster, search, backup.

Each action carries the metadata the real ops-action scripts declare in `#!!` lines (reference §2.2):
`safe`, `hidden`, `description`, `warning`. `alation_action NAME` prints the warning of an unsafe action
and asks for `YES` before it runs the handler. An action whose handler must check something first (the
restore verifies its archives before asking) sets `confirms_itself` and calls `confirm(ctx, action)` itself.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable

from alation_shell.errors import Aborted, ShellError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.commands.base import Context

ACTIONS_FILE = os.path.join(os.path.dirname(__file__), "actions.json")
CONFIRM_PROMPT = "Type YES to continue: "


class UnknownAction(ShellError):
    """A name that is no action."""


class Action:
    """One action: what listing and confirmation show, and the handler `f(ctx) -> int` that does it."""

    __slots__ = ("name", "description", "safe", "hidden", "warning", "handler", "confirms_itself", "requires")

    def __init__(self, spec: dict) -> None:
        self.name: str = spec["name"]
        self.description: str = spec["description"]
        self.safe: bool = bool(spec["safe"])
        self.hidden: bool = bool(spec.get("hidden", False))
        self.warning: str = spec.get("warning", "")
        self.handler: str = spec["handler"]
        self.confirms_itself: bool = bool(spec.get("confirms_itself", False))
        self.requires: dict[str, str] = dict(spec.get("requires", {}))
        if not self.safe and not self.warning:
            raise ValueError(f"action {self.name}: an unsafe action needs a warning")

    def __repr__(self) -> str:
        return f"Action({self.name!r})"

    def load(self) -> Callable[[Context], int]:
        """The handler. A handler path that names nothing fails loudly (ImportError, AttributeError): it is a
        bug of the catalog, which a test that loads every handler catches."""
        module, func = self.handler.split(":")
        return getattr(importlib.import_module(module), func)


_all: list[Action] | None = None


def _load() -> list[Action]:
    global _all
    if _all is None:
        with open(ACTIONS_FILE, "rb") as f:
            _all = [Action(spec) for spec in json.load(f)["actions"]]
    return _all


def actions() -> list[Action]:
    """The actions `alation_action` lists and completion offers (not the hidden ones), in catalog order."""
    return [a for a in _load() if not a.hidden]


def action(name: str) -> Action:
    """The action called `name` (hidden ones too); UnknownAction naming close matches otherwise."""
    for candidate in _load():
        if candidate.name == name:
            return candidate
    import difflib

    close = difflib.get_close_matches(name, [a.name for a in actions()], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `alation_action --help` lists them"
    raise UnknownAction(f"no action {name!r}{hint}")


def confirm(ctx: Context, act: Action) -> None:
    """Print the action's warning and ask for `YES`; Aborted (nothing changed, exit 1) on any other answer."""
    ask_yes(ctx, act.warning, f"{act.name}: ")


def ask_yes(ctx: Context, warning: str, prefix: str = "") -> None:
    """The one reader of a confirmation: print `WARNING: warning`, ask for `YES`; Aborted (nothing changed,
    exit 1), its message after `prefix`, on any other answer or none."""
    ctx.err(f"WARNING: {warning}")
    answer = ctx.ask(CONFIRM_PROMPT)
    if answer is None:
        raise Aborted(f"{prefix}no answer (end of input); aborted, nothing was changed")
    if answer.strip() != "YES":
        raise Aborted(f"{prefix}answer was not YES; aborted, nothing was changed")


def run(ctx: Context, args: list[str]) -> int:
    """`alation_action` (list), `alation_action --help` (list), `alation_action NAME` (run)."""
    if not args or args[0] in ("-h", "--help"):
        _list(ctx)
        return 0
    if args[0].startswith("-"):
        raise UsageError(f"unknown option {args[0]!r}")
    if len(args) > 1:
        raise UsageError(f"{args[0]} takes no arguments")
    act = action(args[0])
    handler = act.load()
    for name, wanted in act.requires.items():
        value = ctx.registry.catalog.lookup(name).format(ctx.registry.get(name))
        if value != wanted:
            raise ShellError(f"{act.name} runs only where {name} is {wanted}; on this node it is {value}")
    if not act.safe and not act.confirms_itself:
        confirm(ctx, act)
    return handler(ctx)


def _list(ctx: Context) -> None:
    listed = actions()
    width = max(len(a.name) for a in listed) + 2
    ctx.out("usage: alation_action ACTION")
    ctx.out()
    ctx.out("Actions (those marked [asks YES] print a warning and run only when you answer YES):")
    for act in listed:
        mark = "" if act.safe else "  [asks YES]"
        ctx.out(f"  {act.name:<{width}}{act.description}{mark}")


def read_file(ctx: Context, path: str, limit: int = -1) -> bytes | None:
    """Instance file `path` (at most `limit` bytes) read through the instance's confinement; None if there is
    none."""
    try:
        return ctx.instance.read_file(path, limit)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
