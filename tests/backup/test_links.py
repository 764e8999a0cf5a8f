"""Symbolic links in backed-up trees: judged by where the kernel would take them, never by their text."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alation_shell.backup.manifest import MAX_LINKS, LinkTree, Manifest
from alation_shell.errors import CorruptArchive

ROOTS = ("data1/pgsql", "data1/site_data")
SITE = "data1/site_data"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def tree(spec: dict[str, str], roots: tuple[str, ...] = ROOTS) -> LinkTree:
    """A LinkTree from {path: "dir" | "file" | "-> target"} (the roots are added as directories)."""
    kinds = dict.fromkeys(roots, "dir")
    targets = {}
    for path, what in spec.items():
        if what.startswith("-> "):
            kinds[path], targets[path] = "symlink", what[3:]
        else:
            kinds[path] = what
    return LinkTree(kinds, targets, roots)


def test_links_that_resolve_inside_their_tree_are_accepted() -> None:
    links = tree({f"{SITE}/config": "dir", f"{SITE}/config/x": "file", f"{SITE}/d": "dir",
                  f"{SITE}/a": "-> config/x", f"{SITE}/d/a": "-> ../config", f"{SITE}/d/b": "-> ../a",
                  f"{SITE}/here": "-> .", f"{SITE}/top": "-> d/.."})
    assert links.refused() == {}


@pytest.mark.parametrize(("target", "why"), [
    ("../pgsql/rosemeta.db", "out"),  # inside the instance, but out of its own tree
    ("/etc/passwd", "out"),
    ("../site_data/config", "out"),  # leaves its tree on the way, even though it comes back
    ("nothing", "missing"),  # dangling
    ("config/x/y", "missing"),  # a path through a file
    ("config/x/", "missing"),
])
def test_links_out_of_their_tree_or_to_nothing_are_refused(target: str, why: str) -> None:
    links = tree({f"{SITE}/config": "dir", f"{SITE}/config/x": "file", "data1/pgsql/rosemeta.db": "file",
                  f"{SITE}/a": f"-> {target}"})
    assert links.refused() == {f"{SITE}/a": why}


def test_dot_dot_applies_to_where_a_link_led_not_to_its_text() -> None:
    """The issue's escape: `up` resolves to the tree's root (fine on its own); `..` after it leaves the tree,
    although the text `c/c/c/up/..` reads as `c/c/c`."""
    c = "data1/eventbus/c"
    links = tree({c: "dir", f"{c}/c": "dir", f"{c}/c/c": "dir", f"{c}/c/c/up": "-> ../../..",
                  "data1/eventbus/user-activity-0": "-> c/c/c/up/../../../../../tmp/host"},
                 roots=("data1/eventbus",))
    assert links.refused() == {"data1/eventbus/user-activity-0": "out"}


def test_loops_and_chains_longer_than_the_kernel_follows_are_refused() -> None:
    assert tree({f"{SITE}/a": "-> b", f"{SITE}/b": "-> a"}).refused() == {f"{SITE}/a": "loop", f"{SITE}/b": "loop"}
    chain = {f"{SITE}/l{i}": f"-> l{i + 1}" for i in range(MAX_LINKS)} | {f"{SITE}/l{MAX_LINKS}": "-> f",
                                                                       f"{SITE}/f": "file"}
    # l0 needs 41 links followed to reach the file, l1 needs 40: the kernel's limit.
    assert tree(chain).refused() == {f"{SITE}/l0": "loop"}


def test_a_long_chain_is_judged_without_deep_recursion() -> None:
    chain = {f"{SITE}/l{i}": f"-> l{i + 1}" for i in range(5000)} | {f"{SITE}/l5000": "file"}
    refused = tree(chain).refused()
    assert len(refused) == 5000 - MAX_LINKS and f"{SITE}/l{5000 - MAX_LINKS}" not in refused


# The property: whatever links a manifest holds, those accepted resolve, by the kernel, inside their tree.
NAMES = ("a", "b", "l0", "l1", "l2", "f")
TARGET_PARTS = ("..", "..", "..", ".", "", "a", "b", "l0", "l1", "l2", "f", "pgsql", "site_data", "data1", "out")


@st.composite
def trees(draw: st.DrawFn) -> dict[str, tuple[str, str]]:
    """{path: (kind, target)}: directories, files and links (relative targets full of `..`, links through
    links, now and then an absolute one) in the two trees of an alation tarball."""
    entries: dict[str, tuple[str, str]] = {root: ("dir", "") for root in ROOTS}
    for _ in range(draw(st.integers(1, 14))):
        parent = draw(st.sampled_from(sorted(p for p, (kind, _) in entries.items() if kind == "dir")))
        path = f"{parent}/{draw(st.sampled_from(NAMES))}"
        if path in entries:
            continue
        kind = draw(st.sampled_from(("dir", "file", "symlink", "symlink", "symlink")))
        target = ""
        if kind == "symlink":
            target = "/".join(draw(st.lists(st.sampled_from(TARGET_PARTS), min_size=1, max_size=9)))
            if draw(st.integers(0, 9)) == 0:
                target = "/" + target
            if not target:
                target = "."
        entries[path] = (kind, target)
    return entries


def manifest_of(entries: dict[str, tuple[str, str]]) -> bytes:
    rows = []
    for path in sorted(entries):
        kind, target = entries[path]
        row = {"path": path, "type": kind, "mode": 0o755, "mtime_ns": 0}
        if kind == "file":
            row.update(size=0, sha256=EMPTY_SHA256, stored="whole")
        elif kind == "symlink":
            row.update(mode=0o777, target=target)
        rows.append(row)
    return json.dumps({
        "format": "alation-shell-backup", "version": 1, "label": "202603030100", "type": "full",
        "backup_format": "v2", "part": "alation", "backup_id": "0123456789abcdef", "build": "17.0.0.49181",
        "created": "2026-03-03T01:00:00+00:00", "scan_started_ns": 0, "hash": "sha256", "block_size": 16384,
        "roots": list(ROOTS), "base": None, "entries": rows, "deleted": [],
    }).encode()


def kernel_resolution(path: Path) -> str | int:
    """Where the kernel takes `path` (every link followed), or the errno it fails with."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as exc:
        return exc.errno
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_accepted_links_resolve_inside_their_tree_as_the_kernel_sees_it(entries: dict[str, tuple[str, str]]) -> None:
    links = LinkTree({p: kind for p, (kind, _) in entries.items()},
                     {p: target for p, (kind, target) in entries.items() if kind == "symlink"}, ROOTS)
    refused = links.refused()
    try:
        Manifest.parse(manifest_of(entries))
        accepted_whole = True
    except CorruptArchive as exc:
        assert "symbolic link" in exc.message, exc.message
        accepted_whole = False
    assert accepted_whole == (not refused)
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        for decoy in ("out", "data1/out", "data1/pgsql", "data1/site_data"):  # where an escape would land
            (top / decoy).mkdir(parents=True, exist_ok=True)
        (top / "data1/f").write_bytes(b"")
        for path in sorted(entries):
            kind, target = entries[path]
            if kind == "dir":
                (top / path).mkdir(exist_ok=True)
            elif kind == "file":
                (top / path).write_bytes(b"")
            else:
                os.symlink(target, top / path)
        for path in sorted(entries):
            root = next(r for r in ROOTS if path == r or path.startswith(r + "/"))
            if path in refused:
                if refused[path] != "out":  # dangling, through a file, or too many links: the kernel fails too
                    assert kernel_resolution(top / path) in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP), path
                continue
            found = kernel_resolution(top / path)
            assert isinstance(found, str), (path, entries[path], found)
            assert found == str(top / root) or found.startswith(f"{top / root}/"), (path, entries[path], found)
            assert os.path.realpath(top / path, strict=True) == found
