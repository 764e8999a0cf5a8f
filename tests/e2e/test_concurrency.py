"""Two processes setting different parameters 500 times each at the same time lose no update."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import env_for, tool

A = "alation.backup.chef_timeout"
B = "alation.hydra_node.agent.port"
ROUNDS = 500


def script(mine: str, other: str) -> str:
    return "".join(f"alation_conf {mine} -s {1000 + i}\nalation_conf {other}\n" for i in range(ROUNDS))


def observed(output: str, name: str) -> list[int]:
    return [int(line.split(" = ")[1]) for line in output.splitlines() if line.startswith(name + " = ")]


def test_concurrent_sets_lose_no_update(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    env = env_for(home)
    subprocess.run([tool("alation-shell"), "-c", "alation_conf --changed"], env=env, check=True, capture_output=True)
    procs = [
        subprocess.Popen([tool("alation-shell")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outs = [p.communicate(s, timeout=240) for p, s in zip(procs, (script(A, B), script(B, A)), strict=True)]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    for (out, _), mine, other in ((outs[0], A, B), (outs[1], B, A)):
        # Every set printed its own value back, and the other process's value never went backwards.
        assert observed(out, mine) == [1000 + i for i in range(ROUNDS)]
        seen = [v for v in observed(out, other) if v != {A: 21600, B: 81}[other]]
        assert seen == sorted(seen)
    final = subprocess.run([tool("alation-shell"), "-c", f"alation_conf {A} {B}"], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert final == f"{A} = {1000 + ROUNDS - 1}\n{B} = {1000 + ROUNDS - 1}\n"


SETTER = """
import sys
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
reg = Registry.for_instance(Instance(sys.argv[1]))
mine, other = sys.argv[2], sys.argv[3]
last_other = 0
for i in range(500):
    reg.set_many([(mine, str(30000 + i))])  # above both defaults (21600 and 81)
    seen = reg.get(other)
    if seen < last_other:
        sys.exit(f"{other} went back from {last_other} to {seen}: an update was lost")
    last_other = seen
"""


def test_tight_loops_in_two_processes_lose_no_update(tmp_path: Path) -> None:
    import sys

    home = tmp_path / "instance"
    subprocess.run([tool("alation-shell"), "init", "--home", str(home)], check=True, capture_output=True)
    procs = [
        subprocess.Popen([sys.executable, "-c", SETTER, str(home), mine, other], stderr=subprocess.PIPE, text=True)
        for mine, other in ((A, B), (B, A))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    final = subprocess.run([tool("alation-shell"), "--home", str(home), "-c", f"alation_conf {A} {B}"],
                           capture_output=True, text=True, check=True).stdout
    assert final == f"{A} = {30000 + ROUNDS - 1}\n{B} = {30000 + ROUNDS - 1}\n"
