"""The seeded catalog: deterministic from the seed, realistic in shape, scaled by size, indexed for search."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import zlib
from pathlib import Path

import pytest

from alation_shell.instance import SEEDING, Instance
from alation_shell.node.catalog import (
    CATALOG_TABLES,
    INDEX_ENTRY,
    RECORD_HEADER,
    SEEDED_AT,
    iter_records,
)
from alation_shell.node.search_index import OBJECT_TYPES, build_search_index
from alation_shell.node.seed import create_instance

MiB = 1 << 20


def tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and directory under root: relative path -> (sha256 or 'dir', size, mtime_ns)."""
    out = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            st = path.stat()
            digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (digest, 0 if path.is_dir() else st.st_size, st.st_mtime_ns)
    return out


def rows(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in CATALOG_TABLES}
    finally:
        con.close()


def seeded(tmp_path: Path, name: str, seed: int, size: int | None = None) -> Instance:
    inst = Instance(tmp_path / name)
    create_instance(inst, seed=seed, size=size)
    return inst


def data_bytes(inst: Instance, *, include_es: bool = False) -> int:
    total = 0
    for directory, _, files in os.walk(inst.root / "data1"):
        if not include_es and Path(directory).relative_to(inst.root / "data1").parts[:1] == ("es",):
            continue
        total += sum((Path(directory) / f).stat().st_size for f in files)
    return total


def test_same_seed_gives_identical_files_and_rows(tmp_path: Path) -> None:
    a, b = seeded(tmp_path, "a", 42), seeded(tmp_path, "b", 42)
    files_a = tree(a.root / "data1")
    assert files_a == tree(b.root / "data1")  # bytes, sizes and mtimes, directories included
    assert len([p for p in files_a if files_a[p][0] != "dir"]) > 100
    assert rows(a.root / "data1/pgsql/rosemeta.db") == rows(b.root / "data1/pgsql/rosemeta.db")


def test_seeded_files_are_dated_before_the_virtual_clock_starts(instance: Instance) -> None:
    mtimes = [st[2] / 1e9 for st in tree(instance.root / "data1").values()]
    assert max(mtimes) == SEEDED_AT
    assert min(mtimes) < SEEDED_AT - 300 * 86400  # uploads and segments have a history


def test_different_seeds_differ(tmp_path: Path) -> None:
    a, b = seeded(tmp_path, "a", 1), seeded(tmp_path, "b", 2)
    for rel in ("data1/pgsql/rosemeta.db", "data1/site_data/config/alation.lic",
                "data1/eventbus/catalog-events-0/00000000000000000000.log"):
        assert (a.root / rel).read_bytes() != (b.root / rel).read_bytes(), rel
    rows_a, rows_b = rows(a.root / "data1/pgsql/rosemeta.db"), rows(b.root / "data1/pgsql/rosemeta.db")
    assert rows_a["rosemeta_table"] != rows_b["rosemeta_table"]
    assert set(tree(a.root / "data1/site_data/uploads")) != set(tree(b.root / "data1/site_data/uploads"))


def test_database_is_a_realistic_consistent_catalog(instance: Instance) -> None:
    db = instance.root / "data1/pgsql/rosemeta.db"
    assert sorted(p.name for p in db.parent.iterdir()) == ["rosemeta.db"]  # no journal, no WAL left beside it
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []  # every reference points at a row
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CATALOG_TABLES}
        assert counts["auth_user"] >= 12 and counts["rosemeta_datasource"] >= 1
        assert counts["rosemeta_table"] >= 200
        assert 5 * counts["rosemeta_table"] < counts["rosemeta_attribute"] < 40 * counts["rosemeta_table"]
        assert counts["rosemeta_article"] >= 20 and counts["rosemeta_query"] >= 200
        for table in ("rosemeta_tagapplication", "rosemeta_stewardship", "rosemeta_lineagelink"):
            assert counts[table] > 0, table
        # Articles are long text; queries are SQL over the catalog's own tables.
        assert con.execute("SELECT avg(length(body)) FROM rosemeta_article").fetchone()[0] > 2000
        content, = con.execute("SELECT content FROM rosemeta_query ORDER BY id LIMIT 1").fetchone()
        qualified = content.split("FROM ", 1)[1].split()[0]
        schema, table = qualified.split(".", 1)
        assert con.execute("SELECT count(*) FROM rosemeta_table t JOIN rosemeta_schema s ON s.id = t.schema_id"
                           " WHERE s.name = ? AND t.name = ?", (schema, table)).fetchone()[0] >= 1
        # Curation is partial, as in a real catalog.
        described, total = con.execute(
            "SELECT count(description), count(*) FROM rosemeta_table").fetchone()
        assert 0.2 * total < described < 0.8 * total
        newest = con.execute("SELECT max(updated_at) FROM rosemeta_table").fetchone()[0]
        assert newest <= "2026-03-02 08:00:00"
    finally:
        con.close()


def test_size_scales_the_data_with_a_realistic_mix(tmp_path: Path) -> None:
    inst = seeded(tmp_path, "big", 5959, size=32 * MiB)
    total = data_bytes(inst)
    assert 28 * MiB <= total <= 40 * MiB
    uploads = inst.root / "data1/site_data/uploads"
    attachments = [p for p in (uploads / "attachments").rglob("*") if p.is_file()]
    blob_bytes = sum(p.stat().st_size for p in attachments)
    assert 0.15 * total < blob_bytes < 0.25 * total
    sample = b"".join(p.read_bytes() for p in attachments[:10])
    assert len(zlib.compress(sample, 6)) > 0.98 * len(sample)  # incompressible, as uploaded binaries are
    small = [p for p in uploads.rglob("*") if p.is_file() and p.stat().st_size < 64 << 10]
    assert len(small) >= 100
    db = (inst.root / "data1/pgsql/rosemeta.db").read_bytes()
    assert 0.5 * total < len(db) < 0.7 * total
    assert 2.0 < len(db) / len(zlib.compress(db, 1)) < 8.0  # text and pages: compressible, not trivially


def test_default_catalog_is_small(instance: Instance) -> None:
    assert 3 * MiB <= data_bytes(instance) <= 6 * MiB


def test_event_bus_segments_are_well_formed(instance: Instance) -> None:
    bus = instance.root / "data1/eventbus"
    checkpoint = (bus / "recovery-point-offset-checkpoint").read_text().split("\n")
    assert checkpoint[0] == "0"
    next_offsets = {f"{t}-{p}": int(o) for t, p, o in (line.split() for line in checkpoint[2:] if line)}
    assert len(next_offsets) == int(checkpoint[1]) == 6
    for name, next_offset in next_offsets.items():
        segments = sorted((bus / name).glob("*.log"))
        assert len(segments) >= 3, name  # weekly segments over the seeded history
        expected = int(segments[0].stem)
        last_ts = 0
        for segment in segments:
            records = list(iter_records(segment))
            assert records and records[0][0] == int(segment.stem) == expected
            offsets = [r[0] for r in records]
            assert offsets == list(range(expected, expected + len(records)))
            stamps = [r[1] for r in records]
            assert stamps == sorted(stamps) and stamps[0] >= last_ts
            assert records[0][2]["ts"].startswith("2026-")
            assert segment.stat().st_mtime == stamps[-1] / 1000
            check_index(segment)
            expected, last_ts = offsets[-1] + 1, stamps[-1]
        assert expected == next_offset


def check_index(segment: Path) -> None:
    """Each index entry points at the start of the record with that relative offset."""
    data = segment.read_bytes()
    index = segment.with_suffix(".index").read_bytes()
    assert len(index) % INDEX_ENTRY.size == 0
    base = int(segment.stem)
    for relative, position in struct.iter_unpack(">II", index):
        offset, _, length = RECORD_HEADER.unpack_from(data, position)
        assert offset == base + relative
        assert data[position + RECORD_HEADER.size + length] == ord("\n")


def test_site_data_has_license_config_and_valid_images(instance: Instance) -> None:
    site = instance.root / "data1/site_data"
    license_text = (site / "config/alation.lic").read_text()
    assert "license_id = DEMO-005959-" in license_text and "signature = " in license_text
    assert "base_url" in (site / "config/site.conf").read_text()
    avatars = sorted((site / "uploads/avatars").glob("*.png"))
    assert avatars
    for image in [*avatars[:5], site / "uploads/logos/company_logo.png"]:
        data = image.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        idat_len = struct.unpack(">I", data[33:37])[0]
        assert len(zlib.decompress(data[41:41 + idat_len])) == height * (1 + 3 * width)
    assert list((site / "uploads/csv").glob("*.csv"))


def test_search_index_matches_the_database(instance: Instance) -> None:
    index = instance.root / "data1/es/index"
    con = sqlite3.connect(instance.root / "data1/pgsql/rosemeta.db")
    try:
        for name, sql in OBJECT_TYPES:
            docs = [json.loads(line) for line in (index / f"{name}.jsonl").read_text().splitlines()]
            table_ids = [r[0] for r in con.execute(sql)]
            assert [d["id"] for d in docs] == table_ids, name
            assert {d["otype"] for d in docs} == {name}
        con.execute("DELETE FROM rosemeta_attribute WHERE id % 2 = 0")
        con.commit()
        attributes = con.execute("SELECT count(*) FROM rosemeta_attribute").fetchone()[0]
        expected = sum(con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] for _, sql in OBJECT_TYPES)
    finally:
        con.close()
    assert build_search_index(instance) == expected
    assert len((index / "attribute.jsonl").read_text().splitlines()) == attributes
    assert sorted(p.name for p in index.iterdir()) == sorted(f"{n}.jsonl" for n, _ in OBJECT_TYPES)
    article = json.loads((index / "article.jsonl").read_text().splitlines()[0])
    assert "<p>" not in article["body"] and len(article["body"]) > 500


def test_seeding_over_leftovers_gives_the_same_instance(tmp_path: Path) -> None:
    fresh = seeded(tmp_path, "fresh", 9)
    again = Instance(tmp_path / "again")
    # An interrupted earlier seeding left files behind (no instance.json, so it is not an instance yet), and
    # its mark that the directory is being seeded.
    (again.root / "data1/eventbus/catalog-events-0").mkdir(parents=True)
    (again.root / SEEDING).touch()
    (again.root / "data1/eventbus/catalog-events-0/00000000000000000000.log").write_bytes(b"junk")
    (again.root / "data1/site_data/uploads/csv").mkdir(parents=True)
    (again.root / "data1/site_data/uploads/csv/stale.csv").write_text("x\n")
    (again.root / "data1/pgsql").mkdir(parents=True)
    (again.root / "data1/pgsql/rosemeta.db-journal").write_bytes(b"junk")
    create_instance(again, seed=9)
    assert tree(again.root / "data1") == tree(fresh.root / "data1")


@pytest.mark.parametrize("seed", [0, 123456789])
def test_any_seed_seeds(tmp_path: Path, seed: int) -> None:
    inst = seeded(tmp_path, f"s{seed}", seed, size=1 * MiB)
    assert inst.is_initialized()
    assert data_bytes(inst) > 0.5 * MiB
