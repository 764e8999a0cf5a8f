"""A session with a pty: the host prompt and the Alation shell's REPL, edited as readline does (shell/lineedit).

Each connection has its own line editor, fed the channel's keys on the event loop: a key costs one lexing of
one line and one write to the channel, so a class of sessions shares a core without a key waiting for another
session's redraw. Nothing one session does reaches another's screen (no process-wide stdout); its size, TERM
and colours (client-sent NO_COLOR, TERM=dumb) are its own. Commands run on the server's pool threads; while one
runs, Ctrl-C interrupts it and other typing waits for the next prompt, as typed-ahead keys do in bash.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import queue
import time
from typing import Any

from alation_shell.commands.base import Result
from alation_shell.instance import VAR_HISTORY, Instance
from alation_shell.server.host import Host, host_completions
from alation_shell.server.jobs import INTERRUPTED
from alation_shell.shell.lexer import STYLE_RULES, lexer_for, prompt_parts
from alation_shell.shell.lineedit import (
    Completions,
    HistoryFile,
    LineEditor,
    Outcome,
    add_to_history,
    pygments_highlighter,
    sgr,
)
from alation_shell.shell.progress import ProgressBar
from alation_shell.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from alation_shell.server.ssh import ChannelSession
    from alation_shell.session import Session
    from alation_shell.shell.completion import ShellCompleter
    from alation_shell.training.walkthrough import Walkthrough


class RemoteTerminal:
    """The client's terminal, for one channel: its line editor, and the line being read, if any."""

    def __init__(self, channel: ChannelSession) -> None:
        self.channel = channel
        width, height = channel.size
        self.client = Terminal.of_client({**channel.env, "TERM": channel.term_type or ""}, width, height, pty=True)
        self.colour = self.client.colour
        self.editor = LineEditor(lambda: self.channel.size[0], escapes=self.client.escapes)
        self.asking = False
        self.demo_keys: DemoKeys | None = None  # while a demo plays: its keys pause and resume it
        self._waiting: asyncio.Future[Outcome] | None = None
        self._ask_future: concurrent.futures.Future[object] | None = None

    def received(self, data: str) -> None:
        """Keys from the client. While a command runs, Ctrl-C interrupts it; the rest waits for the prompt."""
        if self.channel.job is not None and not self.asking and "\x03" in data:
            self.channel.send("^C")
            self.channel.interrupt()
            return
        if self.demo_keys is not None:
            self.demo_keys.put(data)
            return
        self._show(*self.editor.feed(data))

    def received_eof(self) -> None:
        self._show(*self.editor.end_of_input())

    def resized(self) -> None:
        self.channel.send(self.editor.redraw())

    def close(self) -> None:
        """The client went away: a prompt waiting for keys ends, a question in a command is declined."""
        if self._ask_future is not None:
            self._ask_future.cancel()
        self._show(*self.editor.end_of_input())

    def _show(self, output: str, outcome: Outcome | None) -> None:
        self.channel.send(output)
        if outcome is not None and self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(outcome)

    async def read_line(self, prompt: str, *, history: list[str] | None = None,
                        complete: Callable[[str, int], Completions] | None = None,
                        highlight: Callable[[str], list[tuple[str, str]]] | None = None,
                        remember: Callable[[str], None] | None = None, default: str = "") -> Outcome:
        """A line typed at `prompt` (keys typed ahead come first)."""
        editor = self.editor
        editor.history, editor.complete, editor.highlight, editor.remember = history, complete, highlight, remember
        self._waiting = asyncio.get_running_loop().create_future()
        try:
            self.channel.send(editor.start(prompt, default=default))
            self._show(*editor.step())
            return await self._waiting
        finally:
            self._waiting = None

    def ask(self, question: str) -> str | None:
        """A command's confirmation (`Type YES ...`), asked from its pool thread; None at Ctrl-D or EOF.

        Ctrl-C raises KeyboardInterrupt into the command, as locally.
        """
        outcome = self.read_line_for_job(question)
        if outcome.kind == "interrupt":
            raise KeyboardInterrupt
        return outcome.text if outcome.kind == "line" else None

    def read_line_for_job(self, prompt: str, **options: Any) -> Outcome:
        """`read_line`, from the running job's pool thread (its keys, Ctrl-C included, go to the line); a
        connection that drops meanwhile raises KeyboardInterrupt into the job."""
        if self.channel.job is not None:
            self.channel.job.check()
        future = asyncio.run_coroutine_threadsafe(self._read_asked(prompt, options), self.channel.loop)
        self._ask_future = future
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None
        finally:
            self._ask_future = None

    async def _read_asked(self, prompt: str, options: dict[str, Any]) -> Outcome:
        self.asking = True
        try:
            return await self.read_line(prompt, **options)
        finally:
            self.asking = False


class ShellLines:
    """What a shell's prompt over SSH edits lines with: the session's completion and colours, and a history
    file (read here: make it in a pool thread)."""

    def __init__(self, session: Session, history: str | os.PathLike, colour: bool) -> None:
        from alation_shell.shell.completion import ShellCompleter

        self.session = session
        self.colour = colour
        self.completer = ShellCompleter(session)
        self.completer.refresh()
        self.saved = HistoryFile(history)
        self.history = self.saved.load()
        self.options: dict[str, Any] = {
            "history": self.history, "complete": _completions(self.completer), "remember": self.saved.append,
            "highlight": pygments_highlighter(lexer_for(session.table)(), STYLE_RULES) if colour else None,
        }

    def prompt(self) -> str:
        """The session's prompt, lightly coloured when the terminal takes colours (as the local REPL's)."""
        text = self.session.prompt()
        parts = prompt_parts(text) if self.colour else None
        if parts is None:
            return text
        return "".join(f"\x1b[{sgr(STYLE_RULES[cls])}m{part}\x1b[0m" if cls else part for cls, part in parts)

    def add(self, line: str) -> None:
        """`line` into the history, as if typed (a line of a paste)."""
        add_to_history(self.history, line, self.saved.append)


async def run_terminal(channel: ChannelSession, instance: Instance, *, at_host: bool) -> int:
    """The session of a client with a pty: the host prompt (or, for `ssh -t host 'sudo ... shell'`, the
    Alation shell straight away). Its exit status."""
    terminal = RemoteTerminal(channel)
    channel.terminal = terminal
    try:
        if at_host:
            return await host_prompt(channel, terminal, instance)
        return await alation_repl(channel, terminal, instance)
    finally:
        channel.terminal = None


async def host_prompt(channel: ChannelSession, terminal: RemoteTerminal, instance: Instance) -> int:
    """`[trainee@alation-demo ~]$ `: the emulated host, until `exit`, `logout` or Ctrl-D."""
    host = Host(channel.user.name)
    history: list[str] = []
    complete = _host_completions()
    while not channel.closed:
        outcome = await terminal.read_line(host.prompt(), history=history, complete=complete)
        if outcome.kind == "interrupt":
            continue
        if outcome.kind == "eof":
            channel.send("logout\n")
            return host.status
        line = outcome.text
        if line.strip():
            channel.state.log.write("command", user=channel.user.name, session=channel.id, line=line)
        result = host.execute(line)
        channel.send(result.stdout)
        channel.send(result.stderr, stderr=True)
        if result.enter_shell:
            host.status = await alation_repl(channel, terminal, instance)
        elif result.walkthrough is not None:
            host.status = await walkthrough(channel, terminal, result.walkthrough)
        elif result.logout:
            return result.status
    return host.status


class DemoKeys:
    """A demo's pause over SSH, as `KeyPause` is on a local terminal: a key pauses it until the next key."""

    def __init__(self, channel: ChannelSession) -> None:
        self.channel = channel
        self.keys: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, data: str) -> None:
        self.keys.put(data)

    def wait(self, seconds: float) -> float:
        """Wait up to `seconds`; if a key comes, wait for the next one. The time spent paused."""
        try:
            self.keys.get(timeout=max(seconds, 0.0))
        except queue.Empty:
            return 0.0
        began = time.monotonic()
        while not self.channel.closed:
            try:
                self.keys.get(timeout=0.5)
                break
            except queue.Empty:
                if self.channel.job is not None:
                    self.channel.job.check()  # Ctrl-C or a dropped connection ends the pause too
        return time.monotonic() - began


class _ChannelSource:
    """A walkthrough's lines and answers, typed at a prompt on this terminal (asked from the job's thread); the
    lines with the shell's completion, colours and the walkthrough instance's history, as on a local terminal."""

    def __init__(self, terminal: RemoteTerminal, walk: Walkthrough) -> None:
        self.terminal = terminal
        self.lines = ShellLines(walk.session, walk.instance.var / VAR_HISTORY, terminal.colour)

    def read(self, prompt: str) -> str | None:
        self.lines.completer.refresh()
        while True:
            outcome = self.terminal.read_line_for_job(self.lines.prompt(), **self.lines.options)
            if outcome.kind == "interrupt":
                continue  # Ctrl-C drops the line being typed
            return outcome.text if outcome.kind == "line" else None

    def answer(self, question: str) -> str | None:
        return self.terminal.ask(question)


async def walkthrough(channel: ChannelSession, terminal: RemoteTerminal, words: list[str]) -> int:
    """`walkthrough [NAME] [--demo]` at the host prompt: the list, or the scenario on the user's own walkthrough
    instance (server home, users/NAME/walkthroughs/SCENARIO), whose progress survives a dropped connection."""
    from alation_shell.errors import ShellError
    from alation_shell.training.cli import scenario_list
    from alation_shell.training.scenario import find

    demo = "--demo" in words
    names = [w for w in words if w != "--demo"]
    if not names:
        channel.send("".join(line + "\n" for line in scenario_list([], command="walkthrough")))
        return 0
    if len(names) > 1 or any(w.startswith("-") for w in names):
        channel.send("usage: walkthrough [NAME] [--demo]\n", stderr=True)
        return 2
    try:
        scenario = find(names[0], [])
    except ShellError as exc:
        channel.send(f"walkthrough: {exc.message}\n", stderr=True)
        return 1
    out, err = channel.streams()
    # A demo plays on a scratch instance of its own, never on the one that keeps the trainee's progress.
    place = f".demo-{scenario.name}" if demo else scenario.name
    instance = Instance(channel.user.dir / "walkthroughs" / place)

    def work() -> int:
        from alation_shell.training.walkthrough import Walkthrough

        walk = Walkthrough(scenario, instance, out, err, interactive=False, colour=False,
                           resume_command=f"walkthrough {scenario.name}")
        fresh = demo or walk.saved_progress() is None
        if fresh:
            if instance.is_initialized():
                instance.remove()
            from alation_shell.node.seed import create_instance

            create_instance(instance)
        if demo:
            from alation_shell.training.demo import DemoSource

            terminal.demo_keys = DemoKeys(channel)
            try:
                return walk.run(DemoSource(walk, out, speed=1.0, keys=terminal.demo_keys), fresh=True)
            finally:
                terminal.demo_keys = None
        return walk.run(_ChannelSource(terminal, walk), fresh=fresh)

    # No `cancel`: Ctrl-C ends the walkthrough (or its demo) at its next output, between its commands too.
    result = await channel.run_job(work, line=" ".join(["walkthrough", *words]))
    return 130 if result is INTERRUPTED else int(result)  # type: ignore[arg-type]


async def alation_repl(channel: ChannelSession, terminal: RemoteTerminal, instance: Instance) -> int:
    """The Alation shell's REPL on this terminal, until `exit` or Ctrl-D; the status of `exit N`, else 0.

    As the local REPL: history (the user's own file), Tab completion, highlighting, a paste of several lines
    runs them one after another, and Ctrl-D in a `sudo su` shell leaves that shell only.
    """
    from alation_shell.server.ssh import make_session

    session = make_session(instance, terminal=terminal.client.resized(*channel.size), ask=terminal.ask)
    session.progress_bar = ProgressBar  # long work shows its progress, as in the local shell
    lines = await channel.run_job(lambda: ShellLines(session, channel.user.history_file, terminal.colour))
    if lines is INTERRUPTED:
        return 130
    assert isinstance(lines, ShellLines)
    out, err = channel.streams()
    pasted: list[str] = []
    unfinished = ""
    while not channel.closed:
        prompt = lines.prompt()
        if pasted:  # the next line of a paste: shown after the prompt as if typed, then run
            line = pasted.pop(0)
            if not line.strip():
                continue
            channel.send(prompt + line + "\n")
            lines.add(line)
        else:
            outcome = await terminal.read_line(prompt, default=unfinished, **lines.options)
            unfinished = ""
            if outcome.kind == "interrupt":
                continue  # Ctrl-C drops the line being typed
            if outcome.kind == "eof":
                if session.su_stack:  # Ctrl-D in a `sudo su` shell leaves that shell only
                    await channel.run_job(lambda: session.execute("exit", live=(out, err)),
                                          cancel=session.cancel.cancel)
                    continue
                channel.send("exit\n")
                return 0
            line, pasted, unfinished = outcome.text, outcome.pasted, outcome.unfinished
            if not line.strip():
                continue

        session.terminal = session.terminal.resized(*channel.size)  # the window as it is now

        def work(line: str = line) -> object:
            result = session.execute(line, live=(out, err))
            lines.completer.refresh()
            return result

        result = await channel.run_job(work, line=line, cancel=session.cancel.cancel)
        if result is INTERRUPTED:
            pasted.clear()
            channel.send("\n")
            continue
        assert isinstance(result, Result)
        if result.stop:
            return result.session_status if result.session_status is not None else 0
    return 0


@functools.cache
def _host_completions() -> Callable[[str, int], Completions]:
    """Tab at the host prompt: its commands, the sudo that enters the Alation shell, the walkthroughs (the
    shipped ones: listed once a process, not at each login on the event loop)."""
    from alation_shell.training.scenario import available

    scenarios = sorted(available())

    def complete(text: str, cursor: int) -> Completions:
        start, words = host_completions(text, cursor, scenarios)
        return Completions(start, [(word, "") for word in words])

    return complete


def _completions(completer: ShellCompleter) -> Callable[[str, int], Completions]:
    """The shell's completer, as the line editor asks for candidates."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    def complete(text: str, cursor: int) -> Completions:
        found = list(completer.get_completions(Document(text, cursor), CompleteEvent(completion_requested=True)))
        if not found:
            return Completions(cursor, [])
        start = cursor + min(c.start_position for c in found)
        # A candidate replacing less than the others gets the difference in front, so that all replace alike.
        items = [(text[start:cursor + c.start_position] + c.text, c.display_meta_text) for c in found]
        return Completions(start, items)

    return complete
