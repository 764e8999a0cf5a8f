"""Key bindings of the interactive shell (on top of prompt_toolkit's Emacs defaults, Ctrl-R included)."""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit import search
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.filters import completion_is_selected, has_completions, is_searching
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys


def shell_bindings(on_paste: Callable[[list[str], str], None] | None = None) -> KeyBindings:
    """Enter on a selected completion takes it and closes the menu; the next Enter runs the line. Enter in a
    Ctrl-R search runs the line found, as bash does (Ctrl-G and Ctrl-C still abandon the search). A paste of
    several lines runs them one after another, as bash does: the first now, the others through `on_paste`
    (the complete lines, then the unfinished last one, left at the next prompt)."""
    bindings = KeyBindings()

    @bindings.add("enter", filter=has_completions & completion_is_selected)
    def _take_completion(event: KeyPressEvent) -> None:
        # The selected completion is already in the text: closing the menu is all that is left to do.
        event.current_buffer.complete_state = None

    @bindings.add("enter", filter=is_searching)
    def _run_found(event: KeyPressEvent) -> None:
        # prompt_toolkit's Enter only puts the line found back in the line being typed: run it too.
        search.accept_search()  # the line found into the line being typed, which has the focus again
        event.app.current_buffer.validate_and_handle()

    @bindings.add("tab")
    def _complete(event: KeyPressEvent) -> None:
        # As bash does: a word with one completion is finished (and a blank follows it), so that one Enter runs
        # the line; with several, the menu (and the part they have in common), as prompt_toolkit does.
        buffer = event.current_buffer
        if buffer.complete_state is not None:
            buffer.complete_next()
            return
        found = [] if buffer.completer is None else list(
            buffer.completer.get_completions(buffer.document, CompleteEvent(completion_requested=True)))
        if len(found) != 1:
            buffer.start_completion(insert_common_part=True)
            return
        completion = found[0]
        buffer.delete_before_cursor(-completion.start_position)
        buffer.insert_text(completion.text if completion.text.endswith("/") else completion.text + " ")

    @bindings.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        text = event.data.replace("\r\n", "\n").replace("\r", "\n")
        buffer = event.current_buffer
        if "\n" not in text or on_paste is None:
            buffer.insert_text(text.replace("\n", " "))
            return
        first, *rest = text.split("\n")
        buffer.insert_text(first)
        on_paste(rest[:-1], rest[-1])
        buffer.validate_and_handle()

    return bindings
