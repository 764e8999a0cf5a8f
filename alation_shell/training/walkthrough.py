"""Running a scenario: each step's instruction above the prompt, the step's check after every command.

The walkthrough is a thin loop over one `Session`, like every front end: a *source* gives it lines (a pipe,
the prompt_toolkit prompt on a terminal, or the demo's typist) and the walkthrough runs them, checks the
state they left, and answers the trainee's own words: `hint`, `solution`, `skip`, `restart`, `quit`.
Progress is saved after every change in the instance's `var/walkthrough.json`, so a walkthrough that was
left (or whose connection dropped) resumes at the same step.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sqlite3
import time
from datetime import datetime

from alation_shell.errors import ShellError
from alation_shell.instance import VAR_BACKUP_CYCLE, VAR_PENDING_RESTARTS, VAR_SCHEDULE, VAR_WALKTHROUGH, Instance
from alation_shell.node import clock
from alation_shell.node.layout import CATALOG_DB
from alation_shell.node.seed import create_instance
from alation_shell.session import Session
from alation_shell.storage import atomic_write, read_json, write_json
from alation_shell.terminal import Terminal
from alation_shell.training.checks import LastCommand, Mistake, State, count_rows
from alation_shell.training.scenario import PLACEHOLDERS, Scenario, ScenarioError, Setup, Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TextIO

    from alation_shell.training.asciicast import Recorder

    class Source(Protocol):
        def read(self, prompt: str) -> str | None: ...
        def answer(self, question: str) -> str | None: ...


PROGRESS_FILE = VAR_WALKTHROUGH
KEYWORDS = ("hint", "solution", "skip", "restart", "quit")
# What `restart` puts back as it was when the step began (settings and what they set off).
SNAPSHOT = ("etc/alation/alation_conf.toml", f"var/{VAR_PENDING_RESTARTS}", f"var/{VAR_BACKUP_CYCLE}",
            f"var/{VAR_SCHEDULE}")

_COLOURS = {"title": "1", "done": "32", "wrong": "33", "hint": "36", "dim": "2"}


class Walkthrough:
    """One scenario on one instance, driven by a source of lines."""

    def __init__(
        self,
        scenario: Scenario,
        instance: Instance,
        out: TextIO,
        err: TextIO | None = None,
        *,
        interactive: bool = False,
        colour: bool = False,
        recorder: Recorder | None = None,
        resume_command: str = "",
        verifying: bool = False,
    ) -> None:
        self.scenario = scenario
        self.instance = instance
        self.out = out
        self.err = err or out
        self.colour = colour
        self.recorder = recorder
        self.resume_command = resume_command or f"alation-shell walkthrough {scenario.name}"
        self.verifying = verifying  # `--check`: record every step whose solution fails, and go on
        self.failures: list[Mistake] = []
        self.source: Source | None = None
        size = shutil.get_terminal_size() if interactive else os.terminal_size((80, 24))
        terminal = Terminal(width=size.columns, height=size.lines, colour=colour and interactive,
                            interactive=interactive, escapes=interactive)
        self.session = Session(instance, terminal=terminal, ask=self._ask)
        self.progress: dict = {}
        self.last: LastCommand | None = None
        self.started = time.monotonic()
        self.finished = False

    # Progress ---------------------------------------------------------------------------------
    @property
    def progress_file(self):  # noqa: ANN201 - a Path
        return self.instance.var / PROGRESS_FILE

    @property
    def index(self) -> int:
        return int(self.progress.get("step", 0))

    @property
    def step(self) -> Step | None:
        return self.scenario.steps[self.index] if self.index < len(self.scenario.steps) else None

    def save(self) -> None:
        now = time.monotonic()
        self.progress["elapsed"] = float(self.progress.get("elapsed", 0.0)) + now - self.started
        self.started = now
        if not self.verifying:
            write_json(self.progress_file, self.progress)

    def saved_progress(self) -> dict | None:
        """The progress of this scenario kept on the instance, if it is unfinished."""
        data = read_json(self.progress_file, None)
        if isinstance(data, dict) and data.get("scenario") == self.scenario.name and not data.get("done") \
                and isinstance(data.get("step"), int) and 0 <= data["step"] < len(self.scenario.steps):
            return data
        return None

    # Output -----------------------------------------------------------------------------------
    def paint(self, text: str, style: str) -> str:
        return f"\x1b[{_COLOURS[style]}m{text}\x1b[0m" if self.colour else text

    def say(self, text: str = "", style: str = "") -> None:
        self.out.write((self.paint(text, style) if style and text else text) + "\n")
        self.out.flush()

    def expand(self, text: str) -> str:
        """Fill in `{latest_full}` and the like from the backups in /data2/backup."""
        if "{" not in text:
            return text
        from alation_shell.backup.records import list_backups

        records = list_backups(self.instance)
        values = {}
        for kind in ("full", "incr"):
            found = [r for r in records if r.kind == kind]
            last = found[-1] if found else None
            alation = self.instance.shell_path(last.alation_file) if last else f"<no {kind} backup yet>"
            eb = self.instance.shell_path(last.eb_file) if last and last.eb_file else f"<no {kind} backup yet>"
            values[f"latest_{kind}"], values[f"latest_{kind}_eb"] = alation, eb
        for name in PLACEHOLDERS:
            text = text.replace("{" + name + "}", values[name])
        return text

    # The loop ---------------------------------------------------------------------------------
    def run(self, source: Source, *, fresh: bool = False) -> int:
        """Run (or resume) the walkthrough until it ends or the source runs dry; 0, or 1 if a demo failed."""
        self.source = source
        saved = None if fresh else self.saved_progress()
        self.say(self.paint(self.scenario.title, "title"))
        if saved is not None:
            self.progress = saved
            self.say(f"Resuming at step {self.index + 1} of {len(self.scenario.steps)}.")
        else:
            self.say(self.scenario.summary)
            self.progress = {"scenario": self.scenario.name, "step": 0, "hints": {}, "skipped": [], "elapsed": 0.0,
                             "wrong": 0, "done": False}
            self.apply_setup(self.scenario.setup, ("setup",))
        self.say(self.paint("Type the commands at the prompt; `hint`, `solution`, `skip`, `restart` and `quit` "
                            "help along the way.", "dim"))
        self.enter_step()
        while self.step is not None:
            line = source.read(self.session.prompt())
            if line is None:
                if self.verifying or getattr(source, "demo", False):
                    if not self.solution_failed():
                        return 1
                    continue
                self.quit()
                return 0
            if self.handle(line) == "quit":
                return 0
        self.finish()
        return 0

    def handle(self, line: str) -> str:
        """Run one line: a walkthrough word or a shell command; "quit" when the walkthrough is left."""
        word = line.strip()
        if not word:
            return ""
        if word in KEYWORDS:
            if self.recorder is not None:
                self.recorder.marker(word)
            return getattr(self, f"do_{word}")() or ""
        result = self.session.execute(line, live=(self.out, self.err))
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = []
        self.last = LastCommand(words, result.exit_code)
        reason = self.check()
        if reason is None:
            self.complete_step()
            return ""
        if result.stop:
            return self.quit()
        if result.exit_code == 130:  # stopped on purpose (Ctrl-C): not a mistake, no nudge
            self.say(self.paint(f"· interrupted; the step is not done: {reason}", "wrong"))
        elif result.exit_code != 0:
            self.progress["wrong"] = int(self.progress.get("wrong", 0)) + 1
            self.say(self.paint(f"✗ that command failed (exit {result.exit_code}); the step is not done: {reason}",
                                "wrong"))
            self.say(self.paint("  `hint` gives a nudge", "dim"))
        elif not getattr(self.source, "demo", False):  # a demo's next line is on its way: no noise
            self.say(self.paint(f"· not done yet: {reason}", "wrong"))
        self.save()
        return ""

    def check(self) -> str | None:
        """Why the current step is not done, or None when its check passes."""
        step = self.step
        if step is None or step.check is None:
            return None
        clock_start = self.progress.get("step_clock")
        state = State(
            self.instance, self.session.registry, baseline=self.progress.get("baseline"),
            step_clock=datetime.fromisoformat(clock_start) if clock_start else None, last=self.last,
            expand=self.expand,
        )
        return step.check.unmet(state)

    # Steps ------------------------------------------------------------------------------------
    def enter_step(self) -> None:
        """Show the current step and remember the state it starts from; it may be done already."""
        step = self.step
        if step is None:
            return
        self.last = None
        if self.recorder is not None:
            self.recorder.marker(f"Step {step.number}: {step.title}")
        if "snapshot" not in self.progress or self.progress.get("snapshot_step") != self.index:
            if step.setup:
                self.apply_setup(step.setup, ("steps", self.index, "setup"))
            self.progress["snapshot"] = self._snapshot()
            self.progress["snapshot_step"] = self.index
            self.progress["step_clock"] = clock.now(self.instance).isoformat()
        self.save()
        self.say()
        self.say(self.paint(f"── Step {step.number} of {len(self.scenario.steps)}: {step.title} ──", "title"))
        self.say(self.expand(step.instruction).rstrip("\n"))
        if self.check() is None:
            if self.verifying:
                self.failures.append(Mistake(("steps", self.index, "check"),
                                             f"step {step.number}'s check already passes before anything is done"))
            self.say(self.paint(f"✓ Step {step.number} is already done.", "done"))
            self.advance()

    def complete_step(self) -> None:
        step = self.step
        assert step is not None
        self.say(self.paint(f"✓ Step {step.number} done.", "done"))
        self.advance()

    def advance(self) -> None:
        self.progress["step"] = self.index + 1
        self.progress.pop("snapshot", None)
        self.save()
        self.enter_step()

    def solution_failed(self) -> bool:
        """A demo or `--check` typed the whole solution and the step is not done: report; True to go on."""
        step = self.step
        assert step is not None
        reason = self.check() or "?"
        if self.verifying:
            self.failures.append(Mistake(("steps", self.index, "solution"),
                                         f"the solution of step {step.number} does not pass its check: {reason}"))
            self.advance()
            return True
        self.say(self.paint(f"✗ the solution of step {step.number} did not pass its check: {reason}", "wrong"))
        return False

    # The trainee's words ----------------------------------------------------------------------
    def do_hint(self) -> None:
        step = self.step
        assert step is not None
        hints = self.progress.setdefault("hints", {})
        used = int(hints.get(str(self.index), 0))
        if not step.hints:
            self.say(self.paint("No hints for this step; `solution` shows the commands.", "hint"))
            return
        if used >= len(step.hints):
            self.say(self.paint(f"That was the last hint ({used} of {len(step.hints)}); `solution` shows the "
                                "commands.", "hint"))
            return
        hints[str(self.index)] = used + 1
        self.say(self.paint(f"hint {used + 1} of {len(step.hints)}: {self.expand(step.hints[used])}", "hint"))
        self.save()

    def do_solution(self) -> None:
        step = self.step
        assert step is not None
        self.progress.setdefault("solutions_shown", [])
        if self.index not in self.progress["solutions_shown"]:
            self.progress["solutions_shown"].append(self.index)
        self.say(self.paint("The solution:", "hint"))
        for line in step.solution:
            self.say(self.paint(f"  {self.expand(line)}", "hint"))
        self.save()

    def do_skip(self) -> None:
        """Type the solution for the trainee (answers to confirmations come from the solution too)."""
        step = self.step
        assert step is not None
        self.progress.setdefault("skipped", []).append(self.index)
        queue = [self.expand(line) for line in step.solution]
        outer = self.source
        self.source = _Queue(queue, self.out)
        try:
            while queue and self.step is step:
                line = queue.pop(0)
                self.out.write(self.session.prompt() + line + "\n")
                self.handle(line)
        finally:
            self.source = outer
        if self.step is step:
            self.say(self.paint(f"✗ the solution did not finish the step: {self.check()}", "wrong"))

    def do_restart(self) -> None:
        """Put the settings back as they were when the step began, apply the step's setup, show it again."""
        snapshot = self.progress.get("snapshot") or {}
        for rel, text in snapshot.items():
            path = self.instance.root / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, text.encode())
        self.progress.pop("snapshot", None)
        self.say(self.paint("Settings are back as they were when the step began (backups and the clock stay).",
                            "dim"))
        self.enter_step()

    def do_quit(self) -> str:
        return self.quit()

    def quit(self) -> str:
        self.save()
        self.say()
        self.say(f"Progress saved at step {self.index + 1} of {len(self.scenario.steps)}. Resume with: "
                 f"{self.resume_command}")
        return "quit"

    # Setup and the end ------------------------------------------------------------------------
    def _setup_command(self, line: str, where: tuple) -> None:
        result = self.session.execute(line)
        if result.exit_code != 0:
            message = (result.stderr.strip().splitlines() or ["failed"])[-1]
            if self.verifying:
                self.failures.append(Mistake(where, f"the setup failed: `{line}`: {message}"))
                return
            raise ScenarioError(f"{self.scenario.source}: the setup failed: `{line}`: {message}")

    def apply_setup(self, setup: Setup, where: tuple) -> None:
        """Settings (in effect, as after their restarts), clock, scheduled backups, then deleted rows."""
        from alation_shell.backup import schedule
        from alation_shell.node import supervisord
        from alation_shell.node.catalog import CATALOG_TABLES

        instance = self.instance
        if setup.settings:
            pairs = " ".join(f"{p.name} -s {shlex.quote(raw)}" for p, raw in setup.settings)
            self._setup_command(f"alation_conf {pairs}", (*where, "settings"))
            supervisord.clear_pending_restarts(instance, list(supervisord.pending_restarts(instance)))
            schedule.record_in_effect(instance, self.session.registry)
        if setup.advance:
            self._setup_command(f"sim advance {setup.advance}", (*where, "advance"))
        for _ in range(setup.backups):
            sched, _waiting = schedule.in_effect(instance, self.session.registry)
            now = clock.now(instance)
            seconds = math.ceil((sched.next_due(now) - now).total_seconds())
            self._setup_command(f"sim advance {max(seconds, 1)}s", (*where, "backups"))
        self.progress["baseline"] = {table: count_rows(instance, table) for table in CATALOG_TABLES}
        if setup.delete_rows:
            con = sqlite3.connect(instance.root / CATALOG_DB, timeout=30)
            try:
                with con:
                    for table, count in setup.delete_rows:
                        con.execute(f'DELETE FROM "{table}" WHERE rowid IN '
                                    f'(SELECT rowid FROM "{table}" ORDER BY rowid DESC LIMIT ?)', (count,))
            finally:
                con.close()

    def finish(self) -> None:
        """All steps done: fast-forward the clock, draw the backups, sum up."""
        if self.finished:
            return
        self.finished = True
        total = len(self.scenario.steps)
        self.say()
        self.say(self.paint(f"✓ All {total} steps done.", "done"))
        if self.scenario.finish_message:
            self.say(self.expand(self.scenario.finish_message).rstrip("\n"))
        if self.recorder is not None:
            self.recorder.marker("Finish")
        if self.scenario.finish_advance and not self.verifying:
            self.say()
            self.say(self.paint(f"Fast-forwarding the virtual clock: sim advance {self.scenario.finish_advance}",
                                "title"))
            self.session.execute(f"sim advance {self.scenario.finish_advance}", live=(self.out, self.err))
            self.say()
            self.say(self.paint("The backups this left in /data2/backup: sim backups", "title"))
            self.session.execute("sim backups", live=(self.out, self.err))
        self.progress["done"] = True
        self.save()
        hints = sum(int(n) for n in self.progress.get("hints", {}).values())
        skipped = len(self.progress.get("skipped", []))
        self.say()
        self.say(f"Time taken: {_duration(float(self.progress.get('elapsed', 0.0)))}; hints used: {hints}; "
                 f"solutions shown: {len(self.progress.get('solutions_shown', []))}; steps skipped: {skipped}.")

    def _snapshot(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for rel in SNAPSHOT:
            try:
                found[rel] = (self.instance.root / rel).read_text(encoding="utf-8")
            except FileNotFoundError:
                found[rel] = None
        return found

    def _ask(self, question: str) -> str | None:
        if self.source is None:
            return None
        return self.source.answer(question)


class _Queue:
    """The source `skip` uses: the rest of the solution answers the confirmations it asks for."""

    def __init__(self, lines: list[str], out: TextIO) -> None:
        self.lines = lines
        self.out = out

    def read(self, prompt: str) -> str | None:
        return self.lines.pop(0) if self.lines else None

    def answer(self, question: str) -> str | None:
        answer = self.lines.pop(0) if self.lines else None
        self.out.write(question + (answer or "") + "\n")
        return answer


class LineSource:
    """Lines from a pipe or a file; each shown after the prompt, so the transcript reads as a session."""

    def __init__(self, lines, out: TextIO, *, echo: bool = True, recorder: Recorder | None = None) -> None:  # noqa: ANN001
        self.lines = iter(lines)
        self.out = out
        self.echo = echo
        self.recorder = recorder

    def _next(self) -> str | None:
        raw = next(self.lines, None)
        if raw is None:
            return None
        line = raw.rstrip("\r\n")
        if self.recorder is not None:
            self.recorder.input(line + "\r")
        return line

    def read(self, prompt: str) -> str | None:
        line = self._next()
        if line is not None and self.echo:
            self.out.write(prompt + line + "\n")
            self.out.flush()
        return line

    def answer(self, question: str) -> str | None:
        self.out.write(question)
        line = self._next()
        self.out.write((line if line is not None and self.echo else "") + "\n")
        self.out.flush()
        return line


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def verify(scenario: Scenario) -> list[Mistake]:
    """Play every step's solution on a scratch instance of its own: the mistakes that shows."""
    import io
    import tempfile

    from alation_shell.training.demo import DemoSource

    with tempfile.TemporaryDirectory(prefix="alation-walkthrough-check-") as tmp:
        instance = Instance(f"{tmp}/instance")
        create_instance(instance)
        out = io.StringIO()
        walk = Walkthrough(scenario, instance, out, verifying=True)
        try:
            walk.run(DemoSource(walk, out, speed=None), fresh=True)
        except ShellError as exc:
            walk.failures.append(Mistake(("steps", walk.index), f"the solution run stopped: {exc.message}"))
        return walk.failures
