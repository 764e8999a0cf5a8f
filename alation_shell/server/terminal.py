"""A session with a pty: the host prompt and the Alation shell's REPL, on prompt_toolkit over the channel.

Each connection has its own prompt_toolkit AppSession (a pipe input fed from the channel, a Vt100 output
writing to it), so nothing one session does reaches another's screen: no process-wide stdout, no patch_stdout.
Its size, TERM, and colours (client-sent NO_COLOR, TERM=dumb) are its own. Commands run on the server's pool
threads; while one runs, Ctrl-C interrupts it and other typing waits for the next prompt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import time

from prompt_toolkit import PromptSession
from prompt_toolkit.application.current import AppSession, create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.history import InMemoryHistory, ThreadedHistory
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.utils import is_dumb_terminal

from alation_shell.commands.base import Result
from alation_shell.instance import Instance
from alation_shell.server.host import Host
from alation_shell.server.jobs import INTERRUPTED
from alation_shell.shell.completion import ShellCompleter
from alation_shell.shell.keys import shell_bindings
from alation_shell.shell.lexer import ShellLexer
from alation_shell.shell.repl import STYLE, ShellHistory, prompt_message
from alation_shell.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from alation_shell.server.ssh import ChannelSession


class _ChannelOutput:
    """The file Vt100_Output writes to: the channel (on the event loop, where prompt_toolkit renders)."""

    def __init__(self, channel: ChannelSession) -> None:
        self._channel = channel

    def write(self, data: str) -> int:
        self._channel.send(data)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        assert self._channel.chan is not None
        return str(self._channel.chan.get_encoding()[0] or "utf-8")


class RemoteTerminal:
    """The client's terminal, as prompt_toolkit sees it, for one channel."""

    def __init__(self, channel: ChannelSession, pipe: PipeInput) -> None:
        self.channel = channel
        self.pipe = pipe
        self.colour = not channel.env.get("NO_COLOR") and not is_dumb_terminal(channel.term_type or "")
        self.color_depth = None if self.colour else ColorDepth.DEPTH_1_BIT
        # No cursor-position requests: a `20;1R` answer arriving late would be typed into the line.
        self.output = Vt100_Output(_ChannelOutput(channel), self._size, term=channel.term_type,
                                   default_color_depth=self.color_depth, enable_cpr=False)
        self.app_session: AppSession | None = None
        self.asking = False
        self.demo_keys: DemoKeys | None = None  # while a demo plays: its keys pause and resume it
        self._ask_future: concurrent.futures.Future[object] | None = None

    def _size(self) -> Size:
        width, height = self.channel.size
        return Size(rows=height, columns=width)

    def received(self, data: str) -> None:
        """Keys from the client. While a command runs, Ctrl-C interrupts it; the rest waits for the prompt."""
        if self.channel.job is not None and not self.asking and "\x03" in data:
            self.channel.send("^C")
            self.channel.interrupt()
            return
        if self.demo_keys is not None:
            self.demo_keys.put(data)
            return
        with contextlib.suppress(OSError):
            self.pipe.send_text(data)

    def received_eof(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send_text("\x04")

    def resized(self) -> None:
        app = self.app_session.app if self.app_session is not None else None
        if app is not None:
            app._on_resize()  # prompt_toolkit's own resize handler (what SIGWINCH calls locally)

    def close(self) -> None:
        """The client went away: a prompt waiting for keys ends, a question in a command is declined."""
        if self._ask_future is not None:
            self._ask_future.cancel()
        with contextlib.suppress(OSError):
            self.pipe.close()

    def reader(self, **options: object) -> PromptSession[str]:
        reader: PromptSession[str] = PromptSession(input=self.pipe, output=self.output, color_depth=self.color_depth,
                                                   style=STYLE, include_default_pygments_style=False, **options)
        # A redraw is otherwise put off while the loop has other work ready, by re-scheduling itself through
        # the loop's self-pipe until then: with a class of sessions there always is other work, and that
        # spinning took a quarter of the server's time (py-spy, 30 sessions). Each redraw is scheduled once.
        reader.app.max_render_postpone_time = None
        return reader

    def ask(self, question: str) -> str | None:
        """A command's confirmation (`Type YES ...`), asked from its pool thread; None at Ctrl-D or EOF.

        Ctrl-C raises KeyboardInterrupt into the command, as locally.
        """
        if self.channel.job is not None:
            self.channel.job.check()
        future = asyncio.run_coroutine_threadsafe(self._ask(question), self.channel.loop)
        self._ask_future = future
        try:
            answer = future.result()
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None
        finally:
            self._ask_future = None
        if answer is INTERRUPTED:
            raise KeyboardInterrupt
        return answer if isinstance(answer, str) else None

    async def _ask(self, question: str) -> object:
        self.asking = True
        try:
            with create_app_session(input=self.pipe, output=self.output):
                return await self.reader().prompt_async(question)
        except KeyboardInterrupt:  # never let it reach the event loop: it would stop the server
            return INTERRUPTED
        except EOFError:
            return None
        finally:
            self.asking = False


async def run_terminal(channel: ChannelSession, instance: Instance, *, at_host: bool) -> int:
    """The session of a client with a pty: the host prompt (or, for `ssh -t host 'sudo ... shell'`, the
    Alation shell straight away). Its exit status."""
    with create_pipe_input() as pipe:
        terminal = RemoteTerminal(channel, pipe)
        with create_app_session(input=pipe, output=terminal.output) as app_session:
            terminal.app_session = app_session
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
    reader = terminal.reader(history=InMemoryHistory())
    while not channel.closed:
        try:
            line = await reader.prompt_async(host.prompt())
        except KeyboardInterrupt:
            continue
        except EOFError:
            channel.send("logout\n")
            return host.status
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
    """A walkthrough's lines and answers, typed at a prompt on this terminal (asked from the job's thread)."""

    def __init__(self, terminal: RemoteTerminal) -> None:
        self.terminal = terminal

    def read(self, prompt: str) -> str | None:
        return self.terminal.ask(prompt)

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
        return walk.run(_ChannelSource(terminal), fresh=fresh)

    result = await channel.run_job(work, line=" ".join(["walkthrough", *words]))
    return 130 if result is INTERRUPTED else int(result)  # type: ignore[arg-type]


async def alation_repl(channel: ChannelSession, terminal: RemoteTerminal, instance: Instance) -> int:
    """The Alation shell's REPL on this terminal, until `exit` or Ctrl-D; the status of `exit N`, else 0.

    (The one place the interactive shell is run over SSH: the shell's own async loop can take its place.)
    """
    from alation_shell.server.ssh import make_session

    width, height = channel.size
    client = Terminal.of_client({**channel.env, "TERM": channel.term_type or ""}, width, height, pty=True)
    session = make_session(instance, terminal=client, ask=terminal.ask)
    completer = ShellCompleter(session)
    reader = terminal.reader(
        history=ThreadedHistory(ShellHistory(str(channel.user.history_file))),
        completer=completer,
        complete_while_typing=True,
        lexer=PygmentsLexer(ShellLexer) if terminal.colour else None,
        key_bindings=shell_bindings(),
    )
    out, err = channel.streams()
    await channel.run_job(completer.refresh)
    while not channel.closed:
        try:
            line = await reader.prompt_async(prompt_message(session, terminal.colour))
        except KeyboardInterrupt:
            continue  # Ctrl-C drops the line being typed
        except EOFError:
            channel.send("exit\n")
            return 0
        if not line.strip():
            continue

        session.terminal = session.terminal.resized(*channel.size)  # the window as it is now
        def work(line: str = line) -> object:
            result = session.execute(line, live=(out, err))
            completer.refresh()
            return result

        result = await channel.run_job(work, line=line)
        if result is INTERRUPTED:
            channel.send("\n")
            continue
        assert isinstance(result, Result)
        if result.stop:
            return result.session_status if result.session_status is not None else 0
    return 0
