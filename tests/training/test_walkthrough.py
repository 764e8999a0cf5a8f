"""`alation-shell walkthrough`: the installed command, piped lines, a walkthrough instance of its own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.training.scenario import available, load
from tests.conftest import env_for, tool

BUILD = "17-0-0-49181"
LATEST_INCR = f"/data2/backup/202603050100_{BUILD}_alation_incr_backup.tar.gz"
LATEST_INCR_EB = f"/data2/backup/202603050100_{BUILD}_alation_eb_incr_backup.tar.gz"
FULL = f"/data2/backup/202603030100_{BUILD}_alation_backup.tar.gz"
FULL_EB = f"/data2/backup/202603030100_{BUILD}_alation_eb_backup.tar.gz"

# What a trainee types, per scenario (file names as `sim backups` and `ls` show them).
TYPED = {
    "incremental-backups": [
        "alation_conf alation.backup_v2.incr_backup -s true",
        "alation_conf alation.backup_v2.incr_backup_versions -s 4",
        "exit",
    ],
    "backup-schedule": [
        "alation_conf alation.backup.scheduled_hour -s 2 alation.backup.scheduled_minute -s 30",
        "sudo /etc/init.d/supervisord restart",
        "sim clock",
        "sim advance 1d",
    ],
    "restore-incremental": [
        "ls -l /data2/backup",
        f"alation_conf alation.backup.restore_file -s {LATEST_INCR}",
        f"alation_conf alation.backup.eb_restore_file -s {LATEST_INCR_EB}",
        "alation_action destructive_restore_all",
        "YES",
    ],
    "weekly-full": [
        "alation_conf alation.backup_v2.incr_backup -s True",
        "alation_conf alation.backup_v2.incr_backup_versions -s 6",
        "sim advance 1w",
    ],
}

# A step done wrong, per scenario: the lines, and the explanation the check gives.
WRONG = {
    "incremental-backups": (["alation_conf alation.backup_v2.incr_backup -s False"],
                            "· not done yet: incremental backups are still off"),
    "backup-schedule": (["alation_conf alation.backup.scheduled_hour -s 3",
                         "alation_conf alation.backup.scheduled_minute -s 30"],
                        "· not done yet: alation.backup.scheduled_hour is 3; the step wants 2"),
    "restore-incremental": (["sim backups", f"alation_conf alation.backup.restore_file -s {FULL}",
                             f"alation_conf alation.backup.eb_restore_file -s {FULL_EB}"],
                            "· not done yet: alation.backup.restore_file does not name the latest incremental's "
                            "alation tarball"),
    "weekly-full": (["alation_conf alation.backup_v2.incr_backup -s True",
                     "alation_conf alation.backup_v2.incr_backup_versions -s 7"],
                    "· not done yet: with that many incrementals the full does not come once a week"),
}


def walkthrough(tmp_path: Path, *args: str, lines: list[str] = (), ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([tool("alation-shell"), "walkthrough", *args], input="".join(f"{x}\n" for x in lines),
                            capture_output=True, text=True, env=env_for(tmp_path / "everyday"), timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def own_instance(name: str) -> Instance:
    """Where a scenario's walkthrough instance is (the tests' XDG_DATA_HOME is a temp dir)."""
    return Instance(Path(os.environ["XDG_DATA_HOME"]) / "alation-shell" / "walkthroughs" / name)


def test_the_list_names_each_scenario_with_its_length(tmp_path: Path) -> None:
    out = walkthrough(tmp_path).stdout
    for name, path in available().items():
        scenario = load(path)
        assert f"  {name:<22} {len(scenario.steps)} steps, ~{scenario.minutes} min  {scenario.summary}" in out


@pytest.mark.parametrize("name", sorted(TYPED))
def test_every_scenario_passes_when_its_steps_are_typed(tmp_path: Path, name: str) -> None:
    out = walkthrough(tmp_path, name, lines=TYPED[name]).stdout
    steps = len(load(available()[name]).steps)
    for number in range(1, steps + 1):
        assert f"✓ Step {number} done." in out or f"✓ Step {number} is already done." in out
    assert f"✓ All {steps} steps done." in out
    assert "✗" not in out
    assert "Time taken: " in out and "hints used: 0" in out
    # The everyday instance was never created; the walkthrough had one of its own.
    assert not (tmp_path / "everyday").exists()
    progress = json.loads((own_instance(name).var / "walkthrough.json").read_text())
    assert progress["done"] is True


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_step_done_wrong_is_explained_and_hints_nudge(tmp_path: Path, name: str) -> None:
    lines, explanation = WRONG[name]
    out = walkthrough(tmp_path, name, lines=[*lines, "hint", "hint", "hint", "quit"]).stdout
    assert explanation in out
    scenario = load(available()[name])
    done = sum(f"✓ Step {n} done." in out for n in range(1, len(scenario.steps) + 1))
    step = scenario.steps[done]
    assert f"hint 1 of {len(step.hints)}: " in out
    if len(step.hints) > 1:
        assert f"hint 2 of {len(step.hints)}: " in out
    assert "That was the last hint" in out
    assert f"Progress saved at step {done + 1} of {len(scenario.steps)}" in out


def test_true_in_lower_case_counts_and_versions_may_come_first(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "incremental-backups", lines=[
        "alation_conf alation.backup_v2.incr_backup_versions -s 4",
        "alation_conf -s true alation.backup_v2.incr_backup",
        "exit",
    ]).stdout
    assert "· not done yet: incremental backups are still off" in out
    assert "✓ Step 1 done." in out
    assert "✓ Step 2 is already done." in out
    assert "✓ All 3 steps done." in out


def test_a_failing_command_gets_an_explanation(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "incremental-backups", lines=["alation_conf alation.backup_v2.incr_backup -s yes"],
                      ).stdout
    assert ("✗ that command failed (exit 1); the step is not done: incremental backups are still off") in out


def test_quit_keeps_the_step_and_the_same_command_resumes(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "incremental-backups", lines=[
        "alation_conf alation.backup_v2.incr_backup -s True", "hint", "quit"]).stdout
    assert "Progress saved at step 2 of 3. Resume with: alation-shell walkthrough incremental-backups" in out
    out = walkthrough(tmp_path, "incremental-backups", lines=[
        "alation_conf alation.backup_v2.incr_backup_versions -s 4", "exit"]).stdout
    assert "Resuming at step 2 of 3." in out
    assert "Step 1 of 3" not in out
    assert "✓ All 3 steps done." in out
    assert "hints used: 1" in out  # the hint taken before quitting counts


def test_a_dropped_session_resumes_at_the_same_step(tmp_path: Path) -> None:
    # End of input with no `quit` (a dropped connection) keeps the progress as well.
    walkthrough(tmp_path, "weekly-full", lines=["alation_conf alation.backup_v2.incr_backup -s True"])
    registry = Registry.for_instance(own_instance("weekly-full"))
    assert registry.get("alation.backup_v2.incr_backup") is True
    out = walkthrough(tmp_path, "weekly-full", lines=["quit"]).stdout
    assert "Resuming at step 2 of 3." in out
    # The state of the instance is kept too: resuming does not set it up again.
    assert registry.get("alation.backup_v2.incr_backup") is True


def test_fresh_starts_over(tmp_path: Path) -> None:
    walkthrough(tmp_path, "weekly-full", lines=["alation_conf alation.backup_v2.incr_backup -s True"])
    out = walkthrough(tmp_path, "weekly-full", "--fresh", lines=["quit"]).stdout
    assert "Resuming" not in out
    assert Registry.for_instance(own_instance("weekly-full")).get("alation.backup_v2.incr_backup") is False


def test_exit_in_a_step_that_does_not_ask_for_it_leaves_and_keeps_progress(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "weekly-full", lines=["exit", "alation_conf alation.backup_v2.incr_backup"]).stdout
    assert "Progress saved at step 1 of 3" in out
    assert "alation.backup_v2.incr_backup = " not in out  # nothing after `exit` ran


def test_restart_puts_the_steps_settings_back(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "backup-schedule", lines=[
        "alation_conf alation.backup.scheduled_hour -s 3", "restart", "quit"]).stdout
    assert "Settings are back as they were when the step began" in out
    assert out.count("── Step 1 of 4: Set the new time ──") == 2
    instance = own_instance("backup-schedule")
    assert Registry.for_instance(instance).get("alation.backup.scheduled_hour") == 1
    assert not json.loads((instance.var / "pending_restarts.json").read_text() or "{}").get("supervisord")


def test_solution_and_skip(tmp_path: Path) -> None:
    out = walkthrough(tmp_path, "restore-incremental", lines=["skip", "solution", "skip", "skip"]).stdout
    assert f"  alation_conf alation.backup.restore_file -s {LATEST_INCR}" in out  # placeholders filled in
    assert "Type YES to continue: YES" in out  # skip answered the restore's question from the solution
    assert "✓ All 3 steps done." in out
    assert "solutions shown: 1; steps skipped: 3." in out


def test_the_restore_brings_the_deleted_rows_back(tmp_path: Path) -> None:
    walkthrough(tmp_path, "restore-incremental", lines=["sim backups", "quit"])
    instance = own_instance("restore-incremental")
    baseline = json.loads((instance.var / "walkthrough.json").read_text())["baseline"]["rosemeta_article"]

    def articles() -> int:
        con = sqlite3.connect(instance.root / "data1/pgsql/rosemeta.db")
        try:
            return con.execute("SELECT COUNT(*) FROM rosemeta_article").fetchone()[0]
        finally:
            con.close()

    assert articles() == baseline - 25  # the setup deleted them after the last backup
    out = walkthrough(tmp_path, "restore-incremental", lines=TYPED["restore-incremental"][1:]).stdout
    assert "✓ Step 3 done." in out  # its check: as many articles as at the backup
    assert articles() >= baseline  # (the week that follows the walkthrough adds some)


def test_home_runs_on_the_instance_given(tmp_path: Path, instance: Instance) -> None:
    out = walkthrough(tmp_path, "weekly-full", "--home", str(instance.root), lines=["quit"]).stdout
    assert f"Resume with: alation-shell walkthrough weekly-full --home {instance.root}" in out
    assert (instance.var / "walkthrough.json").is_file()
    assert not own_instance("weekly-full").root.exists()


@pytest.mark.parametrize("name", sorted(available()))
def test_an_instant_demo_finishes_every_scenario(tmp_path: Path, name: str) -> None:
    out = walkthrough(tmp_path, name, "--demo", "--speed", "instant").stdout
    steps = len(load(available()[name]).steps)
    assert f"✓ All {steps} steps done." in out
    assert "not done yet" not in out and "✗" not in out
    for number in range(1, steps + 1):
        assert f"✓ Step {number} done." in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no scenario 'nope'"),
        (["incremental-backup"], "did you mean incremental-backups?"),
        (["weekly-full", "--speed", "fast"], "--speed expects a number from 0.05 to 100 or `instant`"),
        (["--demo"], "name the scenario to run"),
        (["weekly-full", "--record-input"], "--record-input goes with --record FILE.cast"),
        (["weekly-full", "--bogus"], "unknown option '--bogus'"),
    ],
)
def test_bad_arguments_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = walkthrough(tmp_path, *args, ok=False)
    assert result.returncode in (1, 2)
    assert message in result.stderr.splitlines()[0]


def test_a_trainers_directory_adds_scenarios(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    text = Path(available()["weekly-full"]).read_text().replace("A full backup once a week", "Trainer's week")
    (mine / "my-week.toml").write_text(text)
    (mine / "broken.toml").write_text("title = 1\n")
    out = walkthrough(tmp_path, "--dir", str(mine)).stdout
    assert "  my-week                3 steps" in out
    assert "  broken                 cannot be used: " in out
    out = walkthrough(tmp_path, "my-week", "--dir", str(mine), lines=["quit"]).stdout
    assert out.startswith("Trainer's week")
