"""One virtual clock everywhere: `date`, `ls -l`, supervisor times, the backup lock, alation_psql's now()."""

from __future__ import annotations

import re

from alation_shell.backup.lock import BackupLock
from alation_shell.errors import BackupInProgress
from alation_shell.node import clock
from alation_shell.session import Session


def listing(shell: Session, path: str) -> dict[str, str]:
    """name -> the date columns of `ls -l PATH`."""
    rows = {}
    for line in shell.execute(f"ls -l {path}").stdout.splitlines()[1:]:
        fields = line.split()
        rows[fields[-1]] = " ".join(fields[5:8])
    return rows


def test_ls_dates_files_on_the_virtual_clock_and_keeps_them_after_an_advance(shell: Session) -> None:
    assert shell.execute("date").stdout.startswith("Mon Mar  2 09:")
    shell.execute("echo one > /home/alation/first.txt")
    shell.execute("echo more | tee /home/alation/teed.txt")
    first = listing(shell, "/home/alation")
    assert re.fullmatch(r"Mar 2 09:\d\d", first["first.txt"]), first
    assert re.fullmatch(r"Mar 2 09:\d\d", first["teed.txt"]), first
    shell.execute("sim advance 3d")
    assert shell.execute("date").stdout.startswith("Thu Mar  5 09:")
    shell.execute("echo two >> /home/alation/second.txt")
    after = listing(shell, "/home/alation")
    assert after["first.txt"] == first["first.txt"]  # written before the advance: still dated then
    assert re.fullmatch(r"Mar 5 09:\d\d", after["second.txt"]), after
    backups = listing(shell, "/data2/backup")
    assert any(re.fullmatch(r"Mar 5 01:00", when) for when in backups.values()), backups
    # -t sorts newest first on the same timeline
    assert shell.execute("ls -t /home/alation").stdout.split()[:1] == ["second.txt"]


def test_ls_six_month_rule_is_against_the_virtual_now(shell: Session) -> None:
    shell.execute("echo one > /home/alation/old.txt")
    clock.advance(shell.instance, clock.parse_duration("200d"))  # no backups on the way: only the clock
    assert listing(shell, "/home/alation")["old.txt"] == "Mar 2 2026"


def test_supervisor_uptime_and_stop_time_are_virtual(shell: Session) -> None:
    clock.advance(shell.instance, clock.parse_duration("1d2h"))
    status = shell.execute("alation_supervisor status").stdout
    assert re.search(r"pid \d+, uptime 1 day, 2:00:\d\d", status), status
    shell.execute("alation_supervisor stop lineage")
    line = next(line for line in shell.execute("alation_supervisor status").stdout.splitlines()
                if line.startswith("lineage"))
    assert line.split("STOPPED")[1].strip() == "Mar 03 11:00 AM", line


def test_backup_lock_message_gives_the_virtual_start(shell: Session) -> None:
    clock.advance(shell.instance, clock.parse_duration("3d"))
    with BackupLock(shell.instance, "backup"):
        import threading

        seen: list[str] = []

        def other() -> None:
            try:
                with BackupLock(shell.instance, "restore"):
                    pass
            except BackupInProgress as exc:
                seen.append(exc.message)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(seen) == 1 and "started 2026-03-05 09:0" in seen[0] and seen[0].count("UTC") == 1, seen


def test_psql_now_is_the_virtual_time(shell: Session) -> None:
    clock.advance(shell.instance, clock.parse_duration("3d"))
    out = shell.execute("alation_psql -At -c 'select now(), current_date'").stdout
    stamp, day = out.strip().split("|")
    assert stamp.startswith("2026-03-05 09:0") and day == "2026-03-05", out


def test_a_backup_taken_at_0901_shows_0901_in_sim_backups_and_ls(shell: Session) -> None:
    clock.advance(shell.instance, clock.parse_duration("1m"))
    assert shell.execute("alation_action backup_all").exit_code == 0
    assert shell.execute("alation_action backup_all").exit_code == 0  # same minute: the next label, in order
    timeline = [line for line in shell.execute("sim backups").stdout.splitlines() if "full" in line]
    assert [line[:20] for line in timeline] == ["2026-03-02 Mon 09:01", "2026-03-02 Mon 09:02"], timeline
    dates = listing(shell, "/data2/backup")
    assert dates["202603020901_17-0-0-49181_alation_backup.tar.gz"] == "Mar 2 09:01", dates


def test_every_listing_after_a_procedure_is_on_the_virtual_clock(shell: Session) -> None:
    """After the things a procedure does (a set, keys, a deploy, backups, a file written), no `ls -l` row of
    the directories an operator looks at shows the host's date: every one is within the virtual six months
    (`Mon DD HH:MM`, never a year), directories and the files the emulator writes included."""
    answered = Session(shell.instance, ask=lambda prompt: "YES")
    for line in ("sim advance 3d", "alation_conf alation.backup_v2.incr_backup -s True",
                 "alation_action create_saml_keys", "alation_action cluster_generate_keys",
                 "alation_action deploy_conf_all", "alation_action backup_all", "echo x > /home/alationadmin/x"):
        assert answered.execute(line).exit_code == 0, line
    for path in ("/", "/etc/alation", "/data2", "/data2/backup", "/opt/alation/site", "/opt/alation/site/logs",
                 "/opt/alation/site/saml", "/opt/alation/site/config", "/home", "/home/alationadmin", "/data1"):
        rows = shell.execute(f"ls -l {path}").stdout.splitlines()[1:]
        rows += shell.execute(f"ls -la {path}").stdout.splitlines()[1:3]  # . and .. (the rest: emulator locks)
        for row in rows:
            assert re.search(r" [A-Z][a-z]{2} [ \d]\d \d\d:\d\d ", row), f"{path}: {row}"
            assert " Dec " not in row, f"{path}: {row}"
    # Directories sort by the same times: the backup directory, changed last, comes first under /data2.
    assert shell.execute("ls -t /data2").stdout.split()[0] == "backup"
