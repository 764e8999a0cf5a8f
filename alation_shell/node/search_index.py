"""The search index in /data1/es: one JSON-lines file per catalog object type, built from the catalog database.

A real server searches with Elasticsearch; the emulator keeps the index as JSON lines. It is not part of a
backup: `alation_action rebuild_es_index` regenerates it, as after a restore on a real server. A rebuild is
written aside and swapped in whole, so a failed one leaves the old index in place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import stat
from collections.abc import Callable

from alation_shell.errors import ShellError
from alation_shell.instance import Instance
from alation_shell.node.layout import CATALOG_DB, SEARCH_INDEX_DIR
from alation_shell.progress import Progress

OBJECT_TYPES = (
    ("data_source", "SELECT id, title, dbtype, description FROM rosemeta_datasource ORDER BY id"),
    ("schema", "SELECT id, ds_id, name, title, description FROM rosemeta_schema ORDER BY id"),
    ("table", "SELECT t.id, t.ds_id, s.name || '.' || t.name AS key, t.title, t.description, t.trust_flag,"
              " t.popularity FROM rosemeta_table t JOIN rosemeta_schema s ON s.id = t.schema_id ORDER BY t.id"),
    ("attribute", "SELECT id, table_id, name, data_type, title, description FROM rosemeta_attribute ORDER BY id"),
    ("article", "SELECT id, title, body FROM rosemeta_article ORDER BY id"),
    ("query", "SELECT id, ds_id, title, description, content FROM rosemeta_query ORDER BY id"),
    ("user", "SELECT id, username, first_name, last_name, email, title FROM auth_user ORDER BY id"),
)
_TAG = re.compile(r"<[^>]+>")


class SearchIndexError(ShellError):
    """The index cannot be built (no catalog database, or one that cannot be read)."""


def build_search_index(
    instance: Instance,
    *,
    progress: Callable[[str, int], Progress] | None = None,
    indexed: Callable[[str, int], None] | None = None,
    mtime: float | None = None,
) -> int:
    """(Re)build /data1/es/index/<object type>.jsonl from one snapshot of the catalog; returns documents written.

    `progress` makes a progress reporter (counting documents); `indexed(object_type, documents)` is called as
    each file is done; `mtime`, when given, dates the files (the seeded instance is dated). Every file is
    written through the instance's confinement (`Instance.at`): no link in /data1/es is followed.
    """
    try:
        db = instance.database_path(CATALOG_DB)
    except (FileNotFoundError, NotADirectoryError):
        db = None
    if db is None or not db.is_file():
        raise SearchIndexError(f"the catalog database /{CATALOG_DB} is missing; there is nothing to index")
    parent, name = SEARCH_INDEX_DIR.rsplit("/", 1)
    es = instance.open_dir(parent, create=True)
    try:
        _remove(es, ".index.new")  # what an interrupted rebuild left
        os.mkdir(".index.new", 0o777, dir_fd=es)
        staging = os.open(".index.new", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=es)
        try:
            total = _write_index(db, staging, progress, indexed, mtime)
        except sqlite3.Error as exc:
            _remove(es, ".index.new")
            raise SearchIndexError(f"cannot read the catalog database /{CATALOG_DB}: {exc}") from None
        except BaseException:
            _remove(es, ".index.new")
            raise
        finally:
            os.close(staging)
        _remove(es, ".index.old")
        try:  # noqa: SIM105 - contextlib costs the piped path an import
            os.rename(name, ".index.old", src_dir_fd=es, dst_dir_fd=es)
        except FileNotFoundError:
            pass
        os.rename(".index.new", name, src_dir_fd=es, dst_dir_fd=es)
        _remove(es, ".index.old")
        os.fsync(es)
    finally:
        os.close(es)
    return total


def _remove(dir_fd: int, name: str) -> None:
    """Remove `name` from the directory `dir_fd` if it is there: a tree (what cannot be removed is left), or
    a file or link."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, ignore_errors=True, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _write_index(
    db: os.PathLike,
    staging: int,
    progress: Callable[[str, int], Progress] | None,
    indexed: Callable[[str, int], None] | None,
    mtime: float | None,
) -> int:
    con = sqlite3.connect(f"file:{os.fspath(db)}?mode=ro", uri=True, isolation_level=None, timeout=30)
    try:
        con.execute("BEGIN")  # one snapshot for every object type
        counts = {name: con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0] for name, sql in OBJECT_TYPES}
        bar = progress("rebuild_es_index", sum(counts.values())) if progress else None
        done = 0
        for name, sql in OBJECT_TYPES:
            cursor = con.execute(sql)
            fields = [d[0] for d in cursor.description]
            fd = os.open(f"{name}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=staging)
            with open(fd, "w", encoding="utf-8") as f:
                for row in cursor:
                    doc = dict(zip(fields, row, strict=True))
                    if doc.get("body"):
                        doc["body"] = _TAG.sub(" ", doc["body"])
                    f.write(json.dumps({"otype": name, **doc}, separators=(",", ":")) + "\n")
                    done += 1
                    if bar is not None and done % 1000 == 0:
                        bar.update(done)
                f.flush()
                os.fsync(f.fileno())
                if mtime is not None:
                    os.utime(f.fileno(), (mtime, mtime))
            if indexed is not None:
                indexed(name, counts[name])
        if bar is not None:
            bar.update(done)
            bar.finish()
        con.execute("COMMIT")
    finally:
        con.close()
    return done
