#!/usr/bin/env python3
"""Startup benchmark: a piped one-command session against bare `python -c pass`, side by side.

Both run with the same interpreter binary (this venv's python, not a shell shim), alternating run by run so
that machine noise hits both alike; the figure is the ratio of the medians. Goal (issue 2): 3 or less.

    .venv/bin/python scripts/bench_startup.py [--runs 60]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = b"alation_conf alation.backup_v2.incr_backup\n"


def timed(args: list[str], stdin: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, input=stdin, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs of each (default 60)")
    opts = parser.parse_args()
    python = sys.executable
    entry = str(Path(python).parent / "alation-shell")
    # An installed package has its bytecode compiled (pip does it); an editable checkout may not.
    compileall.compile_dir(str(ROOT / "alation_shell"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ALATION_SHELL_HOME=str(Path(tmp) / "instance"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        setup = (
            b"alation_conf alation.backup_v2.incr_backup -s True\n"
            b"alation_conf alation.backup_v2.incr_backup_versions -s 4\n"
        )
        subprocess.run([python, entry], input=setup, env=env, check=True, capture_output=True)
        out = subprocess.run([python, entry], input=COMMAND, env=env, check=True, capture_output=True).stdout
        assert out == b"alation.backup_v2.incr_backup = True\n", out
        bare, shell = [], []
        for _ in range(3):  # warm the page cache
            timed([python, "-c", "pass"], b"", env)
            timed([python, entry], COMMAND, env)
        for _ in range(opts.runs):
            bare.append(timed([python, "-c", "pass"], b"", env))
            shell.append(timed([python, entry], COMMAND, env))
    b, s = statistics.median(bare), statistics.median(shell)
    print(f"interpreter: {python}")
    print(f"runs: {opts.runs} each, alternating")
    print(f"python -c pass                        median {b * 1000:6.1f} ms")
    print(f"piped `{COMMAND.decode().strip()}`  median {s * 1000:6.1f} ms")
    print(f"ratio (goal <= 3.0): {s / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
