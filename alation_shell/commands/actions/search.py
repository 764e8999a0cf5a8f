"""The handler of rebuild_es_index: the search index rebuilt from the catalog database."""

from __future__ import annotations

from alation_shell.commands.base import Context
from alation_shell.errors import Busy
from alation_shell.instance import VAR_INDEX_REBUILD_LOCK
from alation_shell.node import layout
from alation_shell.storage import locked

ES_DIR = "/" + layout.SEARCH_DIR


def rebuild_es_index(ctx: Context) -> int:
    """Rebuild the search index in /data1/es from the catalog database (swapped in whole when done)."""
    from alation_shell.node.search_index import OBJECT_TYPES, build_search_index

    with locked(ctx.instance.var / VAR_INDEX_REBUILD_LOCK, blocking=False) as held:
        if not held:
            raise Busy("another rebuild_es_index is running")
        milestone = None if ctx.interactive else (lambda name, n: ctx.out(f"indexed {name}: {n} documents"))
        documents = build_search_index(
            ctx.instance, progress=lambda label, n: ctx.progress(label, n, unit="documents"), indexed=milestone
        )
    ctx.out(f"Search index rebuilt: {documents} documents of {len(OBJECT_TYPES)} object types in {ES_DIR}")
    return 0
