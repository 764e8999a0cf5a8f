"""The seed's procedure end to end: the installed alation-shell, piped stdin, a temp instance, GNU tar."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import env_for, tool

SEED = """\
alation_conf alation.backup_v2.incr_backup -s True
alation_conf alation.backup_v2.incr_backup_versions -s {versions}
"""
BUILD = "17-0-0-49181"


def shell(home: Path, script: str, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([tool("alation-shell")], input=script, capture_output=True, text=True,
                            env=env_for(home), timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def timeline(home: Path) -> list[tuple[str, str, str | None]]:
    """`sim backups --json` as (weekday, kind, base) rows."""
    rows = json.loads(shell(home, "sim backups --json\n").stdout)
    return [(f"{datetime.fromisoformat(r['time']):%a}", r["kind"], r["base"]) for r in rows]


def label(day: int, hhmm: str = "0100") -> str:
    return f"202603{day:02d}{hhmm}"


def state(home: Path) -> dict[str, str]:
    """What a restore brings back: catalog rows, site data and event-bus files."""
    files = {}
    for tree in ("data1/site_data", "data1/eventbus"):
        for path in sorted((home / tree).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    con = sqlite3.connect(home / "data1/pgsql/rosemeta.db")
    try:
        files["rows"] = hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()
    return files


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "instance"


def test_seed_example_one_week(home: Path) -> None:
    out = shell(home, SEED.format(versions=4) + "sim advance 7d\nsim backups\nls -l /data2/backup\n").stdout
    full1, full2 = label(3), label(8)
    assert timeline(home) == [
        ("Tue", "full", None), ("Wed", "incr", full1), ("Thu", "incr", full1), ("Fri", "incr", full1),
        ("Sat", "incr", full1), ("Sun", "full", None), ("Mon", "incr", full2),
    ]
    # `ls -l /data2/backup` shows each backup as an alation / eb pair named as on a real server.
    listed = re.findall(r"\S+\.tar\.gz", out)  # only `ls` prints file names
    expected = []
    for day in range(3, 10):
        incr = "" if day in (3, 8) else "incr_"
        expected += [f"{label(day)}_{BUILD}_alation_{incr}backup.tar.gz",
                     f"{label(day)}_{BUILD}_alation_eb_{incr}backup.tar.gz"]
    assert sorted(set(listed)) == sorted(expected)
    for name in expected:
        assert (home / "data2/backup" / name).is_file()


def test_six_versions_is_a_full_once_a_week(home: Path) -> None:
    shell(home, SEED.format(versions=6) + "sim advance 15d\n")
    rows = timeline(home)
    assert [i for i, (_, kind, _) in enumerate(rows) if kind == "full"] == [0, 7, 14]
    assert {base for _, kind, base in rows[8:14]} == {label(10)}


def test_incremental_off_every_backup_full(home: Path) -> None:
    shell(home, "alation_conf alation.backup_v2.incr_backup -s False\nsim advance 3d\n")
    assert [kind for _, kind, _ in timeline(home)] == ["full"] * 3


def test_backup_all_by_hand_and_a_changed_parameter(home: Path) -> None:
    shell(home, SEED.format(versions=4) + "sim advance 2d\nalation_action backup_all\nsim advance 1d\n")
    rows = timeline(home)
    # The hand-run backup (Wed 09:00) took the next place: incr 2; Thursday's night was incr 3.
    assert [r[1:] for r in rows] == [("full", None), ("incr", label(3)), ("incr", label(3)), ("incr", label(3))]
    # Setting either parameter again, even to the same value, starts a new cycle.
    shell(home, "alation_conf alation.backup_v2.incr_backup_versions -s 4\nsim advance 2d\n")
    assert [r[1:] for r in timeline(home)[4:]] == [("full", None), ("incr", label(6))]
    out = shell(home, "alation_action backup_all\n").stdout
    assert f"incremental (Backup V2, base full {label(6)})" in out


def test_v1_gives_one_tarball(home: Path) -> None:
    r = shell(home, SEED.format(versions=4) + "alation_conf alation.backup.use_backup_v2 -s False\n"
              "alation_action backup_all\n")
    assert "incremental backups need Backup V2" in r.stderr
    assert sorted(p.name for p in (home / "data2/backup").glob("*.tar.gz")) == [
        f"{label(2, '0900')}_{BUILD}_alation_backup.tar.gz"]


def test_schedule_decides_when_backups_run(home: Path) -> None:
    r = shell(home, "alation_conf alation.backup.scheduled_day -s tue,sat\n"
              "alation_conf alation.backup.scheduled_hour -s 22\n"
              "alation_conf alation.backup.scheduled_minute -s 30\n"
              "sudo /etc/init.d/supervisord restart\n"
              "sim advance 2w\n")
    assert "supervisord was not restarted" not in r.stderr
    assert [(day, kind) for day, kind, _ in timeline(home)] == [("Tue", "full"), ("Sat", "full")] * 2
    assert sorted(p.name[:12] for p in (home / "data2/backup").glob("*_alation_backup.tar.gz")) == [
        label(3, "2230"), label(7, "2230"), label(10, "2230"), label(14, "2230")]


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
def test_gnu_tar_lists_the_tarballs(home: Path) -> None:
    shell(home, SEED.format(versions=4) + "sim advance 2d\n")
    for name in (f"{label(3)}_{BUILD}_alation_backup.tar.gz", f"{label(4)}_{BUILD}_alation_eb_incr_backup.tar.gz"):
        listing = subprocess.run(["tar", "-tzf", str(home / "data2/backup" / name)], capture_output=True,
                                 text=True, timeout=60)
        assert listing.returncode == 0, listing.stderr
        assert listing.stdout.strip()


def test_restore_answered_yes_on_the_next_line(home: Path) -> None:
    shell(home, SEED.format(versions=4) + "sim advance 2d\n")
    at_incr = state(home)  # nothing ran after Wednesday's 01:00 backup
    shell(home, "sim advance 1d\n")
    changed = state(home)
    assert changed != at_incr
    incr = f"/data2/backup/{label(4)}_{BUILD}_alation"
    point = (f"alation_conf alation.backup.restore_file -s {incr}_incr_backup.tar.gz\n"
             f"alation_conf alation.backup.eb_restore_file -s {incr}_eb_incr_backup.tar.gz\n")
    # Anything but YES aborts and changes nothing.
    refused = shell(home, point + "alation_action destructive_restore_all\nyes\n", ok=False)
    assert refused.returncode == 1
    assert "aborted, nothing was changed" in refused.stderr
    assert state(home) == changed
    # YES, read from the next piped line, restores the state at that backup.
    r = shell(home, "alation_action destructive_restore_all\nYES\nsim clock\n")
    assert f"restored backup {label(4)} (incr on full {label(3)})" in r.stdout
    assert "Type YES to continue: " in r.stdout
    assert "virtual time" in r.stdout  # the line after the answer ran as a command
    assert state(home) == at_incr
    log = (home / "opt/alation/site/logs/alation_backup.log").read_text()
    for step in ("scheduled backup: full backup", "scheduled backup: incr backup", "published",
                 "destructive_restore_all: verifying", "aborted", f"restore of backup {label(4)} complete"):
        assert step in log, step
    assert all(re.match(r"2026-03-0\d \d\d:\d\d:\d\d UTC  ", line) for line in log.splitlines())


def test_standalone_alation_action_reads_yes_from_stdin(home: Path) -> None:
    # The real recovery scripts run `echo "YES" | alation_action destructive_restore_all`.
    shell(home, "alation_action backup_all\n")
    at_backup = state(home)
    shell(home, "sim advance 1d\n")
    name = f"{label(2, '0900')}_{BUILD}_alation"
    shell(home, f"alation_conf alation.backup.restore_file -s /data2/backup/{name}_backup.tar.gz\n"
                f"alation_conf alation.backup.eb_restore_file -s /data2/backup/{name}_eb_backup.tar.gz\n")
    r = subprocess.run([tool("alation_action"), "destructive_restore_all"], input="YES\n", capture_output=True,
                       text=True, env=env_for(home), timeout=120)
    assert r.returncode == 0, r.stderr
    assert state(home) == at_backup
