"""The REPL as a loop over injected input and output: driven through prompt_toolkit pipe inputs, several at once
on one event loop as a server would run them (the local terminal is driven through a real pty in tests/e2e)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
from pathlib import Path

from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.base import PipeInput
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from alation_shell.commands import COMMANDS
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.session import CancelToken, Session
from alation_shell.shell.repl import HISTORY_FILE, Repl
from alation_shell.terminal import Terminal
from tests.conftest import copy_of, paper

INCR = "alation.backup_v2.incr_backup"
_COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-8]|9[0-7])[0-9;]*m")  # an SGR sequence setting a foreground colour


class Recorded(DummyOutput):
    """An output that keeps what commands write (`write_raw`) and draws nothing else."""

    def __init__(self, on_write: object = None) -> None:
        self.text = ""
        self.on_write = on_write

    def write_raw(self, data: str) -> None:
        self.text += data
        if callable(self.on_write):
            self.on_write(data)


def terminal(width: int, size: int = 24, *, colour: bool) -> Terminal:
    env = {"TERM": "xterm"} if colour else {"TERM": "xterm", "NO_COLOR": "1"}
    return Terminal.of_client(env, width, size, pty=True)


def test_the_async_repl_runs_commands_and_exit_with_output_on_the_injected_output(
    instance: Instance, capsys: object
) -> None:
    output = Recorded()
    session = Session(instance, terminal=terminal(80, colour=False))
    with create_pipe_input() as keys:
        keys.send_text(f"alation_conf {INCR} -s True\rcd /data2\r\ralation_conf nope.nope\rexit 3\r")
        repl = Repl(session, keys, output, history=instance.var / HISTORY_FILE)
        assert asyncio.run(repl.run_async()) == 3
    assert Registry.for_instance(instance).get(INCR) is True
    assert session.cwd == "/data2"
    assert f"{INCR} = True\n" in output.text and "alation_conf: no parameter matches 'nope.nope'" in output.text
    assert capsys.readouterr() == ("", "")  # nothing through the process's stdout or stderr
    assert (instance.var / HISTORY_FILE).read_text().count("\n+") == 4  # the file given: every line but the empty one


def test_a_confirmation_is_asked_through_the_repl_and_ctrl_d_ends_it(instance: Instance) -> None:
    mode = "alation.cluster.replication_mode"
    Registry.for_instance(instance).set_many([(mode, "secondary")])
    with create_pipe_input() as keys:

        def ctrl_d_at_the_end(data: str) -> None:
            if "promoted" in data:
                keys.send_text("\x04")  # Ctrl-D at the next prompt: the session ends

        output = Recorded(ctrl_d_at_the_end)
        keys.send_text("alation_action cluster_failover\rno\ralation_action cluster_failover\rYES\r")
        repl = Repl(Session(instance, terminal=terminal(80, colour=False)), keys, output)
        assert asyncio.run(repl.run_async()) == 0
    assert "answer was not YES; aborted, nothing was changed" in output.text
    assert Registry.for_instance(instance).get(mode) == "standalone"
    assert list(repl.reader.session.history.get_strings()) == ["alation_action cluster_failover"]  # no answers


def test_ctrl_c_cancels_the_command_running_off_the_loop(instance: Instance) -> None:
    class SecondCheckWaits(CancelToken):
        """The command's second check (`sim advance`'s, before the first backup) waits until the REPL has read
        the Ctrl-C typed once the first day's activity is shown, and cancelled."""

        def __init__(self) -> None:
            super().__init__()
            self.checks = 0
            self.cancelled_by_repl = threading.Event()

        def cancel(self) -> None:
            super().cancel()
            self.cancelled_by_repl.set()

        def check(self) -> None:
            self.checks += 1
            if self.checks == 2:
                assert self.cancelled_by_repl.wait(30), "the REPL did not read the Ctrl-C"
            super().check()

    session = Session(instance, terminal=terminal(80, colour=False))
    session.cancel = SecondCheckWaits()
    with create_pipe_input() as keys:

        def ctrl_c_after_the_first_day(data: str) -> None:
            if "activity of Mon" in data:
                keys.send_text("\x03sim clock\rexit\r")  # Ctrl-C, and the next commands typed ahead

        output = Recorded(ctrl_c_after_the_first_day)
        keys.send_text("sim advance 30d\r")
        assert asyncio.run(Repl(session, keys, output).run_async()) == 0
    assert "sim: interrupted" in output.text
    assert output.text.count("activity of") == 1 and "01:00  full" not in output.text
    assert "virtual time  2026-03-03 Tue 00:" in output.text  # the typed-ahead `sim clock` ran after it


def _screen(width: int) -> tuple[Vt100_Output, io.StringIO]:
    shown = io.StringIO()
    return Vt100_Output(shown, lambda: Size(rows=24, columns=width), term="xterm"), shown


def test_two_repls_on_one_loop_keep_their_own_terminal_and_table(seeded_template: Path, tmp_path: Path) -> None:
    wide_output, wide_shown = _screen(200)
    narrow_output, narrow_shown = _screen(12)
    wide = Session(copy_of(seeded_template, tmp_path / "a"), terminal=terminal(200, colour=True))
    narrow = Session(copy_of(seeded_template, tmp_path / "b"), terminal=terminal(12, colour=False),
                     table=COMMANDS.without("sim"))
    script = "ls /\rsim clock\rexit\r"

    async def both(wide_keys: PipeInput, narrow_keys: PipeInput) -> list[int]:
        return await asyncio.gather(
            Repl(wide, wide_keys, wide_output).run_async(), Repl(narrow, narrow_keys, narrow_output).run_async()
        )

    with create_pipe_input() as wide_keys, create_pipe_input() as narrow_keys:
        wide_keys.send_text(script)
        narrow_keys.send_text(script)
        assert asyncio.run(both(wide_keys, narrow_keys)) == [0, 0]
    top = sorted(n for n in os.listdir(wide.instance.root) if not n.startswith("."))
    assert "  ".join(top) + "\n" in wide_shown.getvalue()  # one line of 200 columns
    columns = Session(narrow.instance, terminal=Terminal(width=12, interactive=True)).execute("ls /").stdout
    assert len(columns.splitlines()) > 1 and columns in narrow_shown.getvalue()
    assert "virtual time  2026-03-02 Mon" in wide_shown.getvalue()
    assert "sim: command not found" in narrow_shown.getvalue()
    assert _COLOUR.search(wide_shown.getvalue()) and not _COLOUR.search(narrow_shown.getvalue())


# Keys: paste, Tab, Ctrl-R, Ctrl-D in `sudo su`, history ---------------------------------------------------
class Teletype(Vt100_Output):
    """The output stream of a terminal that takes no escape codes (TERM=dumb): every byte written is kept."""

    def __init__(self, width: int = 80) -> None:
        self.stream = io.StringIO()
        super().__init__(self.stream, lambda: Size(rows=24, columns=width), term="dumb")

    @property
    def text(self) -> str:
        return self.stream.getvalue()


def run_keys(instance: Instance, typed: str, *, term: str = "xterm", output: DummyOutput | None = None) -> tuple:
    """Run the async REPL on `typed` (ending the session itself); (its output, the Repl). A Ctrl-D after them
    ends a session that they failed to end, so that such a test fails instead of waiting for more keys."""
    output = output or Recorded()
    session = Session(instance, terminal=Terminal.of_client({"TERM": term, "NO_COLOR": "1"}, 80, 24, pty=True))
    with create_pipe_input() as keys:
        keys.send_text(typed + "\x04")
        repl = Repl(session, keys, output)
        assert asyncio.run(repl.run_async()) == 0
    return output.text, repl


def test_a_pasted_block_of_lines_runs_one_line_after_another(instance: Instance) -> None:
    paste = f"\x1b[200~alation_conf {INCR} -s True\r\ncd /data2\n\npwd\nalation_conf {INCR}\x1b[201~"
    text, repl = run_keys(instance, paste + "\rexit\r")
    shown = [line for line in text.replace("\r\n", "\n").splitlines() if "$ " not in line]
    assert shown == [f"{INCR} = True", "/data2", f"{INCR} = True"]  # the last line, unfinished, ran at the Enter
    assert "]$ cd /data2\r\n" in text and "]$ pwd\r\n" in text  # each pasted line shown at its prompt, as bash does
    assert Registry.for_instance(instance).get(INCR) is True
    assert list(repl.reader.session.history.get_strings()) == [
        f"alation_conf {INCR} -s True", "cd /data2", "pwd", f"alation_conf {INCR}", "exit"]


def test_consecutive_duplicates_are_kept_once_in_history(instance: Instance) -> None:
    _, repl = run_keys(instance, "pwd\rpwd\rcd /data2\rpwd\rpwd\rexit\r")
    assert list(repl.reader.session.history.get_strings()) == ["pwd", "cd /data2", "pwd", "exit"]


def test_ctrl_d_in_a_sudo_su_shell_returns_to_the_previous_user(instance: Instance) -> None:
    text, repl = run_keys(instance, "sudo su - alation\rwhoami\r\x04whoami\rexit\r")
    assert repl.session.su_stack == []
    assert text.count("alation\n") >= 1 and text.splitlines()[-1] != "alation", text
    before, _, after = text.partition("alation\n")
    assert after.strip().splitlines()[-1] == repl.session.user != "alation"


def test_tab_finishes_a_word_with_one_completion_so_one_enter_runs_the_line(instance: Instance) -> None:
    text, repl = run_keys(instance, "alation_conf alation.backup_v2.incr_backup_v\t-s 3\rcd /data\t\rpwd\rexit\r")
    assert "alation.backup_v2.incr_backup_versions = 3" in text
    assert Registry.for_instance(instance).get("alation.backup_v2.incr_backup_versions") == 3
    assert list(repl.reader.session.history.get_strings())[:2] == [
        "alation_conf alation.backup_v2.incr_backup_versions -s 3", "cd /data"]


def test_ctrl_r_then_enter_runs_the_found_command_and_ctrl_g_or_ctrl_c_runs_nothing(instance: Instance) -> None:
    versions = "alation.backup_v2.incr_backup_versions"
    earlier = f"alation_conf {versions} -s 2\ralation_conf {versions} -s 4\r"
    # All keys at once: those after an Enter are typed ahead of the next prompt, as when typed while a command runs.
    search = "\x12-s 2"
    text, repl = run_keys(instance, earlier + search + "\x07\r" + search + "\x03\r" + search + "\rexit\r")
    shown = [line for line in text.splitlines() if versions in line]
    assert shown == [f"{versions} = 2", f"{versions} = 4", f"{versions} = 2"]  # the aborted searches ran nothing
    assert Registry.for_instance(instance).get(versions) == 2
    assert list(repl.reader.session.history.get_strings()) == [
        f"alation_conf {versions} -s 2", f"alation_conf {versions} -s 4", f"alation_conf {versions} -s 2", "exit"]


def test_up_typed_ahead_recalls_the_line_before(instance: Instance) -> None:
    text, _ = run_keys(instance, "cd /data2\rpwd\r\x1b[A\rexit\r")
    assert text.splitlines() == ["/data2", "/data2"]


def type_keys(instance: Instance, typed: str, output: Teletype) -> tuple:
    """`run_keys` on a dumb terminal, typed as a person types: one key (an escape sequence, a paste) each time
    the prompt has been drawn, so that every change is drawn on its own."""
    session = Session(instance, terminal=Terminal.of_client({"TERM": "dumb"}, 80, 24, pty=True))
    keys = re.findall(r"\x1b\[200~.*?\x1b\[201~|\x1b\[[0-9;]*[A-Za-z~]|.", typed + "\x04", re.DOTALL)
    with create_pipe_input() as pipe:
        repl = Repl(session, pipe, output)

        def next_key(_: object) -> None:
            if keys:
                pipe.send_text(keys.pop(0))

        repl.reader.session.app.after_render += next_key
        assert asyncio.run(repl.run_async()) == 0
    return output.text, repl


def test_a_dumb_terminal_always_shows_the_line_that_runs_and_never_an_escape_code(instance: Instance) -> None:
    versions = "alation.backup_v2.incr_backup_versions"
    keys = (
        "alation_conf alation.backup_v2.incr_backup_v\t -s 3x\x7f\r"  # Tab (the name finished); Backspace
        "\x1b[A\x7f4\r"  # Up recalls it; Backspace and 4 change its value
        "\x12-s 3\r"  # Ctrl-R finds the first, Enter runs it
        "pwdx\x7f\r"  # Backspace on a line that has not wrapped: rubbed out on the screen too
        "pwxd\x1b[D\x7f\r"  # Left, Backspace: a character rubbed out inside the line
        "\x1b[200~# a\x1bb\x1b[201~\r"  # a paste holding ESC (a comment: runs nothing)
        "exit\r"
    )
    text, repl = type_keys(instance, keys, Teletype())
    assert "\x1b" not in text
    assert "pwdx\b \b\r\n" in text
    prompt = repl.session.prompt()
    screen = paper(text)
    ran = list(repl.reader.session.history.get_strings())
    assert ran[1:] == [f"alation_conf {versions} -s 4", ran[0], "pwd", "# a\x1bb", "exit"]  # pwd: kept once
    assert Registry.for_instance(instance).get(versions) == 3
    shown = [(screen[i - 1], line) for i, line in enumerate(screen) if line and not line.startswith("(")]
    assert shown == [
        (f"{prompt}{ran[0]}", f"{versions} = 3"),
        (f"{prompt}{ran[1]}", f"{versions} = 4"),
        (f"{prompt}{ran[0]}", f"{versions} = 3"),
        (f"{prompt}pwd", "/"),
        (f"{prompt}pwd", "/"),
    ]
    assert screen[-3:] == [f"{prompt}# a\\033b", f"{prompt}exit", ""]
