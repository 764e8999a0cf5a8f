"""No symbolic link, restored or planted, lets the shell write outside the instance (issue 9, item 1)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from alation_shell import backup
from alation_shell.backup.manifest import MANIFEST_NAME
from alation_shell.instance import Instance
from alation_shell.session import Session
from tests.backup import everything, night
from tests.backup.test_restore_safety import Items, read_members, write_members

EVENTBUS = "data1/eventbus"
HIJACKED = f"{EVENTBUS}/user-activity-0"  # a partition the simulated activity appends to every day


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A directory of the host, outside the instance, with a file in it: what an escape would write into."""
    path = tmp_path / "host"
    path.mkdir()
    (path / "precious.txt").write_text("the operator's file\n")
    return path


def host_state(host: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(host.iterdir())}


def answering(instance: Instance, *answers: str) -> Session:
    queue = list(answers)
    return Session(instance, ask=lambda prompt: queue.pop(0) if queue else None)


def one_line_error(result: object) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def hijack_event_bus(items: Items, escape: str) -> Items:
    """The issue's attack on an event-bus tarball, its manifest fully recomputed: `c/c/c/up -> ../../..`
    (the tree's root, fine on its own), and the partition `user-activity-0` replaced by a link
    `c/c/c/up/<escape>`, which reads as inside the tree but leads, through `up`, to the host."""
    info, raw = items[0]
    assert info.name == MANIFEST_NAME
    manifest = json.loads(raw)
    entries = [e for e in manifest["entries"] if e["path"] != HIJACKED and not e["path"].startswith(HIJACKED + "/")]
    added = [{"path": f"{EVENTBUS}/c" + "/c" * i, "type": "dir", "mode": 0o755, "mtime_ns": 0} for i in range(3)]
    added += [
        {"path": f"{EVENTBUS}/c/c/c/up", "type": "symlink", "mode": 0o777, "mtime_ns": 0, "target": "../../.."},
        {"path": HIJACKED, "type": "symlink", "mode": 0o777, "mtime_ns": 0, "target": f"c/c/c/up/{escape}"},
    ]
    manifest["entries"] = sorted(entries + added, key=lambda e: e["path"])
    members = {i.name: (i, data) for i, data in items[1:]}
    out = [(info, json.dumps(manifest).encode())]
    for entry in manifest["entries"]:
        if entry["path"] in members and entry["type"] != "symlink":
            out.append(members[entry["path"]])
            continue
        member = tarfile.TarInfo(entry["path"])
        member.type = tarfile.DIRTYPE if entry["type"] == "dir" else tarfile.SYMTYPE
        member.mode = entry["mode"]
        member.linkname = entry.get("target", "")
        out.append((member, None))
    return out


def test_a_restored_chain_of_links_out_of_the_instance_is_refused(shell: Session, host: Path) -> None:
    instance = shell.instance
    record = backup.create_backup(instance, kind="full", base=None, fmt="v2", when=night(0))
    # A pair copied in to be restored: the backup's, its event-bus tarball made hostile.
    copied = instance.root / "home/alationadmin/restore"
    copied.mkdir()
    files = [copied / path.name for path in record.files]
    shutil.copyfile(record.alation_file, files[0])
    # From the event bus up to /, then down to the host directory: as a kernel following `up` would go.
    escape = os.path.relpath(host, instance.root / EVENTBUS)
    write_members(files[1], hijack_event_bus(read_members(record.eb_file), escape))
    for name, path in zip(("restore_file", "eb_restore_file"), files, strict=True):
        assert shell.execute(f"alation_conf alation.backup.{name} -s {instance.shell_path(path)}").ok
    before, host_before = everything(instance.root), host_state(host)
    result = answering(instance, "YES").execute("alation_action destructive_restore_all")
    line = one_line_error(result)
    assert "failed verification, nothing was changed" in line
    assert f"member '{HIJACKED}' is a symbolic link out of the tree" in line
    assert everything(instance.root) == before
    assert not (instance.root / "data1/.restore").exists()
    # And the next day of activity writes where it always did.
    assert shell.execute("sim advance 1d").ok
    assert host_state(host) == host_before
    assert not os.path.islink(instance.root / HIJACKED)


@pytest.mark.parametrize("where", [HIJACKED, "data1/site_data/uploads", "data1/pgsql/rosemeta.db-journal"])
def test_a_link_planted_in_the_live_data_is_never_followed_out(shell: Session, host: Path, where: str) -> None:
    """A link put in the live data any other way (here by the test, as a host user could): the writers open
    every path through the instance's confinement, so `sim advance` refuses it with one line."""
    instance = shell.instance
    live = instance.root / where
    if live.is_dir():
        os.rename(live, live.with_name(live.name + ".moved"))
    live.unlink(missing_ok=True)
    target = host / "precious.txt" if where.endswith("-journal") else host
    os.symlink(os.path.relpath(target, live.parent), live)
    host_before = host_state(host)
    result = shell.execute("sim advance 2d")
    line = one_line_error(result)
    assert line.startswith("sim: /" + where.split("/")[0]), line
    assert "refused" in line and str(instance.root) not in line
    assert host_state(host) == host_before


def test_an_absolute_link_in_the_event_bus_points_into_the_instance_as_in_a_chroot(shell: Session,
                                                                                   host: Path) -> None:
    instance = shell.instance
    live = instance.root / HIJACKED
    os.rename(live, live.with_name("moved"))
    os.symlink(str(host), live)  # on the server, an absolute link is read inside its chroot
    host_before = host_state(host)
    result = shell.execute("sim advance 2d")
    assert result.ok, result.stderr
    assert host_state(host) == host_before
    inside = instance.root / str(host).lstrip("/")
    assert any(inside.glob("*.log"))  # the segments went where the link leads inside the instance


def test_the_backup_log_and_the_search_index_do_not_write_through_links(shell: Session, host: Path) -> None:
    instance = shell.instance
    log = instance.backup_log
    log.unlink(missing_ok=True)
    os.symlink(os.path.relpath(host / "precious.txt", log.parent), log)
    staging = instance.root / "data1/es/.index.new"  # what a rebuild clears first
    os.symlink(os.path.relpath(host, staging.parent), staging)
    host_before = host_state(host)
    line = one_line_error(shell.execute("alation_action backup_all"))
    assert line.startswith("alation_action: /opt/alation/site/logs/alation_backup.log: leads out of the instance")
    assert shell.execute("alation_action rebuild_es_index").ok
    assert not os.path.lexists(staging) and (instance.root / "data1/es/index/table.jsonl").is_file()
    assert host_state(host) == host_before


def test_live_links_are_backed_up_only_if_a_restore_would_accept_them(shell: Session) -> None:
    instance = shell.instance
    site = instance.root / "data1/site_data"
    os.symlink("config/site.conf", site / "conf")  # inside its tree: kept
    os.symlink("../pgsql/rosemeta.db", site / "db")  # into another tree: skipped
    os.symlink("db", site / "via")  # through it: skipped too
    os.symlink("config/nothing", site / "dangling")  # to nothing: skipped
    assert shell.execute("alation_action backup_all").ok
    log = instance.backup_log.read_text()
    assert "skipped /data1/site_data/db: a symbolic link out of the tree (-> ../pgsql/rosemeta.db)" in log
    assert "skipped /data1/site_data/via: a symbolic link out of the tree (-> db)" in log
    assert "skipped /data1/site_data/dangling: a symbolic link to nothing in the tree" in log
    record = backup.list_backups(instance)[0]
    for name in ("db", "via", "dangling"):
        (site / name).unlink()
    (site / "conf").unlink()
    backup.restore_backup(instance, record.alation_file, record.eb_file)
    assert os.readlink(site / "conf") == "config/site.conf"
    assert not any(os.path.lexists(site / name) for name in ("db", "via", "dangling"))
