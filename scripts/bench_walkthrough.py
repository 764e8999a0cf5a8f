#!/usr/bin/env python3
"""Walkthrough benchmark (issue 12): a step's check, and the seed scenario's instant demo.

1. Every shipped scenario is played (its solutions typed) on a scratch instance; before each line is typed
   the current step's check runs `--checks` times against the state the last command left. The figure is
   the p99 of all those checks. Goal: under 20 ms.
2. `alation-shell walkthrough incremental-backups --demo --speed instant` (a fresh default-size instance, the
   steps, and its week of backups), run end to end `--runs` times as a user runs it. Goal: under 3 s.

    .venv/bin/python scripts/bench_walkthrough.py [--checks 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance
from alation_shell.training.demo import DemoSource
from alation_shell.training.scenario import available, load
from alation_shell.training.walkthrough import Walkthrough


class TimedSource(DemoSource):
    """The instant demo's typist, timing the current step's check before it types each line."""

    def __init__(self, walk: Walkthrough, out: io.StringIO, checks: int, samples: list[float]) -> None:
        super().__init__(walk, out, speed=None)
        self.checks = checks
        self.samples = samples

    def read(self, prompt: str) -> str | None:
        if self.walk.step is not None:
            for _ in range(self.checks):
                start = time.perf_counter()
                self.walk.check()
                self.samples.append(time.perf_counter() - start)
        return super().read(prompt)


def check_times(checks: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for name, path in available().items():
        samples: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            instance = Instance(Path(tmp) / "instance")
            create_instance(instance)
            out = io.StringIO()
            walk = Walkthrough(load(path), instance, out)
            status = walk.run(TimedSource(walk, out, checks, samples), fresh=True)
            if status != 0:
                raise SystemExit(f"{name}: the demo failed:\n{out.getvalue()}")
        found[name] = samples
    return found


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=50, help="checks timed before each typed line (default 50)")
    parser.add_argument("--runs", type=int, default=5, help="runs of the instant demo (default 5)")
    opts = parser.parse_args()

    times = check_times(opts.checks)
    every = [t for samples in times.values() for t in samples]
    for name, samples in times.items():
        print(f"check  {name:<22} {len(samples):5} checks  median {statistics.median(samples) * 1e3:6.2f} ms  "
              f"p99 {p99(samples) * 1e3:6.2f} ms  max {max(samples) * 1e3:6.2f} ms")
    print(f"check  all scenarios          p99 {p99(every) * 1e3:.2f} ms (goal < 20 ms)")

    entry = str(Path(sys.executable).parent / "alation-shell")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_DATA_HOME=tmp, ALATION_SHELL_HOME=f"{tmp}/everyday")
        for _ in range(opts.runs):
            start = time.perf_counter()
            subprocess.run([entry, "walkthrough", "incremental-backups", "--demo", "--speed", "instant"],
                           stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, check=True)
            runs.append(time.perf_counter() - start)
    print(f"demo   incremental-backups --speed instant: median {statistics.median(runs):.2f} s, "
          f"max {max(runs):.2f} s over {len(runs)} runs (goal < 3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
