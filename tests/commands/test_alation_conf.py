"""`alation_conf` through the session, as an operator types it."""

from __future__ import annotations

import json

from alation_shell.instance import Instance
from alation_shell.session import Session


def test_seed_procedure(shell: Session) -> None:
    r = shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    assert (r.stdout, r.stderr, r.exit_code) == ("alation.backup_v2.incr_backup = True\n", "", 0)
    r = shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 4")
    assert r.stdout == "alation.backup_v2.incr_backup_versions = 4\n"
    assert r.stderr == ""  # no restart needed (seed)
    assert shell.execute("alation_conf alation.backup_v2.incr_backup").stdout == (
        "alation.backup_v2.incr_backup = True\n"
    )
    assert shell.execute("exit").stop


def test_pattern_read_prints_every_match_sorted(shell: Session) -> None:
    shell.execute("alation_conf alation.backup_v2.incr_backup -s True")
    r = shell.execute("alation_conf incr_backup")
    assert r.stdout == "alation.backup_v2.incr_backup = True\nalation.backup_v2.incr_backup_versions = 0\n"
    assert shell.execute("alation_conf base_url").stdout == "alation.install.base_url = http://alation-demo\n"


def test_unknown_name_fails_with_close_matches(shell: Session) -> None:
    r = shell.execute("alation_conf alation.backup_v2.incr_bakup")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("alation_conf: no parameter matches 'alation.backup_v2.incr_bakup'; did you mean")


def test_flag_first_and_several_pairs(shell: Session) -> None:
    r = shell.execute("alation_conf -s True alation.feature_flags.enable_swagger")
    assert r.stdout == "alation.feature_flags.enable_swagger = True\n"
    r = shell.execute(
        "alation_conf alation.feature_flags.enable_lineage_v2 -s True alation.feature_flags.enable_gbm_v2 -s True"
        " alation.feature_flags.enable_swagger -s False"
    )
    assert r.stdout.splitlines() == [
        "alation.feature_flags.enable_lineage_v2 = True",
        "alation.feature_flags.enable_gbm_v2 = True",
        "alation.feature_flags.enable_swagger = False",
    ]
    assert r.stderr == (
        "note: alation.feature_flags.enable_lineage_v2, alation.feature_flags.enable_gbm_v2,"
        " alation.feature_flags.enable_swagger takes effect after `alation_action restart_alation`\n"
    )


def test_invalid_value_changes_nothing(shell: Session, instance: Instance) -> None:
    shell.execute("alation_conf alation.backup.scheduled_hour -s 9")
    before = instance.conf_file.read_bytes()
    r = shell.execute(
        "alation_conf alation.backup_v2.incr_backup -s True alation.backup_v2.incr_backup_versions -s four"
    )
    assert r.exit_code == 1
    assert r.stderr == (
        "alation_conf: invalid value 'four' for alation.backup_v2.incr_backup_versions:"
        " expected a whole number (0 or more)\n"
    )
    assert instance.conf_file.read_bytes() == before


def test_schedule_set_names_the_supervisord_restart(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_conf alation.backup.scheduled_hour -s 9")
    assert r.stdout == "alation.backup.scheduled_hour = 9\n"
    assert r.stderr == "note: the new schedule takes effect after `sudo /etc/init.d/supervisord restart`\n"
    pending = json.loads((instance.var / "pending_restarts.json").read_text())
    assert pending == {"supervisord": ["alation.backup.scheduled_hour"]}
    r = shell.execute("alation_conf alation.backup.scheduled_day -s tue,sat")
    assert r.stdout == "alation.backup.scheduled_day = tue,sat\n"


def test_usage_errors(shell: Session) -> None:
    for line, fragment in [
        ("alation_conf", "missing parameter name"),
        ("alation_conf alation.backup_v2.incr_backup -s", "-s needs a VALUE"),
        ("alation_conf -s True", "missing its parameter NAME"),
        ("alation_conf a -s 1 b", "has no -s VALUE"),
        ("alation_conf --bogus", "unknown option '--bogus'"),
        ("alation_conf --describe", "--describe takes one"),
    ]:
        r = shell.execute(line)
        assert r.exit_code == 2, line
        assert fragment in r.stderr, (line, r.stderr)
        assert r.stderr.count("\n") == 1
        assert "usage: alation_conf NAME [-s VALUE]" in r.stderr
        assert ") (" not in r.stderr and "((" not in r.stderr and "))" not in r.stderr, r.stderr


def test_additions(shell: Session) -> None:
    help_text = shell.execute("alation_conf --help").stdout
    assert "Additions of this emulator" in help_text
    listing = shell.execute("alation_conf --list").stdout.splitlines()
    assert len(listing) >= 48
    assert listing == sorted(listing)
    assert shell.execute("alation_conf -l scheduled_").stdout.splitlines() == [
        "alation.backup.scheduled_day = mon,tue,wed,thu,fri,sat,sun",
        "alation.backup.scheduled_hour = 1",
        "alation.backup.scheduled_minute = 0",
    ]
    shell.execute("alation_conf alation.backup_v2.incr_backup_versions -s 6")
    described = shell.execute("alation_conf --describe alation.backup_v2.incr_backup_versions").stdout
    assert "default:  0" in described and "current:  6" in described and "restart:  none needed" in described
    assert shell.execute("alation_conf --changed").stdout == "alation.backup_v2.incr_backup_versions = 6\n"
    r = shell.execute("alation_conf --reset alation.backup_v2.incr_backup_versions")
    assert r.stdout == "alation.backup_v2.incr_backup_versions = 0\n"
    r = shell.execute("alation_conf --changed")
    assert (r.stdout, r.exit_code) == ("", 0)


def test_secret_is_masked(shell: Session) -> None:
    assert shell.execute("alation_conf alation.email.email_password -s 'pass word@123'").stdout == (
        "alation.email.email_password = ********\n"
    )


def test_quoted_values_keep_spaces(shell: Session) -> None:
    r = shell.execute('alation_conf alation.email.host -s "smtp relay.example.com"')
    assert r.stdout == "alation.email.host = smtp relay.example.com\n"


def test_the_staging_directory_must_lie_inside_data2(shell: Session) -> None:
    """Anything a backup stages it removes again: outside /data2 (or in /data2/backup) it could be the
    operator's own files, so such a value is refused when set, and nothing is changed."""
    conf = shell.instance.conf_file
    before = conf.read_bytes() if conf.exists() else None
    for value in ("/home", "/home/alationadmin", "/", "/data1/tmp", "/data2", "/data2/backup", "/data2/backup/t",
                  "/data2/../home", "/data2/./tmp", "''"):
        r = shell.execute(f"alation_conf alation.backup.data_temp_dir -s {value}")
        shown = "" if value == "''" else value
        assert (r.exit_code, r.stdout) == (1, ""), value
        assert r.stderr == (
            f"alation_conf: invalid value {shown!r} for alation.backup.data_temp_dir: expected a directory inside "
            "/data2, not /data2/backup or anything in it (e.g. /data2/tmp)\n"), value
        assert (conf.read_bytes() if conf.exists() else None) == before
    r = shell.execute("alation_conf alation.backup.data_temp_dir -s /data2//staging/")
    assert (r.stdout, r.exit_code) == ("alation.backup.data_temp_dir = /data2/staging\n", 0)


def test_a_staging_directory_set_by_hand_outside_data2_stays_readable(shell: Session) -> None:
    """A value written into the file by hand is not a corrupt file: it reads back, and the backup is what
    refuses it (tests/backup/test_actions.py)."""
    conf = shell.instance.conf_file
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text('"alation.backup.data_temp_dir" = "/home"\n')
    r = shell.execute("alation_conf alation.backup.data_temp_dir")
    assert (r.stdout, r.exit_code) == ("alation.backup.data_temp_dir = /home\n", 0)
    assert shell.execute("alation_conf --reset alation.backup.data_temp_dir").ok
    assert shell.execute("alation_conf alation.backup.data_temp_dir").stdout == (
        "alation.backup.data_temp_dir = /data2/tmp\n")


def test_a_partial_name_says_which_parameters_match(shell: Session, instance: Instance) -> None:
    conf_file = instance.root / "opt/alation/site/config/alation_conf.toml"
    before = conf_file.read_bytes() if conf_file.exists() else None
    expected = ("alation_conf: 'restore_file' is not a full parameter name; it matches 2 parameters: "
                "alation.backup.eb_restore_file, alation.backup.restore_file\n")
    for line in ("alation_conf --describe restore_file", "alation_conf restore_file -s /data2/backup/x.tar.gz",
                 "alation_conf --reset restore_file"):
        r = shell.execute(line)
        assert (r.exit_code, r.stdout, r.stderr) == (1, "", expected), line
    r = shell.execute("alation_conf scheduled_hou -s 3")  # one match: named, but nothing set on a guess
    assert r.stderr == ("alation_conf: 'scheduled_hou' is not a full parameter name; it matches 1 parameter: "
                        "alation.backup.scheduled_hour\n")
    r = shell.execute("alation_conf --describe backup")
    assert r.exit_code == 1 and "it matches 11 parameters: " in r.stderr and " and 6 more; " in r.stderr
    assert "`alation_conf -l backup` lists them" in r.stderr
    assert shell.execute("alation_conf --describe zzz_nothing").stderr.startswith("alation_conf: no parameter matches")
    assert shell.execute("alation_conf --changed").stdout == ""
    assert (conf_file.read_bytes() if conf_file.exists() else None) == before


def test_describe_of_a_partial_name_with_one_match_shows_it(shell: Session) -> None:
    r = shell.execute("alation_conf --describe eb_restore")
    assert r.exit_code == 0
    assert r.stdout == shell.execute("alation_conf --describe alation.backup.eb_restore_file").stdout
    assert r.stdout.startswith("alation.backup.eb_restore_file\n")


def test_describe_names_sources_in_words_not_citation_tags(shell: Session) -> None:
    import re

    tag = re.compile(r"\b[SACK]\d+\b")  # `docs S15`, `scripts C1, C5`: the reference's citation tags
    for line in shell.execute("alation_conf --list").stdout.splitlines():
        name = line.split(" = ")[0]
        origin = next(row for row in shell.execute(f"alation_conf --describe {name}").stdout.splitlines()
                      if row.startswith("  origin:"))
        assert not tag.search(origin), origin
    described = shell.execute("alation_conf --describe lineage-service.features.enable_pagination").stdout
    assert 'origin:   Alation, known from the documentation page "Enable Pagination for Lineage"' in described
