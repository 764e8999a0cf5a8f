#!/usr/bin/env python3
"""Latency of the shell's completer over the whole parameter catalog (goal: p99 < 5 ms).

Queries: every prefix of every parameter name, a fuzzy subsequence of every name, the values after every
name, and every prefix of every command name. Runs on a throwaway instance; prints median and p99 in ms.

    .venv/bin/python scripts/bench_completer.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from alation_shell.commands import COMMANDS
from alation_shell.config.catalog import catalog
from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance
from alation_shell.session import Session
from alation_shell.shell.completion import ShellCompleter

GOAL_P99_MS = 5.0


def queries() -> list[str]:
    """The lines completed, as typed up to the cursor."""
    lines = []
    for param in catalog().parameters:
        name = param.name
        lines += [f"alation_conf {name[:i]}" for i in range(len(name) + 1)]
        # A fuzzy query: the first letter of each segment, then every third letter of the last one.
        segments = name.replace("_", ".").split(".")
        lines.append("alation_conf " + "".join(s[:1] for s in segments) + segments[-1][1::3])
        lines.append(f"alation_conf {name} -s ")
        lines.append(f"alation_conf -s 4 {name[:8]}")
    for command in COMMANDS.visible():
        lines += [command.name[:i] for i in range(len(command.name) + 1)]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each query is completed (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Instance(Path(tmp) / "instance")
        create_instance(instance)
        completer = ShellCompleter(Session(instance))
        completer.refresh()
        lines = queries()
        event = CompleteEvent(completion_requested=True)
        for line in lines:  # warm up: imports, catalog load, regex compilation
            list(completer.get_completions(Document(line), event))
        samples = []
        offered = 0
        for _ in range(args.rounds):
            for line in lines:
                document = Document(line)
                start = time.perf_counter_ns()
                offered += len(list(completer.get_completions(document, event)))
                samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"completer: {len(lines)} queries x {args.rounds} rounds, {len(catalog())} parameters, "
          f"{offered // args.rounds} completions offered per round")
    print(f"median {median:.3f} ms   p99 {p99:.3f} ms   max {samples[-1]:.3f} ms   "
          f"(goal p99 < {GOAL_P99_MS:g} ms: {'met' if p99 < GOAL_P99_MS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
