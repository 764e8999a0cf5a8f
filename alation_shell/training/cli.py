"""`alation-shell walkthrough`: list scenarios, run one (or play it as a demo), or check a trainer's file."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance, open_instance

USAGE = """\
usage: alation-shell walkthrough [--dir DIR]                 list the scenarios
       alation-shell walkthrough NAME [--home DIR] [--fresh] [--record FILE.cast [--record-input]]
       alation-shell walkthrough NAME --demo [--speed 1.0|instant] [--record FILE.cast]
       alation-shell walkthrough --check FILE [FILE ...]

Guided exercises on an instance of their own (an addition of this emulator). Each step shows what to do;
type the commands at the prompt, and the step is checked by the state they leave. At the prompt:
`hint` (again for the next one), `solution`, `skip` (does the step), `restart` (the step over), `quit`
(progress is kept: the same command resumes).

options:
  NAME                  a scenario name from the list, or a scenario file (.toml)
  --dir DIR             also the scenarios in DIR (a trainer's own)
  --home DIR            run on the instance at DIR instead of a walkthrough instance of its own
  --fresh               start over instead of resuming
  --demo                play the scenario by itself, typing each command (a key pauses and resumes)
  --speed S             demo typing speed: 1.0 is a steady typist, 2 twice as fast, `instant` no typing
  --record FILE.cast    record the session as asciicast v2 (asciinema play FILE.cast)
  --record-input        also record what is typed (off by default: typed passwords must not be kept)
  --check FILE          validate a scenario file: every mistake with its line, and its solution played
"""


class Options:
    __slots__ = ("name", "dirs", "home", "fresh", "demo", "speed", "record", "record_input", "check")

    def __init__(self) -> None:
        self.name: str | None = None
        self.dirs: list[str] = []
        self.home: str | None = None
        self.fresh = False
        self.demo = False
        self.speed: float | None = 1.0
        self.record: str | None = None
        self.record_input = False
        self.check: list[str] = []


class UsageProblem(Exception):
    pass


def parse(argv: list[str], home: str | None) -> Options:
    opts = Options()
    opts.home = home
    i = 0

    def value(flag: str) -> str:
        nonlocal i
        if i + 1 >= len(argv):
            raise UsageProblem(f"{flag} needs a value")
        i += 1
        return argv[i]

    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            raise UsageProblem("")
        if arg == "--dir":
            opts.dirs.append(value(arg))
        elif arg == "--home":
            opts.home = value(arg)
        elif arg == "--fresh":
            opts.fresh = True
        elif arg == "--demo":
            opts.demo = True
        elif arg == "--speed":
            text = value(arg)
            if text == "instant":
                opts.speed = None
            else:
                try:
                    opts.speed = float(text)
                except ValueError:
                    opts.speed = 0.0
                if not 0.05 <= opts.speed <= 100:
                    raise UsageProblem(f"--speed expects a number from 0.05 to 100 or `instant`, not {text!r}")
        elif arg == "--record":
            opts.record = value(arg)
        elif arg == "--record-input":
            opts.record_input = True
        elif arg == "--check":
            opts.check.append(value(arg))
        elif arg.startswith("-"):
            raise UsageProblem(f"unknown option {arg!r}")
        elif opts.check:
            opts.check.append(arg)
        elif opts.name is None:
            opts.name = arg
        else:
            raise UsageProblem(f"unexpected argument {arg!r} (one scenario NAME at a time)")
        i += 1
    if opts.check and (opts.name or opts.demo):
        raise UsageProblem("--check takes scenario files only")
    if (opts.demo or opts.record or opts.fresh) and not opts.name:
        raise UsageProblem("name the scenario to run (the list: alation-shell walkthrough)")
    if opts.record_input and not opts.record:
        raise UsageProblem("--record-input goes with --record FILE.cast")
    return opts


def main(argv: list[str], home: str | None = None) -> int:
    """`alation-shell walkthrough ...`; `home` is a `--home` given before the subcommand."""
    try:
        opts = parse(argv, home)
    except UsageProblem as exc:
        if str(exc):
            print(f"alation-shell walkthrough: {exc}", file=sys.stderr)
            print("usage: alation-shell walkthrough [NAME] (--help for more)", file=sys.stderr)
            return 2
        sys.stdout.write(USAGE)
        return 0
    try:
        if opts.check:
            return check_files(opts.check)
        if opts.name is None:
            return list_scenarios(opts.dirs)
        return run(opts)
    except ShellError as exc:
        print(f"alation-shell walkthrough: {exc.message}", file=sys.stderr)
        return exc.exit_code


def list_scenarios(dirs: list[str]) -> int:
    for line in scenario_list(dirs):
        print(line)
    return 0


def scenario_list(dirs: list[str], command: str = "alation-shell walkthrough") -> list[str]:
    """The scenarios, a line each: name, steps, minutes and summary."""
    from alation_shell.training.scenario import available, load

    lines = [f"Walkthroughs (`{command} NAME` runs one; `--demo` plays it by itself):"]
    for name, path in available(dirs).items():
        try:
            scenario = load(path)
        except ShellError as exc:
            lines.append(f"  {name:<22} cannot be used: {exc.message}")
            continue
        steps = len(scenario.steps)
        plural = "s" if steps != 1 else ""
        lines.append(f"  {name:<22} {steps} step{plural}, ~{scenario.minutes} min  {scenario.summary}")
    return lines


def check_files(paths: list[str]) -> int:
    """Every mistake of each file, `FILE:LINE: message`; then its solution played on a scratch instance."""
    from alation_shell.training.scenario import Report, parse
    from alation_shell.training.walkthrough import verify

    status = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            status = 1
            continue
        report = Report(path)
        scenario = parse(text, path, report)
        if scenario is not None:
            for mistake in verify(scenario):
                report.add(scenario.line_of(mistake.path), mistake.message)
        if report.mistakes:
            for line in report.lines():
                print(line)
            count = len(report.mistakes)
            print(f"{path}: {count} mistake{'s' if count != 1 else ''}", file=sys.stderr)
            status = 1
        else:
            assert scenario is not None
            print(f"{path}: OK, {len(scenario.steps)} steps; every solution passes its check")
    return status


def walkthrough_home(name: str) -> Path:
    """Where a scenario's own instance lives: the user data dir's `alation-shell/walkthroughs/NAME`."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(base) / "alation-shell" / "walkthroughs" / name
    import platformdirs

    return Path(platformdirs.user_data_dir("alation-shell", appauthor=False)) / "walkthroughs" / name


def run(opts: Options) -> int:
    from alation_shell.training.scenario import find
    from alation_shell.training.walkthrough import Walkthrough

    assert opts.name is not None
    scenario = find(opts.name, opts.dirs)
    scratch: str | None = None
    if opts.home is not None:
        instance = open_instance(opts.home)
    elif opts.demo:
        scratch = tempfile.mkdtemp(prefix=f"alation-demo-{scenario.name}-")
        instance = Instance(Path(scratch) / "instance")
        create_instance(instance)
    else:
        instance = Instance(walkthrough_home(scenario.name))
        if instance.root.exists() and not instance.is_initialized() and any(instance.root.iterdir()):
            raise ShellError(f"{instance.root} is not an instance; remove it or use --home DIR")
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    colour = terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    recorder = None
    out, err = sys.stdout, sys.stderr
    if opts.record:
        from alation_shell.training.asciicast import Recorder, terminal_size, watch_resizes

        width, height = terminal_size(sys.stdout)
        recorder = Recorder(opts.record, width=width, height=height, title=scenario.title,
                            record_input=opts.record_input)
        watch_resizes(recorder, sys.stdout)
        out, err = recorder.tap(sys.stdout), recorder.tap(sys.stderr)
    resume = "alation-shell walkthrough " + (opts.name if opts.home is None else f"{opts.name} --home {opts.home}")
    try:
        walk = Walkthrough(scenario, instance, out, err, interactive=terminal and not opts.demo, colour=colour,
                           recorder=recorder, resume_command=resume)
        fresh = opts.fresh or opts.demo or walk.saved_progress() is None
        if fresh and opts.home is None and not opts.demo:
            if instance.is_initialized():
                instance.remove()
            create_instance(instance)
        if opts.demo:
            return _demo(walk, out, opts, terminal)
        if terminal:
            from alation_shell.training.terminal import PromptSource

            return walk.run(PromptSource(walk, out, colour=colour, recorder=recorder), fresh=fresh)
        from alation_shell.training.walkthrough import LineSource

        return walk.run(LineSource(sys.stdin, out, recorder=recorder), fresh=fresh)
    finally:
        if recorder is not None:
            recorder.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _demo(walk, out, opts: Options, terminal: bool) -> int:  # noqa: ANN001
    from alation_shell.training.demo import DemoSource, KeyPause

    if terminal and opts.speed is not None:
        with KeyPause() as keys:
            return walk.run(DemoSource(walk, out, speed=opts.speed, keys=keys), fresh=True)
    return walk.run(DemoSource(walk, out, speed=opts.speed), fresh=True)
