"""Command lines as procedures write them, through the installed alation-shell: the documented restore script
(piped, and as one `-c` script), and the documented pipeline forms over `-c`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import env_for, tool

COUNT = "echo 'select count(*) from rosemeta_table;' | alation_psql -At"


def shell(home: Path, *, stdin: str = "", command: str | None = None) -> subprocess.CompletedProcess[str]:
    args = [tool("alation-shell")] + (["-c", command] if command is not None else [])
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=env_for(home), timeout=300)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An instance with one backup; then rows deleted, as a trainee's mistake a restore must undo."""
    home = tmp_path / "instance"
    r = shell(home, stdin="alation_action backup_all\n")
    assert r.returncode == 0, r.stderr
    r = shell(home, command="alation_psql -v ON_ERROR_STOP=1 --write -c 'delete from rosemeta_table where id > 10'")
    assert r.returncode == 0 and r.stdout.startswith("DELETE "), r.stderr
    return home


def restore_script(home: Path) -> str:
    """Reference B5 (the recovery bot's order), with this instance's tarballs."""
    tarballs = sorted(p.name for p in (home / "data2/backup").glob("*.tar.gz"))
    alation = next(t for t in tarballs if "_alation_backup" in t)
    eb = next(t for t in tarballs if "_alation_eb_backup" in t)
    return f"""\
# restore the latest backup, as the recovery procedure does
sudo su - alation
alation_conf alation.backup.restore_file -s /data2/backup/{alation}
alation_conf alation.backup.eb_restore_file -s /data2/backup/{eb}
exit
sudo chown alation:alation /data2/backup/{alation} /data2/backup/{eb}
echo "YES" | alation_action destructive_restore_all
alation_conf alation.authentication.builtin.enabled -s True
alation_action deploy_conf_all
alation_conf alation.install.base_url -s https://alation.example.com
alation_action restart_alation
alation_action rebuild_es_index
sudo su alation
alation_ypireti sync
exit
"""


def rows(home: Path) -> int:
    r = shell(home, command=COUNT)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def check_restored(home: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Type YES to continue: \nrestored backup " in result.stdout  # answered by the pipe, not the terminal
    assert "Search index rebuilt" in result.stdout and "Sync job 1 finished" in result.stdout
    assert rows(home) > 10  # the deleted rows are back
    base_url = shell(home, command="alation_conf alation.install.base_url | cut -d '=' -f2 | tr -d '[:space:]'")
    assert base_url.stdout == "https://alation.example.com"


def test_the_documented_restore_script_piped(home: Path) -> None:
    assert rows(home) == 10
    check_restored(home, shell(home, stdin=restore_script(home)))


def test_the_documented_restore_script_over_dash_c(home: Path) -> None:
    assert rows(home) == 10
    check_restored(home, shell(home, command=restore_script(home)))


def test_a_restore_declined_on_the_pipe_changes_nothing(home: Path) -> None:
    script = restore_script(home).replace('echo "YES"', 'echo "no"')
    r = shell(home, command=script.split("echo")[0] + 'echo "no" | alation_action destructive_restore_all')
    assert r.returncode == 1 and "answer was not YES" in r.stderr
    assert rows(home) == 10


@pytest.mark.parametrize(
    ("command", "stdout", "status"),
    [
        ("alation_conf alation.install.base_url -s https://alation.example.com/ > /dev/null && "
         "alation_conf alation.install.base_url | cut -d '=' -f2 | tr -d '[:space:]'",
         "https://alation.example.com/", 0),
        ("alation_conf alation.feature_flags.enable_swagger -s True && alation_action restart_alation | tail -n 1",
         "alation.feature_flags.enable_swagger = True\nAlation restarted.\n", 0),
        ("alation_conf alation.backup_v2.incr_backup -s tru && alation_action restart_alation", "", 1),
        ("alation_conf nope_not_a_parameter | cat", "", 0),
        ("echo x | grep y", "", 1),
        ("echo x | grep y; echo $?", "1\n", 0),
        ("alation_conf alation.backup_v2.incr_backup > /data2/tmp/a && cat /data2/tmp/a | wc -l", "1\n", 0),
        ("echo $(hostname)", "", 2),
    ],
)
def test_pipeline_forms_over_dash_c(tmp_path: Path, command: str, stdout: str, status: int) -> None:
    r = shell(tmp_path / "instance", command=command)
    assert (r.stdout, r.returncode) == (stdout, status), r.stderr
    assert "Traceback" not in r.stderr
