"""The interactive shell (prompt_toolkit): prompt, history, completion, highlighting, confirmations.

`Repl` is a loop over one `Session` and an injected prompt_toolkit input and output: `run()` on the local
terminal (commands run in this thread; Ctrl-C cancels them), `run_async()` for a server that awaits one per
connection (commands run in a worker thread off the event loop; a Ctrl-C read from the input cancels them).
Commands write to the injected output, and their confirmations are asked there, through the Repl's own
prompt_toolkit app session: nothing goes through sys.stdout or prompt_toolkit's global prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.formatted_text import FormattedText, fragment_list_to_text, to_formatted_text
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input, create_input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.keys import Keys
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import ColorDepth, DummyOutput, Output, create_output
from prompt_toolkit.search import SearchDirection, SearchState
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import get_cwidth

from alation_shell.commands.base import Result
from alation_shell.display import one_line
from alation_shell.errors import Cancelled
from alation_shell.instance import VAR_HISTORY, Instance
from alation_shell.session import Session
from alation_shell.shell.completion import ShellCompleter
from alation_shell.shell.keys import shell_bindings
from alation_shell.shell.lexer import STYLE_RULES, lexer_for, prompt_parts
from alation_shell.shell.progress import ProgressBar
from alation_shell.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from types import FrameType
    from typing import TextIO

    from prompt_toolkit.formatted_text import AnyFormattedText

HISTORY_FILE = VAR_HISTORY

STYLE = Style.from_dict(STYLE_RULES)


class ShellHistory(FileHistory):
    """The history file; a disk that refuses it costs the history, never the session."""

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(super().load_history_strings())
        except OSError:
            return []

    def store_string(self, string: str) -> None:
        with contextlib.suppress(OSError):
            super().store_string(string)


def prompt_message(session: Session, colour: bool) -> str | FormattedText:
    """The session's prompt, lightly coloured when `colour`."""
    text = session.prompt()
    parts = prompt_parts(text) if colour else None
    if parts is None:
        return text
    return FormattedText([(f"class:{cls}" if cls else "", part) for cls, part in parts])


class Screen(io.TextIOBase):
    """A command's live output (stdout and stderr alike) written to a prompt_toolkit output.

    With `loop`, writes from other threads (a command in a worker) are handed to the loop's thread, in order:
    an output such as an SSH channel is driven by its event loop only.
    """

    def __init__(self, output: Output, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._output = output
        self._loop = loop

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._loop is None:
            self._put(text)
        else:
            self._loop.call_soon_threadsafe(self._put, text)
        return len(text)

    def _put(self, text: str) -> None:
        self._output.write_raw(text)
        self._output.flush()


class Prompt:
    """A prompt_toolkit PromptSession on `output`. On a terminal that takes no escape codes (TERM=dumb, which
    prompt_toolkit would decide from this process's TERM, not the session's) it draws nothing itself: the line is
    shown as plain text that tells what Enter will run (see `_redrawn`)."""

    def __init__(self, output: Output, *, plain: bool, **options: object) -> None:
        self.output = output
        self.plain = plain
        self.session: PromptSession[str] = PromptSession(output=DummyOutput() if plain else output, **options)
        self._message = ""  # the prompt, as text (plain)
        self._view = ""  # the text on the terminal's last line, from its start (plain)
        if plain:
            self.session.app.after_render += self._redrawn

    def prompt(self, message: AnyFormattedText, default: str = "") -> str:
        """The line typed at `message`, `default` already typed."""
        with self._shown(message, default):
            return self.session.prompt(message, default=default, pre_run=self._history_at_hand)

    async def prompt_async(self, message: AnyFormattedText, default: str = "") -> str:
        with self._shown(message, default):
            return await self.session.prompt_async(message, default=default, pre_run=self._history_at_hand)

    def _history_at_hand(self) -> None:
        """The history in the line now, for an Up or a Ctrl-R among the keys typed ahead of this prompt.

        prompt_toolkit handles those keys (read along with the last Enter, or while a command ran) before its
        first redraw, which is where it starts the task that loads the history into the line: they found none.
        The histories here (a file, or memory) are read at once, so this does that task's work before them.
        """
        buffer = self.session.default_buffer
        history = buffer.history
        if not history._loaded:  # read once, as History.load() does; append_string keeps it up to date
            history._loaded_strings = list(history.load_history_strings())
            history._loaded = True
        buffer.load_history_if_not_yet_loaded()  # starts that task, so that no redraw starts another...
        buffer._load_history_task.cancel()  # ...and stops it before it runs: its work is done here
        buffer._working_lines.extendleft(history._loaded_strings)  # newest first, each to the left, as it does
        buffer.go_to_history(len(buffer._working_lines) - 1)  # still at the line being typed

    @contextlib.contextmanager
    def _shown(self, message: AnyFormattedText, default: str = "") -> Iterator[None]:
        if not self.plain:
            yield
            return
        self._message = fragment_list_to_text(to_formatted_text(message))
        self._view = self._message + one_line(default)
        self.output.write(self._view)
        self.output.flush()
        try:
            yield
        finally:
            self.output.write("\r\n")
            self.output.flush()

    def _now(self) -> str:
        """The line as it is now: the prompt and the text typed, or a Ctrl-R search and the line it finds."""
        layout = self.session.app.layout
        target = layout.search_target_buffer_control
        if target is None or target.search_buffer_control is None:
            return self._message + one_line(self.session.default_buffer.text)
        query = target.search_buffer_control.buffer.text
        state = target.search_state
        found = target.buffer.document_for_search(SearchState(query, state.direction, state.ignore_case)) \
            if query else target.buffer.document  # as prompt_toolkit previews a search
        kind = "reverse-i-search" if state.direction == SearchDirection.BACKWARD else "i-search"
        return f"({kind})`{one_line(query)}': {one_line(found.text)}"

    def _redrawn(self, app: object) -> None:
        """Show the line as it now is on a terminal that takes no escape codes, so that the screen always ends in
        what Enter would run: what was typed at the end as typed; what was rubbed out at the end with
        backspaces (on a line that has not wrapped, of characters one column wide); any other change (a history
        line, a completion, a search) in full on a fresh line. Control characters are shown as `\\033`."""
        now, shown = self._now(), self._view
        if now == shown:
            return
        if now.startswith(shown):
            self.output.write(now[len(shown):])
        elif shown.startswith(now) and shown[len(now):].isascii() and \
                get_cwidth(shown) < self.output.get_size().columns:
            self.output.write("\b \b" * (len(shown) - len(now)))
        else:
            self.output.write("\r\n" + now)
        self._view = now
        self.output.flush()


class PasteQueue:
    """The lines of a bracketed paste after its first (which runs at once, `shell_bindings(queue.add)`): each is
    taken at a prompt in turn and shown after it as if typed; a last line without its newline is left typed at
    the prompt after them, as bash does."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.unfinished = ""

    def add(self, lines: list[str], unfinished: str) -> None:
        self.lines.extend(lines)
        self.unfinished = unfinished

    def clear(self) -> None:
        """A Ctrl-C: the rest of the paste is dropped."""
        self.lines.clear()

    def next_line(self, output: Output, message: AnyFormattedText, history: History) -> str:
        """The next non-empty line, shown after `message` on `output` and kept in `history`; "" when none is left."""
        while self.lines:
            line = self.lines.pop(0)
            if line.strip():
                output.write_raw(fragment_list_to_text(to_formatted_text(message)) + line + "\r\n")
                output.flush()
                history.append_string(line)
                return line
        return ""

    def take_unfinished(self) -> str:
        """What the next prompt starts with: the paste's last line if it had no newline, once."""
        unfinished, self.unfinished = self.unfinished, ""
        return unfinished


class Repl:
    """The interactive shell of `session` on `input` and `output`, its history in the file `history` (None:
    kept in memory). It draws the session's progress bars and asks its confirmations."""

    def __init__(
        self, session: Session, input: Input, output: Output, *, history: str | os.PathLike | None = None,
        typed: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.typed = typed  # told each line and answer the person entered (a recording that keeps input)
        self.input = input
        self.output = output
        self.completer = ShellCompleter(session)
        self._screen = Screen(output)
        self._loop: asyncio.AbstractEventLoop | None = None  # set while run_async runs
        self.pastes = PasteQueue()  # lines of a paste still to run, one per prompt
        session.asker = self.ask
        if session.progress_bar is None:
            session.progress_bar = ProgressBar
        colour = session.terminal.colour
        plain = not session.terminal.escapes
        saved: History = ShellHistory(os.fspath(history)) if history is not None else InMemoryHistory()
        # Colours only as the session's terminal wants them, whatever the process's own environment says.
        depth = None if colour else ColorDepth.MONOCHROME
        with create_app_session(input=input, output=output):
            self.reader = Prompt(
                output,
                plain=plain,
                history=saved,
                completer=self.completer,
                complete_while_typing=True,
                lexer=PygmentsLexer(lexer_for(session.table)) if colour else None,
                style=STYLE,
                include_default_pygments_style=False,
                key_bindings=shell_bindings(self.pastes.add),
                color_depth=depth,
                input=input,
            )
            # Confirmations: a prompt of their own, so that answers stay out of the history.
            self.questions = Prompt(output, plain=plain, color_depth=depth, input=input)

    # The loops -------------------------------------------------------------------------------------
    def run(self) -> int:
        """Read, run and show commands until `exit` or Ctrl-D; the status of `exit N`, else 0.

        Commands run in this thread. Ctrl-C while one runs cancels it (it stops at its next check, status
        130); a second Ctrl-C interrupts it wherever it is.
        """
        with create_app_session(input=self.input, output=self.output):
            while True:
                try:
                    line = self._pasted_line() or self.reader.prompt(self._message(), self.pastes.take_unfinished())
                except KeyboardInterrupt:
                    self.pastes.clear()
                    continue  # Ctrl-C drops the line being typed
                except EOFError:
                    if self.session.su_stack:
                        self._run_here("exit")  # Ctrl-D in a `sudo su` shell leaves that shell only
                        continue
                    return 0
                if self.typed is not None:
                    self.typed(line)
                if not line.strip():
                    continue  # an empty line does nothing; it never repeats the last command
                result = self._run_here(line)
                if result is not None and result.stop:
                    return result.session_status if result.session_status is not None else 0

    async def run_async(self) -> int:
        """`run` for a server: awaits the prompt, and runs each command in a worker thread off the event loop,
        where a Ctrl-C read from the input meanwhile cancels it. Cancelling this coroutine cancels the command."""
        self._loop = asyncio.get_running_loop()
        self._screen = Screen(self.output, self._loop)
        worker = ThreadPoolExecutor(1, thread_name_prefix="session")
        try:
            with create_app_session(input=self.input, output=self.output):
                while True:
                    try:
                        line = self._pasted_line() or await self.reader.prompt_async(
                            self._message(), self.pastes.take_unfinished())
                    except KeyboardInterrupt:
                        self.pastes.clear()
                        continue
                    except EOFError:
                        if self.session.su_stack:
                            await self._run_off_loop("exit", worker)
                            continue
                        return 0
                    if not line.strip():
                        continue
                    result = await self._run_off_loop(line, worker)
                    if result.stop:
                        return result.session_status if result.session_status is not None else 0
        finally:
            worker.shutdown(wait=False)  # a command cancelled meanwhile ends at its next check
            self._loop = None
            self._screen = Screen(self.output)

    def _pasted_line(self) -> str:
        """The next line of a paste, shown after the prompt as if typed; "" when none is left."""
        if not self.pastes.lines:
            return ""
        return self.pastes.next_line(self.output, self._message(), self.reader.session.history)

    def _message(self) -> str | FormattedText:
        self.completer.refresh()
        return prompt_message(self.session, self.session.terminal.colour)

    def _resized(self) -> None:
        """The terminal's size now, for the command about to run (`ls` lays out its columns by it)."""
        size = self.output.get_size()
        self.session.terminal = self.session.terminal.resized(size.columns, size.rows)

    # Running a command -------------------------------------------------------------------------------
    def _run_here(self, line: str) -> Result | None:
        """Run `line` in this thread, Ctrl-C (SIGINT) cancelling it; None if a Ctrl-C landed outside it."""
        self._resized()
        handling = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._interrupt) if handling else None
        try:
            return self.session.execute(line, live=(self._screen, self._screen))
        except KeyboardInterrupt:
            # A second Ctrl-C landed outside the command itself (the session reports those inside it).
            self._screen.write("\n")
            return None
        finally:
            if handling:
                signal.signal(signal.SIGINT, previous)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.session.cancel.cancelled:
            raise KeyboardInterrupt  # the command did not stop at the first Ctrl-C: stop it wherever it is
        self.session.cancel.cancel()

    async def _run_off_loop(self, line: str, worker: ThreadPoolExecutor) -> Result:
        """Run `line` in `worker`, reading the input meanwhile: Ctrl-C cancels the command, other keys are kept
        for the next prompt, and a closed input (the client went away) cancels it too."""
        self._resized()
        work = asyncio.wrap_future(worker.submit(self.session.execute, line, (self._screen, self._screen)))
        try:
            with contextlib.ExitStack() as watching:

                def keys_ready() -> None:
                    keys = self.input.read_keys()
                    if self.input.closed:
                        self.session.cancel.cancel()
                        watching.close()  # nothing more to read: stop watching (the input would stay ready)
                        return
                    if any(key.key == Keys.ControlC for key in keys):
                        self.session.cancel.cancel()
                    typed = [key for key in keys if key.key != Keys.ControlC]
                    if typed:
                        store_typeahead(self.input, typed)

                watching.enter_context(self.input.raw_mode())
                watching.enter_context(self.input.attach(keys_ready))
                return await work
        except asyncio.CancelledError:
            self.session.cancel.cancel()
            raise

    # Confirmations -----------------------------------------------------------------------------------
    def ask(self, question: str) -> str | None:
        """A confirmation (e.g. `YES` for a restore) asked on this Repl's terminal; None at Ctrl-D.

        Ctrl-C cancels the command that asked (Cancelled: `interrupted`, status 130).
        """
        if self._loop is not None:  # asked by a command in the worker: the prompt runs on the loop
            return asyncio.run_coroutine_threadsafe(self._ask_async(question), self._loop).result()
        try:
            answer = self.questions.prompt(question)
        except EOFError:
            return None
        except KeyboardInterrupt:
            self.session.cancel.cancel()
            raise Cancelled() from None
        if self.typed is not None:
            self.typed(answer)
        return answer

    async def _ask_async(self, question: str) -> str | None:
        # A task of its own on the loop: it enters this Repl's app session, not the loop's default one.
        with create_app_session(input=self.input, output=self.output):
            try:
                return await self.questions.prompt_async(question)
            except EOFError:
                return None
            except KeyboardInterrupt:
                self.session.cancel.cancel()
                raise Cancelled() from None


def run_repl(instance: Instance, stdout: TextIO | None = None, typed: Callable[[str], None] | None = None) -> int:
    """The interactive shell on this process's terminal, its history in the instance's var/; `stdout`: a stream
    standing for the terminal's (a recording's tap), else sys.stdout; `typed`: told each line entered."""
    size = shutil.get_terminal_size()
    terminal = Terminal.of_client(os.environ, size.columns, size.lines, pty=True)
    session = Session(instance, terminal=terminal)
    output = create_output(stdout=stdout)  # type: ignore[arg-type] - a tap passes the terminal's fileno through
    repl = Repl(session, create_input(), output, history=instance.var / HISTORY_FILE, typed=typed)
    return repl.run()
