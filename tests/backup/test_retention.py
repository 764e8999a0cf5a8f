"""Retention as a matrix: incremental versions x keep_cycles x number of backups taken."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from alation_shell.backup.retention import cycles, plan_retention


class Rec:
    """A backup as retention sees it (label, kind, base); the engine's BackupRecord has the same fields."""

    def __init__(self, label: str, kind: str, base: str | None = None, fmt: str = "v2") -> None:
        self.label = label
        self.kind = kind
        self.base = base
        self.format = fmt

    def __repr__(self) -> str:
        return f"{self.kind}:{self.label}"


def nightly(count: int, versions: int) -> list[Rec]:
    """`count` nightly backups under an incremental cycle of `versions` (0: every backup full)."""
    records: list[Rec] = []
    full: str | None = None
    taken = 0
    day = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    for i in range(count):
        label = (day + timedelta(days=i)).strftime("%Y%m%d%H%M")
        if full is None or taken >= versions:
            records.append(Rec(label, "full"))
            full, taken = label, 0
        else:
            records.append(Rec(label, "incr", full))
            taken += 1
    return records


@pytest.mark.parametrize("versions", [0, 1, 4, 6])
@pytest.mark.parametrize("keep", [0, 1, 2, 7])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 7, 8, 15, 30])
def test_matrix(versions: int, keep: int, count: int) -> None:
    records = nightly(count, versions)
    doomed = plan_retention(records, keep)
    kept = [r for r in records if r not in doomed]
    length = versions + 1
    total_cycles = math.ceil(count / length)
    if keep == 0 or total_cycles <= keep:
        assert doomed == []
    else:
        assert len(doomed) == (total_cycles - keep) * length
        assert len(cycles(kept)) == keep
    # The oldest go first, the newest never goes, and every kept incremental keeps its full.
    assert doomed == records[: len(doomed)]
    if records:
        assert records[-1] in kept
    kept_labels = {r.label for r in kept}
    assert all(r.base in kept_labels for r in kept if r.kind == "incr")


def test_cycle_in_progress_counts_as_one() -> None:
    # versions 4, keep 1: after the second full the first cycle (full + 4 incr) goes.
    records = nightly(6, 4)
    assert [r.label for r in plan_retention(records, 1)] == [r.label for r in records[:5]]
    assert plan_retention(records[:5], 1) == []


def test_orphan_incrementals_go_with_their_cycle() -> None:
    # A full removed by hand leaves its incrementals: they form a cycle of their own and age out with it.
    records = nightly(10, 4)[1:]  # the first full is gone
    grouped = cycles(records)
    assert [len(g) for g in grouped] == [4, 5]
    assert plan_retention(records, 1) == records[:4]


def test_mixed_v1_and_v2() -> None:
    records = [Rec("202603030100", "full", fmt="v1"), Rec("202603040100", "full", fmt="v1"),
               *nightly(3, 4)]
    records[2:] = [Rec(f"2026030{5 + i}0100", r.kind, r.base and "202603050100") for i, r in
                   enumerate(records[2:])]
    assert [[r.label for r in g] for g in cycles(records)] == [
        ["202603030100"], ["202603040100"], ["202603050100", "202603060100", "202603070100"]]
    assert plan_retention(records, 2) == records[:1]
