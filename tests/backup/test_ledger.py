"""Labels strictly increase in the order backups are taken, and retention removes only this instance's own
backups, never the one it ran for (ledger.py): end to end through `alation_action backup_all`."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup import ledger
from alation_shell.backup.retention import plan_retention
from alation_shell.instance import Instance
from alation_shell.node import clock
from alation_shell.session import Session
from tests.backup import night

COMPLETE = re.compile(r"^backup (\d{12}) complete: (full|incremental) \(Backup V2(?:, base full (\d{12}))?\)", re.M)


def stand_still(instance: Instance, at: datetime = clock.START) -> None:
    """Stop the virtual clock at `at` (for a day of real time), as if every command ran in the same instant:
    the clock's real start is put in the future, so no real time has elapsed on it yet."""
    state = {"start": at.isoformat(), "real_start_us": time.time_ns() // 1000 + 86_400_000_000, "offset_us": 0}
    (instance.var / "clock.json").write_text(json.dumps(state))


def conf(shell: Session, *lines: str) -> None:
    for line in lines:
        result = shell.execute(f"alation_conf {line}")
        assert result.ok, result.stderr


def backup_all(shell: Session) -> tuple[str, str, str | None]:
    """One `alation_action backup_all`: (label, kind, base label), after checking it succeeded."""
    result = shell.execute("alation_action backup_all")
    assert result.ok, result.stderr
    label, kind, base = COMPLETE.search(result.stdout).groups()
    return label, kind, base


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.glob("*.tar.gz")}


@pytest.mark.parametrize(("versions", "keep"), [(0, 1), (0, 2), (2, 1), (2, 2), (3, 1)])
def test_backups_by_hand_with_the_clock_standing_still(shell: Session, versions: int, keep: int) -> None:
    """The issue's sequence: many backups by hand in one virtual minute with retention on. Each gets a label
    later than every label before it, survives its own retention pass, and is dated at its label; the
    virtual clock moves on with the labels."""
    stand_still(shell.instance)
    conf(shell, f"alation.backup.keep_cycles -s {keep}")
    if versions:
        conf(shell, "alation.backup_v2.incr_backup -s True", f"alation.backup_v2.incr_backup_versions -s {versions}")
    given: list[str] = []
    for _ in range(4 * (versions + 1) * (keep + 1)):
        label, kind, base = backup_all(shell)
        assert not given or label > given[-1], (label, given)
        given.append(label)
        records = backup.list_backups(shell.instance)
        taken = next(r for r in records if r.label == label)  # the backup just taken is still there
        assert all(p.is_file() for p in taken.files)
        assert backup.verify_backup(shell.instance, taken) == []
        if kind == "incremental":
            assert base < label and base in {r.label for r in records}
        # Name, recorded time and clock agree.
        assert taken.created == datetime.strptime(label, "%Y%m%d%H%M").replace(tzinfo=UTC)
        assert clock.now(shell.instance) == taken.created
    # Retention kept the newest `keep` cycles, and everything it kept is whole.
    kept = backup.list_backups(shell.instance)
    fulls = [r for r in kept if r.kind == "full"]
    assert len(fulls) == keep and kept[-1].label == given[-1]
    assert all(r.base in {f.label for f in fulls} for r in kept if r.kind == "incr")
    assert len(set(given)) == len(given)
    # `sim backups` shows each backup at the minute of its name.
    timeline = shell.execute("sim backups").stdout.splitlines()
    rows = [line for line in timeline if not line.startswith("──")]  # not the rules between cycles
    assert [line.split()[2] for line in rows] == [f"{r.label[8:10]}:{r.label[10:]}" for r in kept]


def test_labels_are_never_reused_once_retention_frees_them(shell: Session) -> None:
    """A label this instance gave is never given again, even with its backup gone and the clock back
    before it."""
    stand_still(shell.instance)
    conf(shell, "alation.backup.keep_cycles -s 1")
    first = backup_all(shell)[0]
    second = backup_all(shell)[0]
    assert not any(p.name.startswith(first) for p in shell.instance.real_path("/data2/backup").iterdir())
    stand_still(shell.instance)  # the clock back at the minute of the first label, which is free on disk
    assert backup_all(shell)[0] > second


def foreign_backup(tmp_path: Path, template: Path, when: datetime) -> list[Path]:
    """A full backup pair made by another instance, as an operator would bring it to restore."""
    other = Instance(tmp_path / "other")
    shutil.copytree(template, other.root, symlinks=True)
    record = backup.create_backup(other, kind="full", base=None, fmt="v2", when=when)
    return record.files


@pytest.mark.parametrize("when", [night(-3), night(30)], ids=["older", "newer"])
def test_a_foreign_backup_is_never_removed_nor_built_on(shell: Session, tmp_path: Path, seeded_template: Path,
                                                        when: datetime) -> None:
    """A pair copied into /data2/backup (named older or newer than this instance's backups) is never removed
    by retention, and never the full an incremental of this instance builds on."""
    backups = shell.instance.real_path("/data2/backup")
    for path in foreign_backup(tmp_path, seeded_template, when):
        shutil.copy2(path, backups / path.name)
    foreign = digests(backups)
    stand_still(shell.instance)
    conf(shell, "alation.backup.keep_cycles -s 1", "alation.backup_v2.incr_backup -s True",
         "alation.backup_v2.incr_backup_versions -s 1")
    fulls = []
    for _ in range(6):
        label, kind, base = backup_all(shell)
        if kind == "full":
            fulls.append(label)
        else:
            assert base == fulls[-1]  # this instance's own full, never the foreign one
        assert any(p.name.startswith(label) for p in backups.iterdir())
    now = digests(backups)
    assert {name: now.get(name) for name in foreign} == foreign  # still there, byte for byte
    own = [r for r in backup.list_backups(shell.instance) if r.files[0].name not in foreign]
    assert [r.kind for r in own] == ["full", "incr"] and own[0].label == fulls[-1]


def test_a_name_a_copied_in_tarball_has_is_skipped(shell: Session, tmp_path: Path, seeded_template: Path) -> None:
    backups = shell.instance.real_path("/data2/backup")
    stand_still(shell.instance)
    for path in foreign_backup(tmp_path, seeded_template, clock.START):
        shutil.copy2(path, backups / path.name)
    assert backup_all(shell)[0] == "202603020901"
    assert clock.now(shell.instance) == clock.START + timedelta(minutes=1)


def test_sim_reset_starts_the_labels_again_from_the_clock(shell: Session) -> None:
    """`sim reset` removes every backup and puts the clock back: the ledger starts again with it, so the
    next backup is named after the clock, not after the labels given before the reset."""
    assert shell.execute("sim advance 2d").ok
    assert (shell.instance.var / ledger.FILE).exists()
    reset = Session(shell.instance, ask=lambda prompt: "YES").execute("sim reset")
    assert reset.ok, reset.stderr
    assert not (shell.instance.var / ledger.FILE).exists()
    stand_still(shell.instance)
    assert backup_all(shell)[0] == "202603020900"


def test_a_damaged_ledger_is_reported_and_left_alone(shell: Session) -> None:
    backup_all(shell)
    path = shell.instance.var / ledger.FILE
    path.write_text('{"last_label": 12')
    result = shell.execute("alation_action backup_all")
    assert result.exit_code == 1
    assert result.stderr == ("alation_action: /var/backup_ledger.json is damaged (not valid JSON); it was left as it "
                             "is. Remove it to start a new ledger (backups already in /data2/backup are then kept, "
                             "never removed by retention)\n")
    assert path.read_text() == '{"last_label": 12'
    # `sim reset`, which removes every backup, starts a new one.
    assert Session(shell.instance, ask=lambda prompt: "YES").execute("sim reset").ok
    stand_still(shell.instance)
    assert not path.exists() and backup_all(shell)[0] == "202603020900"


class Rec:
    def __init__(self, label: str, kind: str, base: str | None = None) -> None:
        self.label, self.kind, self.base = label, kind, base


def test_retention_never_plans_to_remove_the_backup_it_ran_for_or_its_full() -> None:
    """Even given an order in which the backup just taken would age out (as labels reused out of time order
    made it), it and its full stay."""
    full, incr = Rec("202603020905", "full"), Rec("202603020906", "incr", "202603020905")
    records = [full, incr, Rec("202603030100", "full")]
    assert plan_retention(records, 1) == [full, incr]
    assert plan_retention(records, 1, protect=incr) == []
    assert plan_retention(records, 1, protect=full) == [incr]
