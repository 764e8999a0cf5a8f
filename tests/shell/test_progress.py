"""Progress lines on a terminal: rate, ETA, and no leftovers of a longer earlier line."""

from __future__ import annotations

import io

from alation_shell.progress import Progress, human_bytes
from alation_shell.shell.progress import ProgressBar


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 5 << 20, 3 << 30)] == [
        "0 B", "1023 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"
    ]


def test_a_shorter_line_blanks_what_the_longer_one_left() -> None:
    out = io.StringIO()
    bar = ProgressBar("backup x.tar.gz", 10 << 20, out)
    bar.update(1 << 20)  # drawn with an ETA
    bar.finish()  # drawn without one: shorter
    first, last = out.getvalue().split("\r")[1:]
    assert "ETA" in first and "ETA" not in last.rstrip("\n")
    assert len(last.rstrip("\n")) >= len(first)
    assert last.startswith("backup x.tar.gz  100.0%  10.0 MiB/10.0 MiB")


def test_counts_in_other_units_and_silence_without_a_stream() -> None:
    out = io.StringIO()
    bar = ProgressBar("rebuild_es_index", 2000, out, unit="documents")
    bar.finish()
    assert "2000 documents/2000 documents" in out.getvalue()
    quiet = Progress("x", 10)
    quiet.update(5)
    quiet.finish()
