"""The line of each key and array element of a TOML text, as tomllib indexes the parsed value."""

from __future__ import annotations

import tomllib

from alation_shell.training.tomllines import KeyLines

TEXT = '''\
# a comment with [brackets] and = signs
title = "a [not a table] # not a comment"
summary = """
two lines
with ] and } inside"""

[setup]
settings = { "alation.x" = true, plain = 'it is' }

[[steps]]
instruction = "first"
check = [
    { parameter = "a", equals = 1 },
    { any = [
        { ran = "sim clock" },
        { file = "/x" },
    ] },
]

[[steps]]
a.b.c = 3
check = { parameter = "b", equals = "x,y" }

[steps.setup]
backups = 2
'''


def test_lines_follow_tables_arrays_and_inline_tables() -> None:
    data = tomllib.loads(TEXT)  # the scanner is only ever given text tomllib accepted
    lines = KeyLines(TEXT)
    assert data["steps"][0]["check"][1]["any"][1]["file"] == "/x"
    expected = {
        ("title",): 2,
        ("summary",): 3,
        ("setup",): 7,
        ("setup", "settings"): 8,
        ("setup", "settings", "alation.x"): 8,
        ("setup", "settings", "plain"): 8,
        ("steps", 0): 10,
        ("steps", 0, "instruction"): 11,
        ("steps", 0, "check"): 12,
        ("steps", 0, "check", 0): 13,
        ("steps", 0, "check", 0, "equals"): 13,
        ("steps", 0, "check", 1): 14,
        ("steps", 0, "check", 1, "any", 0, "ran"): 15,
        ("steps", 0, "check", 1, "any", 1, "file"): 16,
        ("steps", 1): 20,
        ("steps", 1, "a", "b", "c"): 21,
        ("steps", 1, "check", "equals"): 22,
        ("steps", 1, "setup"): 24,
        ("steps", 1, "setup", "backups"): 25,
    }
    assert {path: lines.line(path) for path in expected} == expected


def test_a_path_without_a_line_of_its_own_takes_its_nearest_ancestors() -> None:
    lines = KeyLines(TEXT)
    assert lines.line(("steps", 0, "check", 0, "nothing", 3)) == 13
    assert lines.line(("nowhere",)) == 1
