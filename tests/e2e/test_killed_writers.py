"""A writer killed half-way (a catalog transaction, `sim advance`) never blocks the backups that follow."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.backup import DB, db_rows
from tests.conftest import env_for, tool

# Begins a write transaction on the catalog and changes enough pages that SQLite writes them into the
# database file (a cache of 8 pages spills), so the journal is needed to undo them; then waits to be killed.
WRITER = """
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size=8")
con.execute("BEGIN IMMEDIATE")
con.execute("CREATE TABLE half_done (body BLOB)")
con.executemany("INSERT INTO half_done VALUES (?)", [(os.urandom(400),) for _ in range(4000)])
con.execute("UPDATE rosemeta_table SET description = 'half-done ' || coalesce(description, '')")
print("written", flush=True)
sys.stdin.read()
"""


def shell(home: Path, line: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("alation-shell"), "--home", str(home), "-c", line], env=env_for(home),
                          capture_output=True, text=True, timeout=120)


def ok(home: Path, line: str) -> str:
    result = shell(home, line)
    assert result.returncode == 0, f"{line}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def test_a_hot_journal_left_by_a_killed_writer_is_rolled_back_by_the_next_backup(
        tmp_path: Path, seeded_template: Path) -> None:
    home = tmp_path / "instance"
    shutil.copytree(seeded_template, home, symlinks=True)
    db = home / DB
    before = db_rows(db)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout.readline() == "written\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    journal = db.with_name("rosemeta.db-journal")
    assert journal.read_bytes()[:1] not in (b"", b"\0")  # hot: the database file holds half a transaction
    readonly = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):  # what the capture ran into
        readonly.execute("SELECT count(*) FROM sqlite_master").fetchall()
    readonly.close()

    out = ok(home, "alation_action backup_all")
    assert "complete: full (Backup V2)" in out
    log = (home / "opt/alation/site/logs/alation_backup.log").read_text()
    assert ("recovered the catalog database /data1/pgsql/rosemeta.db: a writer killed in a transaction had left "
            "its rollback journal /data1/pgsql/rosemeta.db-journal; the unfinished transaction was rolled back") in log
    assert not journal.exists()
    assert db_rows(db) == before  # rolled back, not half-committed
    assert ok(home, "sim verify").startswith("OK ")
    assert "full" in ok(home, "sim advance 1d")


def journal_is_hot(db: Path) -> bool:
    """Whether the catalog's rollback journal holds a transaction not finished (its first byte is set)."""
    try:
        with open(db.with_name("rosemeta.db-journal"), "rb") as f:
            return f.read(1) not in (b"", b"\0")
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sim_advance_killed_at_random_points_never_blocks_what_follows(
        tmp_path: Path, seeded_template: Path, seed: int) -> None:
    """`sim advance 3d` (a real process) killed at a random point, three times over; each time after it a
    backup by hand, `sim verify` and `sim advance 1d` all succeed. Half the kills wait, after the random
    delay, for a moment when the day's catalog transaction is being written (its journal hot): a few
    milliseconds of the run, which a random moment alone would seldom hit."""
    rng = random.Random(seed)
    home = tmp_path / "instance"
    shutil.copytree(seeded_template, home, symlinks=True)
    for _ in range(3):
        proc = subprocess.Popen([tool("alation-shell"), "--home", str(home), "-c", "sim advance 3d"],
                                env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        time.sleep(rng.uniform(0.0, 0.3))  # where the kill lands; it may also come after the end
        if rng.random() < 0.5:
            while proc.poll() is None and not journal_is_hot(home / DB):
                pass
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err.decode()
        ok(home, "alation_action backup_all")
        verified = ok(home, "sim verify")
        assert verified and all(line.startswith("OK ") for line in verified.splitlines()), verified
        ok(home, "sim advance 1d")
