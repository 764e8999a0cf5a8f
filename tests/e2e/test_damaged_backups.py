"""Hostile tarballs in /data2/backup through the installed shell: a clear line naming the file, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alation_shell.instance import Instance
from alation_shell.session import Session
from tests.backup import Opens, hostile_nested, hostile_string
from tests.conftest import env_for, tool

# Runs a command and reports its exit status, output and peak memory (the largest resident set of it and
# of every process it waited for), as the kernel accounted it.
MEASURE = """\
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([done.returncode, done.stdout, done.stderr, peak * 1024]))
"""
PEAK_LIMIT = 300 << 20


def measured(instance: Instance, line: str) -> tuple[int, str, str, int]:
    done = subprocess.run([sys.executable, "-c", MEASURE, tool("alation-shell"), "-c", line],
                          capture_output=True, text=True, env=env_for(instance.root), timeout=120, check=True)
    return tuple(json.loads(done.stdout))


def only_line_naming(text: str, name: str) -> str:
    (line,) = [line for line in text.splitlines() if name in line]
    return line


@pytest.mark.parametrize("line", ["sim backups", "sim verify", "alation_action backup_all"])
def test_hostile_tarballs_through_alation_shell_c(instance: Instance, line: str) -> None:
    directory = instance.real_path("/data2/backup")
    directory.mkdir(parents=True, exist_ok=True)
    nested, string = hostile_nested(directory), hostile_string(directory)
    opens = Opens(nested, string)
    for run in range(2):
        status, out, err, peak = measured(instance, line)
        assert opens.seen() == (2 if run == 0 else 0)  # each read once, then known from what that found
        assert status == (1 if line == "sim verify" else 0), err
        assert "Traceback" not in out + err and "internal error" not in err
        assert peak < PEAK_LIMIT, f"{line}: peak resident memory {peak >> 20} MiB"
        assert "nests deeper than its format" in only_line_naming(out + err, nested.name)
        assert "its manifest would be" in only_line_naming(out + err, string.name)
    if line == "alation_action backup_all":  # each run said so in the backup log
        log = instance.backup_log.read_text().splitlines()
        for path in (nested, string):
            said = [line for line in log if path.name in line]
            assert len(said) == 2 and all(line.endswith("; not used as a backup") for line in said)
    opens.close()


def test_hostile_tarballs_through_a_session(instance: Instance) -> None:
    directory = instance.real_path("/data2/backup")
    directory.mkdir(parents=True, exist_ok=True)
    nested, string = hostile_nested(directory), hostile_string(directory)
    shell = Session(instance)
    for line, status in (("sim backups", 0), ("sim verify", 1), ("alation_action backup_all", 0),
                         ("sim backups", 0)):
        result = shell.execute(line)
        assert result.exit_code == status, result.stderr
        for path in (nested, string):
            only_line_naming(result.stdout + result.stderr, path.name)
    result = shell.execute("sim backups")
    assert sum(" full " in row for row in result.stdout.splitlines()) == 1  # the one backup_all took
