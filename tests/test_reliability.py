"""Any input line gives an exit status and at most a one-line error per command, never a traceback, and a
failing command leaves the configuration byte for byte as it was."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alation_shell.commands import COMMANDS
from alation_shell.config.catalog import catalog
from alation_shell.errors import ShellError
from alation_shell.grammar import parse
from alation_shell.instance import Instance
from alation_shell.node.seed import create_instance
from alation_shell.session import Session

# `sim advance` is left out: a random duration could ask for years of simulated nights.
WORDS = sorted(set(COMMANDS) - {"sim"}) + [p.name for p in catalog().parameters][:20] + [
    "-s", "--set", "-l", "--list", "--describe", "--reset", "--changed", "-h", "--help", "True", "false", "4",
    "-1", "tue,sat", "/", "..", "../../..", "/etc/passwd", "/data2/backup", "'", '"', "#", "\\", "status",
    "restart", "all", "web:*", "backup_all_nope", "restart_alation", "YES", "", "\x00", "\x1b[2J", "é", "😀",
]

lines = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), min_size=1, max_size=6).map(" ".join),
)


# Like coreutils, the file and text commands report each failing operand on its own line.
MULTI_OPERAND = {"ls", "cat", "tail", "du", "grep", "wc", "head", "cut", "tee", "df"}
PSQL_ERROR_LINES = 4  # psql's own layout: ERROR, LINE, the caret, HINT


def _commands(line: str) -> list[list[str]] | None:
    """The words of each command of the line (parameters left out), None when the line does not parse."""
    try:
        items = parse(line)
    except ShellError:
        return None
    pipelines = [p for item in items for p in [item.first, *(p for _, p in item.rest)]]
    return [["".join(part for part in word.parts if isinstance(part, str)) for word in command.words]
            for pipeline in pipelines for command in pipeline.commands]


def _error_lines_allowed(line: str) -> int:
    """One line per command, one per operand of the multi-operand ones, psql's layout per statement."""
    commands = _commands(line)
    if commands is None:
        return 1
    allowed = 0
    for argv in commands:
        while argv and argv[0] == "sudo":
            argv = argv[1:]
        if argv and argv[0] in MULTI_OPERAND:
            # One line per operand; a glob pattern is as many operands as it matches (at most the whole tree).
            allowed += sum(1000 if set(arg) & set("*?[") else 1 for arg in argv[1:]) or 1
        elif argv and argv[0] == "alation_psql":
            allowed += PSQL_ERROR_LINES * (line.count(";") + 1)
        else:
            allowed += 1
    return max(allowed, 1)


def _instance(tmp_path_factory) -> Instance:  # noqa: ANN001
    inst = Instance(tmp_path_factory.mktemp("fuzz") / "instance")
    create_instance(inst)
    Session(inst).execute("alation_conf alation.backup.scheduled_hour -s 9")
    return inst


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=lines)
def test_any_line_is_handled(tmp_path_factory, line: str) -> None:  # noqa: ANN001
    inst = getattr(test_any_line_is_handled, "_inst", None)
    if inst is None:
        inst = test_any_line_is_handled._inst = _instance(tmp_path_factory)  # type: ignore[attr-defined]
    before = inst.conf_file.read_bytes()
    result = Session(inst).execute(line)
    assert isinstance(result.exit_code, int) and 0 <= result.exit_code <= 255
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr, result.stderr
    if result.exit_code != 0:
        assert result.stderr == "" or result.stderr.endswith("\n"), result.stderr
        assert result.stderr.count("\n") <= _error_lines_allowed(line), result.stderr
        if len(_commands(line) or [()]) == 1:  # in `a; b`, `a` may have succeeded before `b` failed
            assert inst.conf_file.read_bytes() == before


def test_corrupt_config_in_a_real_process(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import env_for, tool

    home = tmp_path / "instance"
    env = env_for(home)
    subprocess.run([tool("alation-shell"), "-c", "alation_conf alation.backup_v2.incr_backup -s True"], env=env,
                   check=True, capture_output=True)
    conf = home / "etc/alation/alation_conf.toml"
    mangled = conf.read_text() + "alation.backup_v2.incr_backup_versions = = 4\n"
    conf.write_text(mangled)
    for line in ("alation_conf incr_backup", "alation_conf alation.backup_v2.incr_backup_versions -s 4"):
        r = subprocess.run([tool("alation-shell"), "-c", line], env=env, capture_output=True, text=True)
        assert r.returncode == 1
        assert r.stderr.startswith("alation_conf: /etc/alation/alation_conf.toml line 4: invalid TOML")
        assert r.stderr.endswith("; the file was left as it is: fix or remove it\n")
        assert str(home) not in r.stderr and r.stderr.count("\n") == 1  # the shell's name, never the host's
    assert conf.read_text() == mangled
