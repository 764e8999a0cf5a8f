"""The suite's own housekeeping: what a passed test wrote is freed without ever reaching outside its directory."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BULK, free_bulk


def test_free_bulk_removes_the_big_files_only_and_follows_no_link(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (root / "big").write_bytes(b"x" * BULK)
    (root / "a" / "b" / "big").write_bytes(b"x" * (BULK * 4))
    (root / "a" / "small").write_bytes(b"x" * (BULK - 1))
    (outside / "big").write_bytes(b"x" * BULK)
    (root / "link-to-file").symlink_to(outside / "big")
    (root / "a" / "link-to-dir").symlink_to(outside)
    free_bulk(root)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "a", "a/b", "a/link-to-dir", "a/small", "link-to-file"]
    assert (outside / "big").stat().st_size == BULK
    free_bulk(tmp_path / "gone")  # nothing there: nothing to do, no error
