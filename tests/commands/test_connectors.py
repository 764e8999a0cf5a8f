"""kratos and alation_ypireti at the level the docs show them."""

from __future__ import annotations

from alation_shell.instance import Instance
from alation_shell.session import Session


def test_kratos_version_and_help(shell: Session) -> None:
    r = shell.execute("kratos --version")
    assert (r.stdout, r.exit_code) == ("kratos version 1.7.3\n", 0)
    assert shell.execute("kratos --help").stdout.startswith("Kratos is the command line tool")
    r = shell.execute("kratos connector list")
    assert r.exit_code == 1 and "only --version and --help" in r.stderr


def test_ypireti_runs_as_alation_only(shell: Session) -> None:
    assert shell.execute("alation_ypireti --help").stdout.startswith("usage: alation_ypireti")
    r = shell.execute("alation_ypireti sync")
    assert (r.stderr, r.exit_code) == ("alation_ypireti: must be run as user alation: `sudo su alation` first\n", 1)
    assert shell.execute("sudo alation_ypireti sync").exit_code == 1


def test_ypireti_sync_is_logged_with_the_virtual_time(shell: Session, instance: Instance) -> None:
    shell.execute("sudo su alation")
    r = shell.execute("alation_ypireti sync")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1] == "Sync job 1 finished (logged in /opt/alation/site/logs/ypireti.log)."
    shell.execute("sim advance 1d")
    assert shell.execute("alation_ypireti sync").stdout.startswith("Sync job 2:")
    log = (instance.root / "opt/alation/site/logs/ypireti.log").read_text().splitlines()
    assert log[0].startswith("2026-03-02 09:0") and log[0].endswith("  sync job 1 started by alation")
    assert log[3].startswith("2026-03-03 09:0") and len(log) == 6
    assert shell.execute("alation_ypireti list").stdout == "No OCF connectors are installed.\n"
    r = shell.execute("alation_ypireti install x")
    assert r.exit_code == 2 and "invalid choice: 'install'" in r.stderr
