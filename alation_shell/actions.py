"""The catalog of `alation_action` actions (data: actions.json), and the `YES` confirmation they share.

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

from alation_shell.errors import Aborted, ShellError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.commands.base import Context

ACTIONS_FILE = os.path.join(os.path.dirname(__file__), "actions.json")
CONFIRM_PROMPT = "Type YES to continue: "


class UnknownAction(ShellError):
    """A name that is no action."""


class ActionUnavailable(ShellError):
    """An action whose code is not part of this build of the emulator yet."""


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
        """The handler; ActionUnavailable if its module is not there (yet)."""
        module, func = self.handler.split(":")
        try:
            return getattr(importlib.import_module(module), func)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                raise  # a module that is there failed to import something: a real bug, not a gap
        except AttributeError:
            pass
        raise ActionUnavailable(f"{self.name} is not available yet in this emulator")


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
    ctx.err(f"WARNING: {act.warning}")
    answer = ctx.ask(CONFIRM_PROMPT)
    if answer is None:
        raise Aborted(f"{act.name}: no answer (end of input); aborted, nothing was changed")
    if answer.strip() != "YES":
        raise Aborted(f"{act.name}: answer was not YES; aborted, nothing was changed")
