"""Key bindings of the interactive shell (on top of prompt_toolkit's Emacs defaults, Ctrl-R included)."""

from __future__ import annotations

from prompt_toolkit.filters import completion_is_selected, has_completions
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def shell_bindings() -> KeyBindings:
    """Enter on a selected completion takes it and closes the menu; the next Enter runs the line."""
    bindings = KeyBindings()

    @bindings.add("enter", filter=has_completions & completion_is_selected)
    def _take_completion(event: KeyPressEvent) -> None:
        # The selected completion is already in the text: closing the menu is all that is left to do.
        event.current_buffer.complete_state = None

    return bindings
