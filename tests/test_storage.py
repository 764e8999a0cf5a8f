"""State files: a damaged one is reported by name, with what is wrong and how to mend it, and never rewritten."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alation_shell.errors import StateCorrupt
from alation_shell.storage import MAX_STATE_BYTES, StateFile, whole


def state(tmp_path: Path, content: bytes | None) -> StateFile:
    path = tmp_path / "thing.json"
    if content is not None:
        path.write_bytes(content)
    return StateFile(path, "/var/thing.json", "remove it to start afresh")


def test_a_missing_file_is_no_state_and_a_json_object_is_read(tmp_path: Path) -> None:
    assert state(tmp_path, None).read() is None
    assert state(tmp_path, b'{"a": [1, 2]}\n').read() == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "empty (it should hold a JSON object)"),
        (b"  \n", "empty (it should hold a JSON object)"),
        (b'{"offset_us": 1,\n  oops}', "not valid JSON (Expecting property name enclosed in double quotes at line 2, "
                                       "column 3)"),
        (b'{"a": 1}}', "not valid JSON (Extra data at line 1, column 9)"),
        (b'{"a": "\xff"}', "not UTF-8 text (byte 7)"),
        (b"[" * 100_000, "not valid JSON (nested too deeply)"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON (a number has too many digits)"),
        (b"[1, 2]", "not a JSON object (it holds a list)"),
        (b'"text"', "not a JSON object (it holds a string)"),
        (b"null", "not a JSON object (it holds null)"),
        (b" " * MAX_STATE_BYTES + b"{}", "too large (more than 1024 KiB)"),
    ],
)
def test_a_damaged_file_is_named_with_what_is_wrong_and_left_alone(tmp_path: Path, content: bytes, what: str) -> None:
    file = state(tmp_path, content)
    with pytest.raises(StateCorrupt) as caught:
        file.read()
    assert caught.value.message == f"/var/thing.json: {what}; the file was left as it is: remove it to start afresh"
    assert file.path.read_bytes() == content


def test_what_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "thing.json")  # opening a FIFO to read would wait for a writer forever
    with pytest.raises(StateCorrupt, match="thing.json: not a regular file"):
        state(tmp_path, None).read()
    os.unlink(tmp_path / "thing.json")
    (tmp_path / "thing.json").mkdir()
    with pytest.raises(StateCorrupt, match="thing.json: not a regular file"):
        state(tmp_path, None).read()


def test_fields_are_checked_by_name(tmp_path: Path) -> None:
    file = state(tmp_path, b'{"n": 3, "flag": true}')
    data = file.read()
    assert data is not None
    assert file.field(data, "n", whole(0, 10), "a small number") == 3
    assert file.field(data, "missing", whole(0, 10), "a small number", required=False) is None
    with pytest.raises(StateCorrupt, match=r"thing.json: field 'missing' missing; the file was left as it is"):
        file.field(data, "missing", whole(0, 10), "a small number")
    with pytest.raises(StateCorrupt, match=r"thing.json: field 'flag' is not a small number;"):
        file.field(data, "flag", whole(0, 10), "a small number")  # a boolean is not a number here
    with pytest.raises(StateCorrupt, match=r"field 'n' is not a bigger number"):
        file.field(data, "n", whole(5, 10), "a bigger number")
