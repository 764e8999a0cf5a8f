"""`alation-shell walkthrough --check FILE`: each kind of mistake is reported with its line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from alation_shell.training import cli
from alation_shell.training.scenario import ScenarioError, available, load
from tests.conftest import env_for, tool

GOOD = '''\
title = "Incremental backups"
summary = "Enable them and set the versions."

[setup]
settings = { "alation.backup_v2.incr_backup" = false }

[[steps]]
instruction = "Enable incremental backups."
check = { parameter = "alation.backup_v2.incr_backup", equals = true }
hints = ["alation_conf NAME -s VALUE"]
solution = ["alation_conf alation.backup_v2.incr_backup -s True"]

[[steps]]
instruction = "Four incrementals per cycle."
check = [
    { parameter = "alation.backup_v2.incr_backup_versions", equals = 4 },
    { pending_restart = "any", present = false },
]
solution = ["alation_conf alation.backup_v2.incr_backup_versions -s 4"]
'''


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, list[str]]:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    status = cli.check_files([str(path)])
    out = capsys.readouterr().out
    prefix = f"{path}:"
    return status, [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]


def test_a_good_scenario_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, found = check(tmp_path, capsys, GOOD)
    assert (status, found) == (0, [" OK, 2 steps; every solution passes its check"])


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        pytest.param('summary = "Enable', 'summary = Enable', 2, "invalid TOML", id="syntax"),
        pytest.param('summary = "Enable them and set the versions."',
                     'summary = "Enable them and set the versions."\nauthor = "me"', 3,
                     "unknown key 'author' in the scenario", id="unknown-top-key"),
        pytest.param('hints = ["alation_conf NAME -s VALUE"]', 'hint = ["alation_conf NAME -s VALUE"]', 10,
                     "unknown key 'hint' in step 1", id="unknown-step-key"),
        pytest.param('{ pending_restart = "any", present = false }',
                     '{ pending_restart = "any", presnt = false }', 17,
                     "unknown key 'presnt' in a pending_restart condition", id="unknown-condition-key"),
        pytest.param('"alation.backup_v2.incr_backup_versions", equals = 4',
                     '"alation.backup_v2.incr_backup_verions", equals = 4', 16,
                     "unknown parameter 'alation.backup_v2.incr_backup_verions'; did you mean "
                     "alation.backup_v2.incr_backup_versions", id="unknown-parameter-in-check"),
        pytest.param('settings = { "alation.backup_v2.incr_backup" = false }',
                     'settings = { "alation.backup_v2.incr_bakup" = false }', 5,
                     "unknown parameter 'alation.backup_v2.incr_bakup'", id="unknown-parameter-in-setup"),
        pytest.param('incr_backup_versions", equals = 4', 'incr_backup_versions", equals = "four"', 16,
                     "no command could satisfy this check: alation.backup_v2.incr_backup_versions cannot be "
                     "'four' (it takes a whole number (0 or more))", id="value-the-parameter-cannot-take"),
        pytest.param('"alation.backup_v2.incr_backup" = false }', '"alation.backup_v2.incr_backup" = "maybe" }', 5,
                     "invalid value 'maybe' for alation.backup_v2.incr_backup: expected True or False",
                     id="bad-setup-value"),
        pytest.param('{ pending_restart = "any", present = false },',
                     '{ pending_restart = "any", present = false },\n'
                     '    { parameter = "alation.backup_v2.incr_backup_versions", equals = 5 },', 18,
                     "no command could satisfy this check: it wants alation.backup_v2.incr_backup_versions to be "
                     "both 4 and 5", id="contradiction"),
        pytest.param('{ pending_restart = "any", present = false }', '{ rows = "rosemeta_articles", min = 1 }', 17,
                     "no command could satisfy this check: the catalog has no table 'rosemeta_articles'",
                     id="unknown-table"),
        pytest.param('{ pending_restart = "any", present = false }', '{ ran = "alation_confg" }', 17,
                     "no command could satisfy this check: 'alation_confg' is not a command of the shell",
                     id="no-such-command"),
        pytest.param('{ pending_restart = "any", present = false }', '{ backups = "full", min = 3, max = 2 }', 17,
                     "no command could satisfy this check: min 3 is above max 2", id="empty-range"),
        pytest.param('{ pending_restart = "any", present = false }', '{ exit_status = 256 }', 17,
                     "no command could satisfy this check: an exit status is 0 to 255", id="exit-status"),
        pytest.param('{ pending_restart = "any", present = false }',
                     '{ parameter = "alation.backup.scheduled_hour", min = 24 }', 17,
                     "no command could satisfy this check: alation.backup.scheduled_hour takes a whole number "
                     "from 0 to 23", id="bound-out-of-range"),
        pytest.param('solution = ["alation_conf alation.backup_v2.incr_backup_versions -s 4"]',
                     'solution = ["alation_conf alation.backup_v2.incr_backup_versions -s 5"]', 19,
                     "the solution of step 2 does not pass its check: alation.backup_v2.incr_backup_versions is 5; "
                     "the step wants 4", id="solution-fails-its-check"),
        pytest.param('settings = { "alation.backup_v2.incr_backup" = false }',
                     'settings = { "alation.backup_v2.incr_backup" = true }', 9,
                     "step 1's check already passes before anything is done", id="check-passes-before-the-step"),
        pytest.param('check = { parameter = "alation.backup_v2.incr_backup", equals = true }\n', '', 7,
                     "step 1 has no check", id="missing-check"),
        pytest.param('solution = ["alation_conf alation.backup_v2.incr_backup -s True"]\n', '', 7,
                     "step 1 has no solution", id="missing-solution"),
    ],
)
def test_each_kind_of_mistake_has_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                           line: int, message: str) -> None:
    assert old in GOOD
    status, found = check(tmp_path, capsys, GOOD.replace(old, new, 1))
    assert status == 1
    assert any(f.startswith(f"{line}: {message}") for f in found), found


def test_every_mistake_is_reported_in_line_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (GOOD.replace('"alation.backup_v2.incr_backup" = false', '"alation.nope" = false')
            .replace("hints = [", "hintz = [")
            .replace('equals = 4', 'equals = -1'))
    status, found = check(tmp_path, capsys, text)
    assert status == 1
    assert [f.split(":")[0] for f in found] == ["5", "10", "16"]


def test_the_command_line_reports_mistakes_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace("hints = [", "hintz = ["))
    result = subprocess.run([tool("alation-shell"), "walkthrough", "--check", str(path)], capture_output=True,
                            text=True, env=env_for(tmp_path / "home"), timeout=120)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{path}:10: unknown key 'hintz' in step 1")
    assert result.stderr.strip() == f"{path}: 1 mistake"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(available()))
def test_every_shipped_scenario_passes_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.check_files([available()[name]]) == 0, capsys.readouterr().out


def test_loading_a_broken_scenario_names_its_first_mistake(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("hints = [", "hintz = [").replace('equals = 4', 'equals = -1'))
    with pytest.raises(ScenarioError) as caught:
        load(str(path))
    assert caught.value.message.startswith(f"{path}:10: unknown key 'hintz' in step 1")
    assert caught.value.message.endswith(f"(and 1 more: `alation-shell walkthrough --check {path}`)")
