"""`alation_supervisor`, `sudo` and the supervisord init script over the emulated program groups."""

from __future__ import annotations

import re

import pytest

from alation_shell.backup import schedule
from alation_shell.commands import supervisor
from alation_shell.commands.base import Context, Output
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.node import supervisord
from alation_shell.session import Session

STATUS_LINE = re.compile(r"(\S+) +(RUNNING|STOPPED) +(pid (\d+), uptime \d+:\d\d:\d\d|\w{3} \d\d \d\d:\d\d [AP]M)")


def status(shell: Session) -> dict[str, tuple[str, str]]:
    """Program -> (state, description) as `alation_supervisor status` prints it."""
    rows = {}
    for line in shell.execute("alation_supervisor status").stdout.splitlines():
        m = STATUS_LINE.fullmatch(line)
        assert m, line
        rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def pending_everything(shell: Session) -> None:
    """One parameter waiting for each kind of restart."""
    shell.execute("alation_conf alation.feature_flags.enable_swagger -s True")  # alation
    shell.execute("alation_conf alation.feature_flags.enable_permissions_middleware_feature -s True")  # web
    shell.execute("alation_conf lineage-service.features.enable_pagination -s True")  # lineage
    shell.execute("alation_conf alation.install.base_url -s https://catalog.example.com")  # deploy
    shell.execute("alation_conf alation.backup.scheduled_hour -s 9")  # supervisord


# alation_supervisor -----------------------------------------------------------------------------
def test_status_layout_is_supervisorctls(shell: Session) -> None:
    r = shell.execute("alation_supervisor status")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(supervisord.PROGRAMS)
    for line in lines:
        # supervisorctl: name padded to 33 columns, state to 10, then the description
        assert re.fullmatch(r".{33}RUNNING   pid \d+, uptime \d+:\d\d:\d\d", line), line
    assert {"web:uwsgi", "lineage", "celery:search", "celery:beat", "eventbus"} <= set(status(shell))
    pids = [line.split("pid ")[1].split(",")[0] for line in lines]
    assert len(set(pids)) == len(pids)


def test_stop_start_and_their_errors(shell: Session) -> None:
    r = shell.execute("alation_supervisor stop web:uwsgi")
    assert (r.stdout, r.exit_code) == ("web:uwsgi: stopped\n", 0)
    assert status(shell)["web:uwsgi"][0] == "STOPPED"
    assert shell.execute("alation_supervisor status").exit_code == 3  # like supervisorctl: not all running
    r = shell.execute("alation_supervisor status web:*")
    assert r.stdout.startswith("web:uwsgi                        STOPPED   ")
    r = shell.execute("alation_supervisor stop web:uwsgi")
    assert (r.stdout, r.exit_code) == ("web:uwsgi: ERROR (not running)\n", 1)
    r = shell.execute("alation_supervisor stop web:*")  # a group reports only what it changed
    assert (r.stdout, r.exit_code) == ("", 0)
    r = shell.execute("alation_supervisor start all")
    assert (r.stdout, r.exit_code) == ("web:uwsgi: started\n", 0)
    r = shell.execute("alation_supervisor start web:uwsgi")
    assert (r.stdout, r.exit_code) == ("web:uwsgi: ERROR (already started)\n", 1)


def test_restart_prints_stops_then_starts_with_new_pids(shell: Session) -> None:
    before = status(shell)
    r = shell.execute("alation_supervisor restart celery:*")
    assert r.exit_code == 0
    celery = [p for p in sorted(supervisord.PROGRAMS) if p.startswith("celery:")]
    assert r.stdout.splitlines() == [f"{p}: stopped" for p in celery] + [f"{p}: started" for p in celery]
    after = status(shell)
    assert all(after[p][1] != before[p][1] for p in celery)
    assert after["web:uwsgi"] == before["web:uwsgi"]


@pytest.mark.parametrize(
    ("group", "cleared"),
    [
        ("web:*", {"web"}),
        ("web", {"web"}),
        ("web:uwsgi", {"web"}),
        ("lineage", {"lineage"}),
        ("celery:*", set()),
        ("web:* celery:* lineage", {"alation", "web", "lineage"}),
        ("all", {"alation", "web", "lineage"}),
    ],
)
def test_restart_clears_the_pending_restarts_it_covers(
    shell: Session, instance: Instance, group: str, cleared: set[str]
) -> None:
    pending_everything(shell)
    r = shell.execute(f"alation_supervisor restart {group}")
    assert r.exit_code == 0
    expected = {"alation", "web", "lineage", "deploy", "supervisord"} - cleared
    assert set(supervisord.pending_restarts(instance)) == expected
    if "web" in cleared:
        assert "note: now in effect: alation.feature_flags.enable_permissions_middleware_feature\n" in r.stderr


def test_status_lists_pending_restarts_on_stderr(shell: Session) -> None:
    shell.execute("alation_conf lineage-service.features.enable_pagination -s True")
    r = shell.execute("alation_supervisor status lineage")
    assert r.stdout.startswith("lineage ")
    assert r.stderr == (
        "pending: lineage-service.features.enable_pagination needs `alation_supervisor restart lineage`\n"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alation_supervisor stop web:* nope", "alation_supervisor: nope: ERROR (no such group)\n"),
        ("alation_supervisor restart nope:*", "alation_supervisor: nope: ERROR (no such group)\n"),
        ("alation_supervisor start web:nope", "alation_supervisor: web:nope: ERROR (no such process)\n"),
        ("alation_supervisor status nope", "alation_supervisor: nope: ERROR (no such group)\n"),
    ],
)
def test_unknown_names_change_nothing(shell: Session, instance: Instance, line: str, message: str) -> None:
    r = shell.execute(line)
    assert (r.stderr, r.exit_code, r.stdout) == (message, 1, "")
    assert not (instance.var / "services.json").exists()


@pytest.mark.parametrize("line", ["alation_supervisor", "alation_supervisor restart", "alation_supervisor reload"])
def test_usage_errors(shell: Session, line: str) -> None:
    assert shell.execute(line).exit_code == 2


# sudo and the init scripts ----------------------------------------------------------------------
@pytest.mark.parametrize("line", ["sudo /etc/init.d/supervisord restart", "sudo service supervisord restart"])
def test_sudo_supervisord_restart(shell: Session, instance: Instance, line: str) -> None:
    pending_everything(shell)
    before = status(shell)
    old_pid = supervisord.supervisord_pid(instance)
    registry = Registry.for_instance(instance)
    assert schedule.in_effect(instance, registry)[0].hour != 9

    r = shell.execute(line)

    assert r.exit_code == 0
    assert r.stdout == ("Stopping supervisord:" + " " * 38 + "[  OK  ]\n"
                        "Starting supervisord:" + " " * 38 + "[  OK  ]\n")
    assert supervisord.pending_restarts(instance) == {"deploy": ["alation.install.base_url"]}
    assert "note: backups now run at 09:00 UTC every day\n" in r.stderr
    assert "still pending: alation.install.base_url" in r.stderr
    assert schedule.in_effect(instance, registry) == (schedule.configured(registry), [])
    after = status(shell)
    assert all(after[p][0] == "RUNNING" and after[p][1] != before[p][1] for p in supervisord.PROGRAMS)
    assert supervisord.supervisord_pid(instance) != old_pid


def _call(session: Session, func, args: list[str]) -> tuple[int, str, str]:  # noqa: ANN001
    out, err = Output(), Output()
    code = func(Context(session, out, err), args)
    return code, out.getvalue(), err.getvalue()


def test_supervisord_without_sudo_is_denied(shell: Session, instance: Instance) -> None:
    pending_everything(shell)
    for func, args in ((supervisor.supervisord, ["restart"]), (supervisor.service, ["supervisord", "restart"])):
        code, out, err = _call(shell, func, args)
        assert code == 4
        assert "Permission denied" in err and "sudo " in err
    assert len(supervisord.pending_restarts(instance)) == 5
    code, out, _ = _call(shell, supervisor.supervisord, ["status"])  # reading the status needs no root
    assert code == 0 and "is running" in out
    shell.execute("sudo su")
    assert _call(shell, supervisor.supervisord, ["restart"])[0] == 0
    assert list(supervisord.pending_restarts(instance)) == ["deploy"]


@pytest.mark.parametrize("line", ["sudo /etc/init.d/alation shell", "sudo service alation shell"])
def test_sudo_alation_shell_inside_the_shell(shell: Session, line: str) -> None:
    r = shell.execute(line)
    assert (r.exit_code, r.stdout) == (0, "")
    assert "already in the Alation shell" in r.stderr


def test_sudo_runs_other_commands(shell: Session, instance: Instance) -> None:
    r = shell.execute("sudo alation_conf alation.backup_v2.incr_backup -s True")
    assert (r.stdout, r.exit_code) == ("alation.backup_v2.incr_backup = True\n", 0)
    assert shell.execute("sudo no_such_command").exit_code == 127
    assert shell.execute("sudo").exit_code == 2
    assert shell.execute("sudo service hydra restart").exit_code == 1


def test_sudo_su_switches_the_prompts_user(shell: Session) -> None:
    assert shell.execute("sudo su alation").exit_code == 0
    assert shell.prompt() == "(env) DEMO [alation@alation-demo /]$ "
    assert shell.execute("sudo su - alationadmin").exit_code == 0
    assert (shell.user, shell.cwd) == ("alationadmin", "/home/alationadmin")
    assert shell.prompt() == "(env) DEMO [alationadmin@alation-demo ~]$ "
    r = shell.execute("sudo su nobody_here")
    assert (r.exit_code, r.stderr) == (1, "su: user nobody_here does not exist\n")
    assert shell.user == "alationadmin"
    assert shell.execute("sudo su").exit_code == 0 and shell.user == "root"
    assert shell.prompt() == "(env) DEMO [root@alation-demo alationadmin]# "  # bash's \\$: # for root


def test_exit_leaves_the_shell_sudo_su_started_for_the_one_before(shell: Session) -> None:
    """As on the server: `sudo su alation`, run what must run as alation, `exit` back to alationadmin."""
    shell.execute("cd /opt")
    assert shell.execute("sudo su alation").exit_code == 0
    assert (shell.user, shell.cwd) == ("alation", "/opt")
    shell.execute("cd /")
    assert shell.execute("sudo su").exit_code == 0 and shell.user == "root"
    r = shell.execute("exit 3")  # the root shell's status, for the alation shell it returns to
    assert (r.exit_code, r.stop, shell.user, shell.cwd) == (3, False, "alation", "/")
    r = shell.execute("exit")
    assert (r.exit_code, r.stop, shell.user, shell.cwd) == (0, False, "alationadmin", "/opt")
    assert shell.execute("exit").stop  # and the Alation shell itself
