"""Completion: `suggest()` (what kind of word is expected) and the Completer (what it offers, in what order)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from pygments.token import Name

from alation_shell.commands import COMMANDS
from alation_shell.commands.actions import actions
from alation_shell.config.catalog import catalog
from alation_shell.config.registry import Registry
from alation_shell.instance import Instance
from alation_shell.node import supervisord
from alation_shell.session import Session
from alation_shell.shell.completion import (
    ACTION,
    COMMAND,
    FLAG,
    GROUP,
    PARAMETER,
    PATH,
    SUBCOMMAND,
    TOPIC,
    VALUE,
    VERB,
    WORD,
    ShellCompleter,
    Suggestion,
    match_rank,
    split_words,
    suggest,
)
from alation_shell.shell.lexer import lexer_for

INCR = "alation.backup_v2.incr_backup"
VERSIONS = "alation.backup_v2.incr_backup_versions"
# What the usage lines of the command table show after `sudo`.
SUDO_FIRST = ("/etc/init.d/supervisord", "service", "/etc/init.d/alation", "chown", "su")


# suggest(): the kind of word expected --------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [Suggestion(COMMAND, "", 0)]),
        ("alation_c", [Suggestion(COMMAND, "alation_c", 0)]),
        ("alation_conf alation.backup_v2.in", [Suggestion(PARAMETER, "alation.backup_v2.in", 13)]),
        ("alation_conf 'alation.backup", [Suggestion(PARAMETER, "alation.backup", 13)]),
        (
            f"alation_conf {INCR} ",
            [Suggestion(FLAG, "", 43, command="alation_conf", only=("-s",)), Suggestion(PARAMETER, "", 43)],
        ),
        (f"alation_conf {INCR} -s ", [Suggestion(VALUE, "", 46, parameter=INCR)]),
        (f"alation_conf {INCR} -s Tr", [Suggestion(VALUE, "Tr", 46, parameter=INCR)]),
        ("alation_conf -s True ", [Suggestion(PARAMETER, "", 21, value="True")]),
        ("alation_conf -s 4 alation.b", [Suggestion(PARAMETER, "alation.b", 18, value="4")]),
        (f"alation_conf {INCR} -s True {VERSIONS} -s ", [Suggestion(VALUE, "", 93, parameter=VERSIONS)]),
        ("alation_conf -", [Suggestion(FLAG, "-", 13, command="alation_conf")]),
        ("alation_conf a.b -", [Suggestion(FLAG, "-", 17, command="alation_conf", only=("-s",))]),
        ("alation_conf --describe ", [Suggestion(PARAMETER, "", 24)]),
        ("alation_conf --describe a.b ", []),
        ("alation_conf --reset a.b c", [Suggestion(PARAMETER, "c", 25)]),
        ("alation_conf --changed ", []),
        ("alation_conf alation.backup.restore_file -s /da",
         [Suggestion(VALUE, "/da", 44, parameter="alation.backup.restore_file")]),
        ("alation_conf alation.backup.data_temp_dir -s /da", [Suggestion(PATH, "/da", 45)]),
        ("alation_conf nosuch.name -s ", []),
        ("alation_action ", [Suggestion(ACTION, "", 15)]),
        ("alation_action backup_all ", []),
        ("alation_supervisor ", [Suggestion(VERB, "", 19)]),
        ("alation_supervisor restart w", [Suggestion(GROUP, "w", 27)]),
        ("sim ", [Suggestion(SUBCOMMAND, "", 4, command="sim")]),
        ("sim verify ", [Suggestion(PATH, "", 11)]),
        ("sim advance ", []),
        ("help al", [Suggestion(TOPIC, "al", 5)]),
        ("ls /data2/", [Suggestion(PATH, "/data2/", 3)]),
        ("ls -", [Suggestion(FLAG, "-", 3, command="ls")]),
        ("sudo alation_conf alation.b", [Suggestion(PARAMETER, "alation.b", 18)]),
        ("sudo /etc/", [Suggestion(WORD, "/etc/", 5, only=SUDO_FIRST), Suggestion(COMMAND, "/etc/", 5)]),
        ("sudo /etc/init.d/supervisord ", [Suggestion(WORD, "", 29, only=("restart", "status"))]),
        ("sudo service supervisord r", [Suggestion(WORD, "r", 25, only=("restart", "status"))]),
        ("/etc/init.d/supervisord ", [Suggestion(WORD, "", 24, only=("restart", "status"))]),
        ("sudo ls /d", [Suggestion(PATH, "/d", 8)]),
        ("exit ", []),
        ("nosuchcommand ", []),
        ("alation_conf x # a comment ", []),
        ("alation_conf x#y", []),
    ],
)
def test_suggest(text: str, expected: list[Suggestion]) -> None:
    assert suggest(text) == expected


def test_split_words_follows_shell_quoting() -> None:
    assert split_words("a 'b c' d\\ e \"f\\\"g") == (["a", "b c", "d e"], 'f"g', 13)
    assert split_words("a b ") == (["a", "b"], "", 4)
    assert split_words("a 'b#c' d") == (["a", "b#c"], "d", 8)
    assert split_words("# all comment") is None


def test_match_rank_orders_prefix_then_segment_then_tight_fuzzy() -> None:
    assert match_rank("ALATION.backup", "alation.backup.scheduled_hour") == (0, 0, 0)
    assert match_rank("incr", INCR)[0] == 1
    assert match_rank("vers", VERSIONS)[0] == 1  # `versions` is a segment after `_`
    fuzzy = match_rank("incvers", VERSIONS)
    assert fuzzy is not None and fuzzy[0] == 2
    assert match_rank("zzz", VERSIONS) is None
    # The tightest subsequence wins, not the first greedy one.
    assert match_rank("ac", "aqqqqcxac") == (2, 1, 7)


# The Completer ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """One instance for the tests that only read it."""
    root = tmp_path_factory.mktemp("completion") / "instance"
    shutil.copytree(seeded_template, root, symlinks=True)
    return Instance(root)


@pytest.fixture
def session(shared: Instance) -> Session:
    return Session(shared)


@pytest.fixture
def completer(session: Session) -> ShellCompleter:
    completer = ShellCompleter(session)
    completer.refresh()
    return completer


@pytest.fixture
def own(instance: Instance) -> ShellCompleter:
    """A completer on an instance of its own, for the tests that change the instance."""
    completer = ShellCompleter(Session(instance))
    completer.refresh()
    return completer


def complete(completer: ShellCompleter, text: str) -> list:
    return list(completer.get_completions(Document(text), CompleteEvent(completion_requested=True)))


def texts(completer: ShellCompleter, text: str) -> list[str]:
    return [c.text for c in complete(completer, text)]


def test_dotted_name_completes_whole_word(completer: ShellCompleter) -> None:
    [only] = complete(completer, "alation_conf alation.backup_v2.incr_backup_v")
    assert only.text == VERSIONS
    assert only.start_position == -len("alation.backup_v2.incr_backup_v")  # the whole dotted word is replaced
    assert only.display_meta_text == "int = 0"


def test_fuzzy_subsequence_finds_names(completer: ShellCompleter) -> None:
    assert texts(completer, "alation_conf incvers")[0] == VERSIONS
    assert texts(completer, "alation_conf bkschhour")[0] == "alation.backup.scheduled_hour"


def test_prefix_matches_rank_before_segment_and_fuzzy_ones(completer: ShellCompleter) -> None:
    found = texts(completer, "alation_conf alation.backup.s")
    prefixed = [n for n in found if n.startswith("alation.backup.s")]
    assert prefixed == ["alation.backup.scheduled_minute", "alation.backup.scheduled_hour",
                        "alation.backup.scheduled_day"]
    assert found[: len(prefixed)] == prefixed
    assert len(found) > len(prefixed)  # fuzzy ones follow
    segment = texts(completer, "alation_conf incr")
    assert segment[:2] == [INCR, VERSIONS]


def test_every_parameter_is_offered_for_an_empty_word(completer: ShellCompleter) -> None:
    names = texts(completer, "alation_conf ")
    assert names == [p.name for p in catalog().parameters]


def test_meta_shows_type_and_current_value_refreshed_per_prompt(
    own: ShellCompleter, instance: Instance
) -> None:
    [before] = complete(own, f"alation_conf {INCR}_")
    assert before.display_meta_text == "int = 0"
    Registry.for_instance(instance).set_many([(VERSIONS, "4"), (INCR, "True")])
    assert complete(own, f"alation_conf {INCR}_")[0].display_meta_text == "int = 0"  # until the next prompt
    own.refresh()
    assert complete(own, f"alation_conf {INCR}_")[0].display_meta_text == "int = 4"
    assert complete(own, f"alation_conf {INCR}")[0].display_meta_text == "bool = True"


def test_secret_values_stay_masked_in_meta(own: ShellCompleter, instance: Instance) -> None:
    Registry.for_instance(instance).set_many([("alation.email.email_password", "hunter2")])
    own.refresh()
    [found] = complete(own, "alation_conf alation.email.email_pass")
    assert found.display_meta_text == "secret = ********"


def test_values_after_a_name(completer: ShellCompleter) -> None:
    values = complete(completer, f"alation_conf {INCR} -s ")
    assert [(v.text, v.display_meta_text) for v in values] == [("True", ""), ("False", "current")]
    assert texts(completer, f"alation_conf {INCR} -s t") == ["True"]  # case-insensitive
    assert texts(completer, "alation_conf alation.cluster.replication_mode -s ") == [
        "standalone", "primary", "secondary"
    ]
    days = texts(completer, "alation_conf alation.backup.scheduled_day -s ")
    assert {"mon", "tue", "sat", "mon,tue,wed,thu,fri,sat,sun"} <= set(days)
    assert texts(completer, "alation_conf alation.backup.scheduled_day -s t") == ["tue", "thu"]
    assert texts(completer, "alation_conf alation.backup.scheduled_hour -s ") == []


def test_value_first_then_name_offers_names_that_accept_the_value(completer: ShellCompleter) -> None:
    assert texts(completer, "alation_conf -s 4 alation.backup_v2.incr") == [VERSIONS]
    assert texts(completer, "alation_conf -s True alation.backup_v2.incr") == [INCR]
    # A value no parameter accepts does not hide every name.
    assert INCR in texts(completer, "alation_conf -s \x01 alation.backup_v2.incr")


def test_flags_after_a_dash(completer: ShellCompleter) -> None:
    first = complete(completer, "alation_conf -")
    assert {"-s", "-h", "--help", "-l", "--list", "--describe", "--reset", "--changed"} == {f.text for f in first}
    assert texts(completer, "alation_conf --") == ["--describe", "--help", "--list", "--reset", "--changed"]
    described = {f.text: f.display_meta_text for f in first}
    assert described["--reset"] == "put parameters back to their defaults"
    assert texts(completer, f"alation_conf {INCR} -") == ["-s"]
    assert texts(completer, f"alation_conf {INCR} ")[0] == "-s"


def test_command_names_and_help_topics(completer: ShellCompleter) -> None:
    assert texts(completer, "")[: len(COMMANDS.visible())] == [c.name for c in COMMANDS.visible()]
    assert texts(completer, "alation_")[:3] == ["alation_conf", "alation_action", "alation_supervisor"]
    assert "logout" not in texts(completer, "logo")  # hidden commands are not offered
    assert texts(completer, "help alation_c")[0] == "alation_conf"


def test_actions_come_from_the_action_table(completer: ShellCompleter) -> None:
    offered = complete(completer, "alation_action ")
    assert [(c.text, c.display_meta_text) for c in offered] == [
        (a.name, a.description if len(a.description) <= 40 else a.description[:39] + "…") for a in actions()
    ]
    assert texts(completer, "alation_action back")[0] == "backup_all"
    assert texts(completer, "alation_action destr")[0] == "destructive_restore_all"
    assert texts(completer, "alation_action clfail") == ["cluster_failover"]
    assert texts(completer, "alation_action backup_all ") == []


def test_supervisor_verbs_groups_and_sim_subcommands_come_from_their_modules(completer: ShellCompleter) -> None:
    assert texts(completer, "alation_supervisor ") == list(supervisord.VERBS)
    assert texts(completer, "alation_supervisor restart ") == list(supervisord.GROUPS)
    assert texts(completer, "alation_supervisor restart web") == ["web:*", "web:uwsgi"]
    assert texts(completer, "sim ") == ["clock", "advance", "backups", "verify", "reset"]
    assert texts(completer, "sim verify /data2/") == ["/data2/backup/", "/data2/tmp/"]


def test_sudo_offers_the_init_scripts_its_usage_lines_show(completer: ShellCompleter) -> None:
    assert texts(completer, "sudo /etc/init.d/sup") == ["/etc/init.d/supervisord"]
    assert texts(completer, "sudo sup")[:2] == ["/etc/init.d/supervisord", "alation_supervisor"]
    assert texts(completer, "sudo /etc/init.d/supervisord r") == ["restart"]
    assert texts(completer, "sudo service supervisord ") == ["restart", "status"]
    assert texts(completer, f"sudo alation_conf {INCR} -s ") == ["True", "False"]


def test_paths_complete_inside_the_instance(completer: ShellCompleter, session: Session) -> None:
    assert texts(completer, "ls /data2/") == ["/data2/backup/", "/data2/tmp/"]
    assert texts(completer, "ls /data2/b") == ["/data2/backup/"]
    assert texts(completer, "cat /opt/alation/django/main/al") == ["/opt/alation/django/main/alation_version.py"]
    session.cwd = "/data2"
    assert texts(completer, "ls b") == ["backup/"]
    assert texts(completer, "ls ../da") == ["../data1/", "../data2/"]
    restore = texts(completer, "alation_conf alation.backup.restore_file -s /data2/")
    assert restore == ["/data2/backup/", "/data2/tmp/"]


def test_paths_never_list_outside_the_instance(own: ShellCompleter, instance: Instance) -> None:
    top = sorted(p.name + "/" for p in instance.root.iterdir() if p.is_dir())
    assert [t.lstrip("/") for t in texts(own, "ls /")] == top
    # `..` stops at the root, as in a chroot.
    assert texts(own, "ls /../../../") == [f"/../../../{name}" for name in top]
    # An absolute link inside the instance points inside it; a relative one climbing out stops at the root.
    os.symlink("/", instance.root / "data2" / "to_root")
    os.symlink("../../../../../../../..", instance.root / "data2" / "climb")
    assert texts(own, "ls /data2/to_root/") == [f"/data2/to_root/{name}" for name in top]
    assert texts(own, "ls /data2/climb/") == [f"/data2/climb/{name}" for name in top]
    assert "/data2/to_root/" in texts(own, "ls /data2/")
    host_only = {"proc", "usr", "bin", "sys"} - {name.rstrip("/") for name in top}
    assert not any(t.rstrip("/").rsplit("/", 1)[-1] in host_only for t in texts(own, "ls /data2/to_root/"))


def test_paths_with_spaces_are_quoted(own: ShellCompleter, instance: Instance) -> None:
    (instance.root / "data2" / "backup" / "my file.tar.gz").write_bytes(b"")
    [found] = complete(own, "ls /data2/backup/my")
    assert found.text == "'/data2/backup/my file.tar.gz'"
    assert found.display_text == "my file.tar.gz"


def test_hidden_entries_only_after_a_dot(own: ShellCompleter, instance: Instance) -> None:
    (instance.root / "data2" / ".staging").mkdir()
    assert "/data2/.staging/" not in texts(own, "ls /data2/")
    assert texts(own, "ls /data2/.") == ["/data2/.staging/"]


def test_nothing_inside_a_comment(completer: ShellCompleter) -> None:
    assert complete(completer, "alation_conf # alation.b") == []


def test_a_corrupt_config_file_does_not_break_completion(own: ShellCompleter, instance: Instance) -> None:
    instance.conf_file.write_text("this is [not toml\n")
    own.refresh()
    [found] = complete(own, f"alation_conf {INCR}_")
    assert found.display_meta_text == "int = 0"  # defaults shown; the command itself reports the file


def test_completion_and_highlighting_follow_the_sessions_table(shared: Instance) -> None:
    table = COMMANDS.without("sim")
    completer = ShellCompleter(Session(shared, table=table))
    assert "sim" in texts(ShellCompleter(Session(shared)), "si")
    assert "sim" not in texts(completer, "si") and "sim" not in texts(completer, "help si")
    assert suggest("sim ", table) == []
    assert next(iter(lexer_for(table)().get_tokens("sim clock")))[0] == Name
    assert next(iter(lexer_for(COMMANDS)().get_tokens("sim clock")))[0] == Name.Builtin


def test_restore_file_values_are_backup_tarballs_of_the_right_kind_newest_first(own: ShellCompleter,
                                                                                instance: Instance) -> None:
    from alation_shell.node import clock

    shell = own.session
    assert shell.execute("alation_action backup_all").exit_code == 0
    clock.advance(instance, clock.parse_duration("2h"))
    assert shell.execute("alation_action backup_all").exit_code == 0
    (instance.root / "data2/backup/notes.txt").write_text("not a backup\n")
    backups = sorted((instance.root / "data2/backup").glob("*.tar.gz"), reverse=True)
    main = [f"/data2/backup/{p.name}" for p in backups if "_eb_" not in p.name]
    events = [f"/data2/backup/{p.name}" for p in backups if "_eb_" in p.name]
    assert len(main) == len(events) == 2 and main[0].startswith("/data2/backup/202603021100")
    assert [c.text for c in complete(own, "alation_conf alation.backup.restore_file -s ")] == main
    assert [c.text for c in complete(own, "alation_conf alation.backup.eb_restore_file -s ")] == events
    assert [c.text for c in complete(own, "alation_conf alation.backup.restore_file -s /data2/backup/20260302090")] \
        == main[1:]


def test_day_names_complete_after_a_comma(completer: ShellCompleter) -> None:
    found = complete(completer, "alation_conf alation.backup.scheduled_day -s mon,")
    assert [c.text for c in found] == ["mon,tue", "mon,wed", "mon,thu", "mon,fri", "mon,sat", "mon,sun"]
    assert [c.display_text for c in found][:2] == ["tue", "wed"]
    found = complete(completer, "alation_conf alation.backup.scheduled_day -s mon,wed,f")
    assert [c.text for c in found] == ["mon,wed,fri"]


def test_descriptions_use_the_terminal_width(shared: Instance) -> None:
    from alation_shell.terminal import Terminal

    def metas(columns: int) -> list[str]:
        completer = ShellCompleter(Session(shared, terminal=Terminal(width=columns, interactive=True)))
        completer.refresh()
        return [c.display_meta_text for c in complete(completer, "alation_action ")]

    narrow, wide = metas(80), metas(160)
    assert max(map(len, narrow)) == 40 and narrow[0].endswith("…")
    assert max(map(len, wide)) > 40 and len(wide) == len(narrow)
    assert all(w.startswith(n.rstrip("…")) for n, w in zip(narrow, wide, strict=True))
