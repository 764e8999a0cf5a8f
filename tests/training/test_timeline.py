"""`sim backups`: the timeline a person reads, and `--json` for scripts."""

from __future__ import annotations

import json

from alation_shell.backup.records import list_backups
from alation_shell.instance import Instance
from alation_shell.session import Session
from alation_shell.terminal import Terminal
from alation_shell.training.timeline import BAR_WIDTH, bar

SEED = ("alation_conf alation.backup_v2.incr_backup -s True",
        "alation_conf alation.backup_v2.incr_backup_versions -s 2", "sim advance 6d")
ESC = "\x1b"


def run(shell: Session, line: str) -> str:
    result = shell.execute(line)
    assert result.ok, result.stderr
    return result.stdout


def two_cycles(shell: Session) -> None:
    for line in SEED:
        run(shell, line)


def test_rows_join_each_incremental_to_its_full_and_rules_mark_cycles(shell: Session) -> None:
    two_cycles(shell)
    lines = run(shell, "sim backups").splitlines()
    assert [line[22:29] for line in lines] == [
        "┌ full ", "├ incr ", "└ incr ", "───────", "┌ full ", "├ incr ", "└ incr ",
    ]
    assert lines[3].startswith("── cycle 2 ")
    assert lines[1].endswith("base 202603030100") and lines[6].endswith("base 202603060100")
    assert ESC not in "".join(lines)  # not interactive: no escape codes


def test_bars_are_scaled_to_the_largest_backup(shell: Session, instance: Instance) -> None:
    two_cycles(shell)
    records = list_backups(instance)
    largest = max(r.size for r in records)
    lines = [line for line in run(shell, "sim backups").splitlines() if not line.startswith("──")]
    for line, record in zip(lines, records, strict=True):
        drawn = line[30:30 + BAR_WIDTH].rstrip()
        assert drawn == bar(record.size, largest)
        cells = drawn.count("█") + (0 if drawn.endswith("█") else 1)
        assert abs(cells - record.size / largest * BAR_WIDTH) <= 1
    assert bar(largest, largest) == "█" * BAR_WIDTH
    assert bar(1, largest) == "▏"  # any backup shows


def test_colour_only_for_a_person_at_a_terminal(instance: Instance) -> None:
    two_cycles(Session(instance))
    xterm = Terminal.of_client({"TERM": "xterm"}, 80, 24, pty=True)
    coloured = run(Session(instance, terminal=xterm), "sim backups")
    assert f"{ESC}[1;34mfull" in coloured and f"{ESC}[36mincr" in coloured
    no_colour = Terminal.of_client({"TERM": "xterm", "NO_COLOR": "1"}, 80, 24, pty=True)
    assert ESC not in run(Session(instance, terminal=no_colour), "sim backups")
    assert ESC not in run(Session(instance), "sim backups")  # a pipe


def test_json_has_the_documented_fields(shell: Session, instance: Instance) -> None:
    two_cycles(shell)
    rows = json.loads(run(shell, "sim backups --json"))
    assert [(r["kind"], r["base"], r["cycle"]) for r in rows] == [
        ("full", None, 1), ("incr", "202603030100", 1), ("incr", "202603030100", 1),
        ("full", None, 2), ("incr", "202603060100", 2), ("incr", "202603060100", 2),
    ]
    first = rows[1]
    assert set(first) == {"label", "time", "kind", "format", "size", "base", "cycle", "files"}
    assert first["time"] == "2026-03-04T01:00:00+00:00" and first["format"] == "v2"
    assert first["files"] == ["/data2/backup/202603040100_17-0-0-49181_alation_incr_backup.tar.gz",
                              "/data2/backup/202603040100_17-0-0-49181_alation_eb_incr_backup.tar.gz"]
    assert first["size"] == sum((instance.root / f.lstrip("/")).stat().st_size for f in first["files"])


def test_json_with_no_backups_is_an_empty_list(shell: Session) -> None:
    assert json.loads(run(shell, "sim backups --json")) == []


def test_other_arguments_are_refused(shell: Session) -> None:
    result = shell.execute("sim backups --yaml")
    assert result.exit_code == 2 and "backups takes no argument but --json" in result.stderr
