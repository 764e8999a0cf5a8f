"""The seeded catalog: the database, event bus, site files and search index of a lightly used Alation server.

Everything is generated from the seed alone (named `random.Random` streams, fixed times), so two instances
with one seed are identical byte for byte, mtimes included. `size` scales the data for backup benchmarks: a
realistic mix of database pages, text, incompressible blobs and many small files, totalling about `size`
bytes under /data1 (the search index aside, which backups leave out).

On-disk formats other modules read:
- /data1/pgsql/rosemeta.db: SQLite, journal_mode DELETE (the file is the whole database); `SCHEMA` below.
- /data1/eventbus/<topic>-<partition>/<base offset:020d>.log: append-only segments, Kafka-like. A record is
  `>QqI` (offset, timestamp in ms, length) + that many bytes of JSON + b"\\n". The `.index` beside a segment
  holds `>II` entries (offset - base offset, byte position) every `INDEX_INTERVAL` bytes.
- /data1/es/index/<object type>.jsonl: the search index (`alation_shell.node.search_index`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from alation_shell.errors import InstanceError, ShellError
from alation_shell.instance import Instance
from alation_shell.node.clock import START
from alation_shell.node.layout import CATALOG_DB, EVENTBUS_DIR, SEARCH_DIR, SITE_DATA_DIR, UPLOADS_DIR
from alation_shell.node.search_index import build_search_index

DEFAULT_SIZE = 4 << 20  # a small catalog: `init` stays well under a second
SEEDED_AT = int(START.timestamp()) - 3600  # the catalog as it was an hour before the virtual clock starts
DAY = 86400


# How a catalog of `size` bytes is made up. The database (structure, articles, queries) is 60%.
SHARE_STRUCTURE = 0.33
SHARE_ARTICLES = 0.18
SHARE_QUERIES = 0.09
SHARE_EVENTBUS = 0.10
SHARE_BLOBS = 0.20  # incompressible attachments
SHARE_SMALL_FILES = 0.10  # CSV uploads and avatars

# Event bus, after Kafka's defaults where they fit a small server.
TOPICS = (("catalog-events", 3), ("search-index-updates", 1), ("lineage-events", 1), ("user-activity", 1))
TOPIC_WEIGHTS = (0.30, 0.10, 0.08, 0.52)
SEGMENT_BYTES = 16 << 20  # a segment rolls when it would grow past this ...
ROLL_MS = 7 * DAY * 1000  # ... or when its first record is a week old (log.roll.hours = 168)
RETENTION_MS = 28 * DAY * 1000  # closed segments whose records are all older than this are deleted
HISTORY_DAYS = 25  # event history the seeded bus already holds
INDEX_INTERVAL = 4096
RECORD_HEADER = struct.Struct(">QqI")
INDEX_ENTRY = struct.Struct(">II")

SCHEMA = """
CREATE TABLE auth_user (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    title TEXT,
    role TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    date_joined TEXT NOT NULL,
    last_login TEXT
);
CREATE TABLE rosemeta_datasource (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    dbtype TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    dbname TEXT NOT NULL,
    description TEXT,
    owner_id INTEGER REFERENCES auth_user(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_schema (
    id INTEGER PRIMARY KEY,
    ds_id INTEGER NOT NULL REFERENCES rosemeta_datasource(id),
    name TEXT NOT NULL,
    title TEXT,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_table (
    id INTEGER PRIMARY KEY,
    ds_id INTEGER NOT NULL REFERENCES rosemeta_datasource(id),
    schema_id INTEGER NOT NULL REFERENCES rosemeta_schema(id),
    name TEXT NOT NULL,
    table_type TEXT NOT NULL,
    title TEXT,
    description TEXT,
    number_of_rows INTEGER,
    popularity INTEGER NOT NULL,
    trust_flag TEXT CHECK (trust_flag IN ('endorsement', 'warning', 'deprecation')),
    curation_status TEXT NOT NULL,
    steward_id INTEGER REFERENCES auth_user(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_attribute (
    id INTEGER PRIMARY KEY,
    table_id INTEGER NOT NULL REFERENCES rosemeta_table(id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    data_type TEXT NOT NULL,
    is_nullable INTEGER NOT NULL,
    title TEXT,
    description TEXT,
    popularity INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_article (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id INTEGER REFERENCES auth_user(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_query (
    id INTEGER PRIMARY KEY,
    ds_id INTEGER NOT NULL REFERENCES rosemeta_datasource(id),
    title TEXT NOT NULL,
    description TEXT,
    content TEXT NOT NULL,
    author_id INTEGER REFERENCES auth_user(id),
    published INTEGER NOT NULL,
    run_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rosemeta_tag (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE rosemeta_tagapplication (
    id INTEGER PRIMARY KEY,
    tag_id INTEGER NOT NULL REFERENCES rosemeta_tag(id),
    otype TEXT NOT NULL,
    oid INTEGER NOT NULL,
    user_id INTEGER REFERENCES auth_user(id),
    created_at TEXT NOT NULL
);
CREATE TABLE rosemeta_stewardship (
    id INTEGER PRIMARY KEY,
    otype TEXT NOT NULL,
    oid INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES auth_user(id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE rosemeta_lineagelink (
    id INTEGER PRIMARY KEY,
    source_table_id INTEGER NOT NULL REFERENCES rosemeta_table(id),
    target_table_id INTEGER NOT NULL REFERENCES rosemeta_table(id),
    query_id INTEGER REFERENCES rosemeta_query(id),
    created_at TEXT NOT NULL
);
CREATE INDEX rosemeta_schema_ds ON rosemeta_schema (ds_id);
CREATE INDEX rosemeta_table_schema ON rosemeta_table (schema_id);
CREATE INDEX rosemeta_attribute_table ON rosemeta_attribute (table_id);
CREATE INDEX rosemeta_tagapplication_object ON rosemeta_tagapplication (otype, oid);
CREATE INDEX rosemeta_stewardship_object ON rosemeta_stewardship (otype, oid);
CREATE INDEX rosemeta_lineagelink_source ON rosemeta_lineagelink (source_table_id);
CREATE INDEX rosemeta_lineagelink_target ON rosemeta_lineagelink (target_table_id);
"""

SEARCHABLE = (  # object types that have catalog pages and search documents, with their tables
    ("table", "rosemeta_table"), ("attribute", "rosemeta_attribute"), ("attribute", "rosemeta_attribute"),
    ("article", "rosemeta_article"), ("query", "rosemeta_query"), ("schema", "rosemeta_schema"),
    ("user", "auth_user"),
)
CATALOG_TABLES = (
    "auth_user", "rosemeta_datasource", "rosemeta_schema", "rosemeta_table", "rosemeta_attribute",
    "rosemeta_article", "rosemeta_query", "rosemeta_tag", "rosemeta_tagapplication", "rosemeta_stewardship",
    "rosemeta_lineagelink",
)

# Vocabulary ---------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ben", "Carlos", "Chen", "Dana", "Diego", "Elena", "Emeka", "Farah", "Grace",
    "Hana", "Ivan", "Jamal", "Julia", "Kenji", "Laila", "Lucas", "Maria", "Mei", "Nadia", "Noah", "Olga",
    "Omar", "Priya", "Quinn", "Rahul", "Rosa", "Sam", "Sofia", "Tariq", "Uma", "Victor", "Wei", "Yara", "Zoe",
)
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kim",
    "Kowalski", "Lopez", "Moreau", "Nakamura", "Novak", "Okafor", "Patel", "Quispe", "Rossi", "Schmidt",
    "Singh", "Tanaka", "Usman", "Varga", "Wang", "Williams", "Xu", "Yilmaz", "Zhang",
)
JOB_TITLES = (
    "Data Steward", "Data Engineer", "Analytics Engineer", "Data Analyst", "Data Scientist", "BI Developer",
    "Catalog Administrator", "Product Manager", "Finance Analyst", "Marketing Analyst", "DBA", None,
)
ROLES = ("Server Admin", "Catalog Admin", "Steward", "Composer", "Explorer", "Viewer")
ROLE_WEIGHTS = (1, 2, 8, 20, 40, 29)

DATASOURCES = (
    ("Snowflake", "snowflake", 443), ("Redshift", "redshift", 5439), ("PostgreSQL", "postgresql", 5432),
    ("Oracle", "oracle", 1521), ("SQL Server", "sqlserver", 1433), ("BigQuery", "bigquery", 443),
    ("Databricks", "databricks", 443), ("MySQL", "mysql", 3306), ("Teradata", "teradata", 1025),
)
DS_PURPOSES = ("EDW", "Analytics", "Finance", "Marketing", "Orders", "CRM", "ERP", "Data Lake", "Reporting")
ENVIRONMENTS = ("prod", "prod", "prod", "staging", "dev")
SCHEMA_NAMES = (
    "public", "analytics", "staging", "raw", "finance", "marketing", "sales", "hr", "ops", "reporting",
    "sandbox", "edw", "mart", "crm", "erp", "web", "product", "supply_chain", "risk", "audit",
)
DOMAINS = (
    "customer", "order", "product", "inventory", "shipment", "invoice", "payment", "account", "employee",
    "campaign", "web_session", "claim", "policy", "supplier", "store", "region", "ledger", "budget",
    "forecast", "subscription", "ticket", "contract", "lead", "opportunity", "asset", "transaction",
)
TABLE_PREFIXES = ("fact", "dim", "stg", "raw", "agg", "int", "snap", "", "", "")
TABLE_SUFFIXES = (
    "", "", "lines", "items", "addresses", "contacts", "balances", "events", "history", "status", "daily",
    "monthly", "summary", "details", "mapping", "targets", "scores", "metrics", "adjustments", "v2",
)
TABLE_TYPES = ("TABLE", "TABLE", "TABLE", "VIEW", "VIEW", "MATERIALIZED VIEW", "EXTERNAL TABLE")
COLUMN_TYPES = {
    "id": "BIGINT", "name": "VARCHAR(255)", "code": "VARCHAR(32)", "description": "VARCHAR(4000)",
    "status": "VARCHAR(32)", "type": "VARCHAR(64)", "category": "VARCHAR(64)", "amount": "NUMERIC(18,2)",
    "quantity": "INTEGER", "unit_price": "NUMERIC(18,4)", "currency": "CHAR(3)", "created_at": "TIMESTAMP",
    "updated_at": "TIMESTAMP", "deleted_at": "TIMESTAMP", "start_date": "DATE", "end_date": "DATE",
    "email": "VARCHAR(320)", "phone": "VARCHAR(32)", "country": "CHAR(2)", "city": "VARCHAR(128)",
    "postal_code": "VARCHAR(16)", "score": "DOUBLE PRECISION", "rank": "INTEGER", "is_active": "BOOLEAN",
    "is_deleted": "BOOLEAN", "source_system": "VARCHAR(64)", "batch_id": "BIGINT", "load_ts": "TIMESTAMP",
    "owner": "VARCHAR(128)", "priority": "SMALLINT", "channel": "VARCHAR(64)", "discount": "NUMERIC(9,4)",
    "tax": "NUMERIC(18,2)", "total": "NUMERIC(18,2)", "balance": "NUMERIC(18,2)", "revenue": "NUMERIC(18,2)",
    "cost": "NUMERIC(18,2)", "margin": "NUMERIC(9,4)", "latitude": "DOUBLE PRECISION",
    "longitude": "DOUBLE PRECISION", "sku": "VARCHAR(64)", "version": "INTEGER", "note": "TEXT",
    "url": "VARCHAR(2048)", "ip_address": "VARCHAR(45)", "user_agent": "VARCHAR(512)",
    "duration_sec": "INTEGER", "fiscal_year": "SMALLINT", "fiscal_quarter": "SMALLINT",
    "segment": "VARCHAR(64)", "tier": "VARCHAR(16)", "region_code": "VARCHAR(8)", "hash_key": "CHAR(64)",
}
COLUMN_NAMES = tuple(COLUMN_TYPES)
TAGS = (
    ("PII", "Holds personal data; masked outside the secure zone."),
    ("GDPR", "In scope for GDPR subject requests."),
    ("Certified", "Reviewed and certified by the data governance council."),
    ("Gold", "Curated, tested, documented."), ("Silver", "Cleaned and conformed."),
    ("Bronze", "Raw landing data."), ("Deprecated", "Scheduled for removal; do not build on it."),
    ("Finance", None), ("Marketing", None), ("Sales", None), ("HR", None), ("Operations", None),
    ("Confidential", "Share only with need to know."), ("Public", None), ("Needs Review", None),
    ("SOX", "In scope for SOX controls."), ("HIPAA", "Protected health information."), ("KPI", None),
    ("Source of Truth", "The system of record for its subject."), ("Experimental", None), ("Legacy", None),
    ("Migrated", "Moved from the old warehouse."), ("Daily Load", None), ("Real Time", None),
)
WORDS = (
    "data", "table", "column", "report", "dashboard", "metric", "customer", "order", "revenue", "pipeline",
    "source", "target", "quality", "owner", "steward", "definition", "business", "glossary", "term", "policy",
    "access", "request", "approval", "refresh", "daily", "weekly", "monthly", "load", "job", "schedule",
    "lineage", "upstream", "downstream", "model", "view", "query", "filter", "join", "key", "primary",
    "foreign", "unique", "null", "value", "range", "threshold", "alert", "incident", "issue", "fix", "change",
    "release", "version", "schema", "warehouse", "lake", "stream", "batch", "event", "record", "field",
    "format", "standard", "naming", "convention", "documentation", "example", "usage", "trusted", "certified",
    "deprecated", "replacement", "migration", "legacy", "new", "current", "historical", "snapshot", "region",
    "country", "product", "category", "segment", "channel", "campaign", "conversion", "retention", "churn",
    "forecast", "budget", "actual", "variance", "margin", "cost", "price", "discount", "tax", "invoice",
    "payment", "ledger", "account", "balance", "period", "fiscal", "quarter", "year", "month", "week", "day",
    "the", "the", "the", "the", "a", "a", "an", "of", "of", "of", "to", "to", "and", "and", "and", "in", "in",
    "is", "is", "for", "for", "on", "with", "by", "from", "at", "as", "this", "that", "it", "be", "are",
    "should", "must", "can", "may", "not", "only", "all", "each", "every", "when", "where", "which", "after",
    "before", "use", "used", "using", "includes", "contains", "shows", "returns", "joins", "excludes",
    "calculated", "derived", "loaded", "updated", "refreshed", "validated", "approved", "owned", "maintained",
    "team", "analyst", "engineer", "finance", "marketing", "sales", "operations", "support", "compliance",
    "privacy", "sensitive", "personal", "masked", "restricted", "public", "internal", "please", "contact",
    "questions", "note", "see", "also", "more", "details", "below", "above", "following", "steps",
)
ARTICLE_TITLES = (
    "How to use the {d} tables", "{D} KPI definitions", "Glossary: {D} terms", "Onboarding guide for {D} analysts",
    "Data quality rules for {d} data", "FAQ: {d} reporting", "{D} data model overview",
    "Runbook: {d} pipeline failures", "Access policy for {d} data", "Migrating {d} reports to the new warehouse",
    "Certified {d} datasets", "Known issues in {d} data",
)
QUERY_TITLES = (
    "Top {d} by revenue", "{D} daily counts", "Weekly {d} trend", "{D} data quality check",
    "Open {d} records", "{D} by region", "Monthly {d} summary", "Duplicate {d} keys", "{D} backlog",
)
CSV_KINDS = ("data_dictionary", "glossary_import", "sample_export", "steward_assignments", "tag_import")
ATTACHMENT_KINDS = (
    (".pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), (".xlsx", b"PK\x03\x04\x14\x00\x06\x00"),
    (".docx", b"PK\x03\x04\x14\x00\x06\x00"), (".png", b"\x89PNG\r\n\x1a\n"), (".zip", b"PK\x03\x04\n\x00\x00\x00"),
)
ATTACHMENT_NAMES = ("diagram", "spec", "data_model", "runbook", "screenshot", "export", "policy", "slides")


class CatalogError(ShellError):
    """The catalog database or the event bus cannot be read or changed."""


# Small helpers --------------------------------------------------------------------------------------------


def stamp(epoch: float) -> str:
    """Epoch seconds -> the database's timestamp text, '2026-03-02 08:00:00' (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    """A sentence of vocabulary words, capitalised, with a full stop."""
    text = " ".join(rng.choices(WORDS, k=rng.randint(low, high)))
    return text[0].upper() + text[1:] + "."


def prose(rng: random.Random, n_bytes: int) -> list[str]:
    """Paragraphs of about `n_bytes` of text in total."""
    words = rng.choices(WORDS, k=max(n_bytes // 6, 8))
    paragraphs: list[str] = []
    sentences: list[str] = []
    i = 0
    while i < len(words):
        n = rng.randint(7, 20)
        text = " ".join(words[i:i + n])
        sentences.append(text[0].upper() + text[1:] + ".")
        i += n
        if len(sentences) >= rng.randint(3, 7):
            paragraphs.append(" ".join(sentences))
            sentences = []
    if sentences:
        paragraphs.append(" ".join(sentences))
    return paragraphs


def article_body(rng: random.Random, n_bytes: int, domain: str) -> str:
    """An article as the rich-text editor stores it: HTML headings, paragraphs and lists."""
    parts = [f"<h2>{domain.replace('_', ' ').title()}</h2>"]
    for k, paragraph in enumerate(prose(rng, n_bytes)):
        if k and k % 4 == 0:
            parts.append(f"<h3>{sentence(rng, 2, 5)[:-1]}</h3>")
        if k % 5 == 3:
            items = "".join(f"<li>{sentence(rng, 4, 10)}</li>" for _ in range(rng.randint(2, 5)))
            parts.append(f"<ul>{items}</ul>")
        parts.append(f"<p>{paragraph}</p>")
    return "\n".join(parts)


def title_case(name: str) -> str:
    return name.replace("_", " ").title()


def table_name(rng: random.Random, domain: str) -> str:
    prefix, suffix = rng.choice(TABLE_PREFIXES), rng.choice(TABLE_SUFFIXES)
    return "_".join(p for p in (prefix, domain, suffix) if p)


def column_set(rng: random.Random, domain: str) -> list[tuple[str, str]]:
    """The (name, data type) columns of a new table about `domain`."""
    count = min(max(int(rng.lognormvariate(2.3, 0.55)), 2), len(COLUMN_NAMES))
    names = rng.sample(COLUMN_NAMES, count)
    columns = [(f"{domain}_id", "BIGINT")]
    columns += [(n, COLUMN_TYPES[n]) for n in names if n != "id"]
    return columns


def sql_text(rng: random.Random, qualified: str, columns: list[str], other: str | None) -> str:
    """A query as an analyst writes it against `qualified` (schema.table) and maybe a second table."""
    picked = rng.sample(columns, min(len(columns), rng.randint(2, 8)))
    lines = ["SELECT " + ",\n       ".join(f"t.{c}" for c in picked)]
    lines.append(f"FROM {qualified} t")
    if other:
        lines.append(f"JOIN {other} u ON u.{columns[0]} = t.{columns[0]}")
    lines.append(f"WHERE t.{rng.choice(picked)} IS NOT NULL")
    dated = [c for c in columns if COLUMN_TYPES.get(c) in ("DATE", "TIMESTAMP")]
    if dated and rng.random() < 0.6:
        lines.append(f"  AND t.{rng.choice(dated)} >= DATE '2025-{rng.randint(1, 12):02d}-01'")
    if rng.random() < 0.6:
        lines.append(f"GROUP BY {', '.join(f't.{c}' for c in picked[:2])}")
        lines[0] += ",\n       COUNT(*) AS n"
    if rng.random() < 0.5:
        lines.append(f"ORDER BY {rng.randint(1, len(picked))} DESC")
    lines.append(f"LIMIT {rng.choice((100, 500, 1000, 10000))};")
    return "-- " + sentence(rng, 5, 12) + "\n" + "\n".join(lines)


def png(width: int, height: int, rgb: bytes) -> bytes:
    """A valid PNG image of `rgb` pixels (width * height * 3 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def write_file(path: Path, data: bytes, mtime: float) -> None:
    """Write a seeded file and give it its place in the catalog's history."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def open_database(instance: Instance) -> sqlite3.Connection:
    """A connection to the catalog database in autocommit mode (callers open their own transactions), at its
    real path inside the instance (`Instance.database_path`)."""
    try:
        path = instance.database_path(CATALOG_DB)
    except (FileNotFoundError, NotADirectoryError):
        path = None
    if path is None or not path.is_file():
        raise CatalogError(f"no catalog database at /{CATALOG_DB}")
    return sqlite3.connect(path, timeout=30, isolation_level=None)


# Event bus ----------------------------------------------------------------------------------------------


def iso_ms(ts_ms: int) -> str:
    """Epoch milliseconds -> '2026-03-02T08:00:00.000Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms // 1000)) + f".{ts_ms % 1000:03d}Z"


def event_payload(ts_ms: int, body: dict) -> bytes:
    """The JSON of one event: its time first, then `body`."""
    return _timed(ts_ms, json.dumps(body, separators=(",", ":")).encode())


def _timed(ts_ms: int, body_json: bytes) -> bytes:
    """Put the time in front of an event's JSON object (`{...}` -> `{"ts":...,...}`): one dump per event."""
    return f'{{"ts":"{iso_ms(ts_ms)}",'.encode() + body_json[1:]


def iter_records(segment: Path) -> Iterator[tuple[int, int, dict]]:
    """(offset, timestamp ms, event) for every record of a segment file, in order."""
    data = segment.read_bytes()
    pos = 0
    while pos + RECORD_HEADER.size <= len(data):
        offset, ts_ms, length = RECORD_HEADER.unpack_from(data, pos)
        start = pos + RECORD_HEADER.size
        if start + length + 1 > len(data):
            return  # a torn record at the end: not part of the log
        yield offset, ts_ms, json.loads(data[start:start + length])
        pos = start + length + 1


class Partition:
    """One topic partition of the event bus: a directory of segments named after their base offset.

    Every file is opened through the instance's confinement (`Instance.at`): a link in the event bus is never
    followed out of the instance.
    """

    def __init__(self, instance: Instance, directory: str) -> None:
        self.instance = instance
        self.directory = directory  # relative to the instance root, e.g. data1/eventbus/catalog-events-0
        self.bases = sorted(int(name[:-4]) for name in self._names() if name.endswith(".log"))
        self.next_offset = 0
        self.first_ts = 0  # of the active (last) segment
        self.size = 0
        self.unindexed = 0  # bytes written since the last index entry
        self.rolled = 0
        if self.bases:
            self._load_active()
        self._log = bytearray()
        self._index = bytearray()
        self._last_ts = 0

    def _names(self) -> list[str]:
        try:
            fd = self.instance.open_dir(self.directory)
        except (FileNotFoundError, NotADirectoryError):
            return []
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    def _segment(self, base: int, suffix: str) -> str:
        return f"{self.directory}/{base:020d}{suffix}"

    def _read(self, path: str, limit: int = -1) -> bytes:
        with os.fdopen(self.instance.open_file(path), "rb") as f:
            return f.read(limit)

    def _load_active(self) -> None:
        base = self.bases[-1]
        log, index_path = self._segment(base, ".log"), self._segment(base, ".index")
        data = self._read(log)
        try:
            index = self._read(index_path)
        except FileNotFoundError:
            index = b""
        entries = [e for e in INDEX_ENTRY.iter_unpack(index[:len(index) - len(index) % INDEX_ENTRY.size])
                   if e[1] < len(data)]
        self.next_offset = base
        pos = entries[-1][1] if entries else 0
        while pos + RECORD_HEADER.size <= len(data):  # walk the tail after the last index entry
            offset, _, length = RECORD_HEADER.unpack_from(data, pos)
            if pos + RECORD_HEADER.size + length + 1 > len(data):
                break
            self.next_offset = offset + 1
            pos += RECORD_HEADER.size + length + 1
        if pos < len(data):
            # An append cut short left a torn record: drop it, as Kafka's log recovery does.
            fd = self.instance.open_file(log, os.O_WRONLY)
            try:
                os.ftruncate(fd, pos)
            finally:
                os.close(fd)
            data = data[:pos]
            entries = [e for e in entries if e[1] < pos]
            fd = self.instance.open_file(index_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "wb") as f:
                f.write(b"".join(INDEX_ENTRY.pack(*e) for e in entries))
        self.size = len(data)
        if data:
            self.first_ts = RECORD_HEADER.unpack_from(data, 0)[1]
            self.unindexed = self.size - (entries[-1][1] if entries else 0)

    def append(self, ts_ms: int, payload: bytes) -> None:
        """Add one record (buffered until `flush`), rolling to a new segment when the active one is full or old."""
        frame_size = RECORD_HEADER.size + len(payload) + 1
        if self.bases and self.size and (
            self.size + frame_size > SEGMENT_BYTES or ts_ms - self.first_ts >= ROLL_MS
        ):
            self.flush()
            self.bases.append(self.next_offset)
            self.size = self.unindexed = 0
            self.rolled += 1
        if not self.bases:
            self.bases.append(self.next_offset)
        if not self.size:
            self.first_ts = ts_ms
        if self.unindexed >= INDEX_INTERVAL:
            self._index += INDEX_ENTRY.pack(self.next_offset - self.bases[-1], self.size)
            self.unindexed = 0
        self._log += RECORD_HEADER.pack(self.next_offset, ts_ms, len(payload))
        self._log += payload
        self._log += b"\n"
        self.size += frame_size
        self.unindexed += frame_size
        self.next_offset += 1
        self._last_ts = ts_ms

    def flush(self, durable: bool = False) -> None:
        """Append the buffered records to the active segment; its mtime becomes its last record's time."""
        if not self._log:
            return
        base = self.bases[-1]
        for suffix, data in ((".log", self._log), (".index", self._index)):
            fd = self.instance.open_file(self._segment(base, suffix), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                         parents=True)
            with os.fdopen(fd, "ab") as f:
                f.write(data)
                f.flush()
                if durable:
                    os.fsync(fd)
                os.utime(fd, (self._last_ts / 1000, self._last_ts / 1000))
        self._log = bytearray()
        self._index = bytearray()

    def expire(self, now_ms: int) -> int:
        """Delete closed segments whose every record is older than the retention; returns how many."""
        expired = 0
        while len(self.bases) > 1:
            header = self._read(self._segment(self.bases[1], ".log"), RECORD_HEADER.size)
            if len(header) < RECORD_HEADER.size or now_ms - RECORD_HEADER.unpack(header)[1] < RETENTION_MS:
                break
            for suffix in (".log", ".index"):
                with self.instance.at(self._segment(self.bases[0], suffix)) as (dir_fd, name):
                    try:  # noqa: SIM105 - as the rest of this class, without contextlib
                        os.unlink(name, dir_fd=dir_fd)
                    except FileNotFoundError:
                        pass
            self.bases.pop(0)
            expired += 1
        return expired


def partitions(instance: Instance) -> dict[str, Partition]:
    """Every topic partition of the event bus, by directory name (`catalog-events-0`, ...)."""
    return {
        f"{topic}-{p}": Partition(instance, f"{EVENTBUS_DIR}/{topic}-{p}") for topic, count in TOPICS
        for p in range(count)
    }


def write_checkpoint(instance: Instance, parts: dict[str, Partition], mtime: float) -> None:
    """Kafka's `recovery-point-offset-checkpoint`: the next offset of each partition (rewritten, not appended)."""
    lines = ["0", str(len(parts))]
    lines += [f"{name.rsplit('-', 1)[0]} {name.rsplit('-', 1)[1]} {part.next_offset}" for name, part in parts.items()]
    instance.write_file(f"{EVENTBUS_DIR}/recovery-point-offset-checkpoint", ("\n".join(lines) + "\n").encode(),
                        mtime=mtime)


# Seeding ------------------------------------------------------------------------------------------------


class _CatalogBuilder:
    """Fills a fresh rosemeta.db, keeping in memory what later parts (queries, events, uploads) refer to."""

    def __init__(self, con: sqlite3.Connection, rng: random.Random) -> None:
        self.con = con
        self.rng = rng
        self.page_size = con.execute("PRAGMA page_size").fetchone()[0]
        self.next_id = dict.fromkeys(CATALOG_TABLES, 1)
        self.usernames: list[str] = []
        self.tables: list[tuple[int, int, str, list[str]]] = []  # (id, ds_id, schema.table, columns)
        self.article_ids: list[int] = []

    def take_ids(self, table: str, n: int) -> int:
        first = self.next_id[table]
        self.next_id[table] = first + n
        return first

    def db_bytes(self) -> int:
        return self.con.execute("PRAGMA page_count").fetchone()[0] * self.page_size

    def insert(self, table: str, rows: list[tuple]) -> None:
        if rows:
            marks = ",".join("?" * len(rows[0]))
            self.con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def created(self, oldest_days: int = 730) -> float:
        return SEEDED_AT - self.rng.uniform(1, oldest_days) * DAY

    def updated(self, created: float) -> float:
        return created + self.rng.uniform(0, SEEDED_AT - created)

    def users(self, count: int) -> None:
        rng = self.rng
        rows = []
        taken: set[str] = set()
        for uid in range(1, count + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            username = f"{first}.{last}".lower()
            n = 2
            while username in taken:
                username = f"{first}.{last}{n}".lower()
                n += 1
            taken.add(username)
            self.usernames.append(username)
            joined = self.created()
            role = "Server Admin" if uid == 1 else rng.choices(ROLES, ROLE_WEIGHTS)[0]
            login = stamp(max(joined, SEEDED_AT - rng.uniform(0, 60) * DAY)) if rng.random() < 0.9 else None
            rows.append((uid, username, first, last, f"{username}@example.com", rng.choice(JOB_TITLES), role,
                         int(rng.random() < 0.95), stamp(joined), login))
        self.insert("auth_user", rows)
        self.next_id["auth_user"] = count + 1

    def tags(self) -> None:
        rows = [(i, name, note, stamp(SEEDED_AT - 700 * DAY + i * 3600)) for i, (name, note) in enumerate(TAGS, 1)]
        self.insert("rosemeta_tag", rows)
        self.next_id["rosemeta_tag"] = len(rows) + 1

    def user_id(self) -> int:
        return self.rng.randint(1, len(self.usernames))

    def datasource(self) -> int:
        rng = self.rng
        kind, dbtype, port = rng.choice(DATASOURCES)
        purpose, env = rng.choice(DS_PURPOSES), rng.choice(ENVIRONMENTS)
        ds_id = self.take_ids("rosemeta_datasource", 1)
        created = self.created()
        host = f"{dbtype}-{purpose.lower().replace(' ', '')}-{env}.example.internal"
        self.insert("rosemeta_datasource", [(
            ds_id, f"{kind} {purpose} ({env})", dbtype, host, port, purpose.lower().replace(" ", "_"),
            sentence(rng, 8, 24), self.user_id(), stamp(created), stamp(self.updated(created)),
        )])
        return ds_id

    def schema(self, ds_id: int, name: str) -> None:
        """One schema with its tables, columns, tags, stewards and lineage."""
        rng = self.rng
        schema_id = self.take_ids("rosemeta_schema", 1)
        created = self.created()
        curated = rng.random() < 0.5
        self.insert("rosemeta_schema", [(
            schema_id, ds_id, name, title_case(name) if curated else None,
            sentence(rng) if curated else None, stamp(created), stamp(self.updated(created)),
        )])
        rows: dict[str, list[tuple]] = {t: [] for t in (
            "rosemeta_table", "rosemeta_attribute", "rosemeta_tagapplication", "rosemeta_stewardship",
            "rosemeta_lineagelink")}
        names: set[str] = set()
        upstream = [t[0] for t in self.tables[-300:] if t[1] == ds_id]  # lineage stays within a source
        for _ in range(rng.randint(4, 60)):
            domain = rng.choice(DOMAINS)
            tname = table_name(rng, domain)
            while tname in names:
                tname = f"{tname}_{rng.randint(2, 99)}"
            names.add(tname)
            tid = self.table(ds_id, schema_id, f"{name}.{tname}", domain, created, upstream, rows)
            upstream.append(tid)
        for table, table_rows in rows.items():
            self.insert(table, table_rows)

    def table(self, ds_id: int, schema_id: int, qualified: str, domain: str, schema_created: float,
              upstream: list[int], rows: dict[str, list[tuple]]) -> int:
        """One table and what hangs off it, added to `rows`; returns its id."""
        rng = self.rng
        tid = self.take_ids("rosemeta_table", 1)
        created = schema_created + rng.uniform(0, max(SEEDED_AT - DAY - schema_created, 0))
        updated = self.updated(created)
        curation = rng.choices(("uncurated", "in_progress", "curated"), (50, 20, 30))[0]
        curated = curation != "uncurated"
        c_ts, u_ts = stamp(created), stamp(updated)
        columns = column_set(rng, domain)
        first = self.take_ids("rosemeta_attribute", len(columns))
        for pos, (cname, ctype) in enumerate(columns):
            described = curated and rng.random() < 0.6
            rows["rosemeta_attribute"].append((
                first + pos, tid, cname, pos + 1, ctype, int(pos > 0 and rng.random() < 0.7),
                title_case(cname) if described else None, sentence(rng) if described else None,
                int(rng.paretovariate(1.5)) - 1, c_ts, u_ts if described else c_ts,
            ))
        for tag_id in rng.sample(range(1, len(TAGS) + 1), rng.choice((0, 0, 0, 1, 1, 2, 3))):
            rows["rosemeta_tagapplication"].append(
                (self.take_ids("rosemeta_tagapplication", 1), tag_id, "table", tid, self.user_id(), u_ts))
        steward = None
        if curated and rng.random() < 0.6:
            steward = self.user_id()
            rows["rosemeta_stewardship"].append((self.take_ids("rosemeta_stewardship", 1), "table", tid, steward,
                                                 rng.choice(("steward", "owner", "expert")), u_ts))
        for source in rng.sample(upstream, min(len(upstream), rng.choice((0, 1, 1, 2)))):
            rows["rosemeta_lineagelink"].append((self.take_ids("rosemeta_lineagelink", 1), source, tid, None, c_ts))
        trust = rng.choices((None, "endorsement", "warning", "deprecation"), (80, 12, 5, 3))[0]
        name = qualified.split(".", 1)[1]
        rows["rosemeta_table"].append((
            tid, ds_id, schema_id, name, rng.choice(TABLE_TYPES), title_case(name) if curated else None,
            sentence(rng, 10, 40) if curated else None, int(rng.lognormvariate(10, 3)),
            int(rng.paretovariate(1.2)) - 1, trust, curation, steward, c_ts, u_ts,
        ))
        self.tables.append((tid, ds_id, qualified, [c for c, _ in columns]))
        return tid

    def fill(self, table: str, budget: int, make_row: Callable[[int], tuple], text_column: int) -> None:
        """Add rows made by `make_row(id)` until the database has grown by about `budget` bytes."""
        target = self.db_bytes() + budget
        rows: list[tuple] = []
        pending = 0
        while self.db_bytes() + pending < target:
            row = make_row(self.take_ids(table, 1))
            rows.append(row)
            pending += len(row[text_column]) + 100  # the text and the rest of the row, roughly
            if pending >= 256 << 10:
                self.insert(table, rows)
                rows, pending = [], 0
        self.insert(table, rows)

    def article(self, aid: int) -> tuple:
        rng = self.rng
        domain = rng.choice(DOMAINS)
        created = self.created(500)
        body = article_body(rng, int(rng.lognormvariate(8.6, 0.8)), domain)
        title = rng.choice(ARTICLE_TITLES).format(d=domain.replace("_", " "), D=title_case(domain))
        self.article_ids.append(aid)
        return (aid, title, body, self.user_id(), stamp(created), stamp(self.updated(created)))

    def query(self, qid: int) -> tuple:
        rng = self.rng
        _, ds_id, qualified, columns = rng.choice(self.tables)
        other = rng.choice(self.tables)
        joined = other[2] if other[1] == ds_id and other[2] != qualified and rng.random() < 0.4 else None
        domain = rng.choice(DOMAINS)
        created = self.created(600)
        title = rng.choice(QUERY_TITLES).format(d=domain.replace("_", " "), D=title_case(domain))
        return (qid, ds_id, title, sentence(rng) if rng.random() < 0.4 else None,
                sql_text(rng, qualified, columns, joined), self.user_id(), int(rng.random() < 0.3),
                int(rng.paretovariate(0.8)), stamp(created), stamp(self.updated(created)))


def _seed_database(path: Path, rng: random.Random, size: int) -> _CatalogBuilder:
    tmp = path.with_name(path.name + ".seeding")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        # No journal while seeding: the file is written aside and renamed only when complete.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-65536")
        con.executescript(SCHEMA)
        con.execute("BEGIN")
        builder = _CatalogBuilder(con, rng)
        structure = int(size * SHARE_STRUCTURE)
        builder.users(12 + structure // 50_000)
        builder.tags()
        target = builder.db_bytes() + structure
        while builder.db_bytes() < target or not builder.tables:
            ds_id = builder.datasource()
            for name in rng.sample(SCHEMA_NAMES, rng.randint(3, 10)):
                builder.schema(ds_id, name)
                if builder.db_bytes() >= target:
                    break
        builder.fill("rosemeta_article", int(size * SHARE_ARTICLES), builder.article, 2)
        builder.fill("rosemeta_query", int(size * SHARE_QUERIES), builder.query, 4)
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode=DELETE")
    finally:
        con.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.utime(tmp, (SEEDED_AT, SEEDED_AT))
    os.replace(tmp, path)
    return builder


def _seed_eventbus(instance: Instance, rng: random.Random, budget: int, builder: _CatalogBuilder) -> None:
    """HISTORY_DAYS of events up to SEEDED_AT, about `budget` bytes, in weekly segments."""
    parts = partitions(instance)
    counts = {t: builder.next_id[t] - 1 for t in CATALOG_TABLES}
    partition_count = dict(TOPICS)
    timed_extra = len(_timed(0, b"{}")) - 2  # every event's time field, the same length for every time
    used = 0
    for day in range(HISTORY_DAYS):  # a day at a time, so a big bus never sits in memory whole
        events: list[tuple[str, bytes]] = []
        while used < budget * (day + 1) // HISTORY_DAYS:
            topic = rng.choices(TOPICS, TOPIC_WEIGHTS)[0][0]
            body = json.dumps(history_event(rng, topic, counts, builder.usernames), separators=(",", ":"))
            events.append((f"{topic}-{rng.randrange(partition_count[topic])}", body.encode()))
            used += RECORD_HEADER.size + timed_extra + len(body) + 1
        start_ms = (SEEDED_AT - (HISTORY_DAYS - day) * DAY) * 1000
        times = sorted(rng.randrange(start_ms, start_ms + DAY * 1000) for _ in events)
        for ts_ms, (name, body) in zip(times, events, strict=True):
            parts[name].append(ts_ms, _timed(ts_ms, body))
    for part in parts.values():
        part.flush()
    created = SEEDED_AT - 700 * DAY
    write_file(instance.root / EVENTBUS_DIR / "meta.properties",
               f"#\n#{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(created))}\n"
               f"cluster.id={rng.randbytes(16).hex()}\nversion=0\nbroker.id=0\n".encode(), created)
    write_checkpoint(instance, parts, SEEDED_AT)


def history_event(rng: random.Random, topic: str, counts: dict[str, int], usernames: list[str]) -> dict:
    """The body of an event such as the bus carries for `topic` (no time: the caller adds it)."""
    user = rng.choice(usernames)
    if topic == "catalog-events":
        otype, table = rng.choice(SEARCHABLE)
        action = rng.choices(("created", "updated", "deleted"), (30, 65, 5))[0]
        fields = rng.sample(("title", "description", "steward", "trust_flag", "tags", "custom_field"), 2)
        return {"type": f"{otype}.{action}", "otype": otype, "oid": rng.randint(1, max(counts[table], 1)),
                "user": user, "fields": fields if action == "updated" else []}
    if topic == "search-index-updates":
        otype, table = rng.choice(SEARCHABLE)
        return {"type": "index.update", "index": otype, "oid": rng.randint(1, max(counts[table], 1)), "op": "upsert"}
    if topic == "lineage-events":
        n = max(counts["rosemeta_table"], 1)
        return {"type": "lineage.link", "source": rng.randint(1, n), "target": rng.randint(1, n),
                "dataflow": f"etl_{rng.choice(DOMAINS)}_{rng.randint(1, 40)}"}
    page = rng.choice(("table", "table", "attribute", "article", "query", "search", "home"))
    return {"type": "page.view", "user": user, "path": f"/{page}/{rng.randint(1, 5000)}/",
            "session": rng.randbytes(8).hex(), "duration_ms": int(rng.lognormvariate(8, 1.2))}


def csv_upload(rng: random.Random, n_bytes: int, builder_tables: list, usernames: list[str]) -> tuple[str, bytes]:
    """A CSV an operator uploaded: a data dictionary, a glossary import, a sample export ... (kind, content)."""
    kind = rng.choice(CSV_KINDS)
    out: list[str] = []
    size = 0
    if kind == "data_dictionary":
        out.append("schema,table,column,data_type,description")
        while size < n_bytes:
            _, _, qualified, columns = rng.choice(builder_tables)
            schema, table = qualified.split(".", 1)
            for c in columns:
                line = f'{schema},{table},{c},{COLUMN_TYPES.get(c, "BIGINT")},"{sentence(rng, 4, 12)}"'
                out.append(line)
                size += len(line) + 1
    elif kind == "glossary_import":
        out.append("term,definition,steward")
        while size < n_bytes:
            line = f'{title_case(rng.choice(DOMAINS))} {rng.choice(WORDS)},"{sentence(rng)}",{rng.choice(usernames)}'
            out.append(line)
            size += len(line) + 1
    elif kind == "steward_assignments" or kind == "tag_import":
        out.append("object_type,object_key,value")
        while size < n_bytes:
            _, _, qualified, _ = rng.choice(builder_tables)
            value = rng.choice(usernames) if kind == "steward_assignments" else rng.choice(TAGS)[0]
            line = f"table,{qualified},{value}"
            out.append(line)
            size += len(line) + 1
    else:
        out.append("id,name,email,country,amount,created_at")
        k = max(n_bytes // 60, 1)
        firsts, lasts = rng.choices(FIRST_NAMES, k=k), rng.choices(LAST_NAMES, k=k)
        countries = rng.choices(("US", "GB", "DE", "FR", "IN", "JP", "BR", "CA", "AU", "NL"), k=k)
        for i in range(k):
            f, la = firsts[i], lasts[i]
            out.append(f"{i + 1},{f} {la},{f.lower()}.{la.lower()}@example.com,{countries[i]},"
                       f"{rng.random() * 5000:.2f},{stamp(SEEDED_AT - rng.random() * 400 * DAY)}")
    return kind, ("\n".join(out) + "\n").encode()


def attachment(rng: random.Random, n_bytes: int) -> tuple[str, bytes]:
    """An incompressible attachment (extension, content): a file type header and random bytes."""
    ext, magic = rng.choice(ATTACHMENT_KINDS)
    return ext, magic + rng.randbytes(max(n_bytes - len(magic), 0))


def avatar(rng: random.Random) -> bytes:
    return png(32, 32, rng.randbytes(32 * 32 * 3))


def _seed_site_data(instance: Instance, rng: random.Random, size: int, builder: _CatalogBuilder,
                    seed: int) -> None:
    site = instance.root / SITE_DATA_DIR
    uploads = instance.root / UPLOADS_DIR
    issued = SEEDED_AT - 48 * DAY
    signature = rng.randbytes(256).hex()
    license_text = (
        "# Alation license: do not edit (the signature covers every line above it)\n"
        f"customer = Demo Corporation\nlicense_id = DEMO-{seed:06d}-{rng.randrange(16**8):08X}\n"
        "edition = Enterprise\ndeployment = customer-managed\n"
        f"issued = {time.strftime('%Y-%m-%d', time.gmtime(issued))}\n"
        f"expires = {time.strftime('%Y-%m-%d', time.gmtime(issued + 365 * DAY))}\n"
        "max_users = 250\nfeatures = catalog,compose,lineage,data_quality,analytics,stewardship_workbench\n"
        f"signature = {signature}\n"
    )
    write_file(site / "config/alation.lic", license_text.encode(), issued)
    site_conf = (
        "[site]\nname = Alation Demo\nbase_url = https://alation-demo.example.com\nlabel = DEMO\n"
        "timezone = UTC\n\n[mail]\nsmtp_host = smtp.example.com\nsmtp_port = 587\n"
        "from_address = alation-noreply@example.com\n\n[uploads]\nmax_upload_mb = 100\n"
        "allowed_extensions = csv,pdf,png,jpg,xlsx,docx,zip\n"
    )
    write_file(site / "config/site.conf", site_conf.encode(), SEEDED_AT - 700 * DAY)

    def uploaded() -> float:
        return SEEDED_AT - rng.uniform(0.5, 365) * DAY

    gradient = bytes((x * 255 // 199) if c == 0 else (y * 4) if c == 1 else 128
                     for y in range(60) for x in range(200) for c in range(3))
    write_file(uploads / "logos/company_logo.png", png(200, 60, gradient), SEEDED_AT - 690 * DAY)
    write_file(uploads / "logos/favicon.png", png(16, 16, gradient[:16 * 16 * 3]), SEEDED_AT - 690 * DAY)
    small = 0
    for username in builder.usernames:
        if rng.random() < 0.6:
            data = avatar(rng)
            write_file(uploads / "avatars" / f"{username}.png", data, uploaded())
            small += len(data)
    n = 0
    while small < size * SHARE_SMALL_FILES:
        n += 1
        kind, data = csv_upload(rng, int(rng.lognormvariate(8.3, 1.0)), builder.tables, builder.usernames)
        write_file(uploads / "csv" / f"{kind}_{n:05d}.csv", data, uploaded())
        small += len(data)
    largest = min(max(size // 24, 64 << 10), 8 << 20)
    blobs = 0
    n = 0
    while blobs < size * SHARE_BLOBS:
        n += 1
        want = min(int(2 ** rng.uniform(12, largest.bit_length() - 1)), int(size * SHARE_BLOBS - blobs) + 4096)
        ext, data = attachment(rng, want)
        article = rng.choice(builder.article_ids) if builder.article_ids else 0
        write_file(uploads / "attachments" / str(article) / f"{rng.choice(ATTACHMENT_NAMES)}_{n:05d}{ext}", data,
                   uploaded())
        blobs += len(data)


def _clear(instance: Instance) -> None:
    """Remove whatever an earlier, interrupted seeding left in the catalog's directories."""
    for sub in (EVENTBUS_DIR, SITE_DATA_DIR, SEARCH_DIR):
        path = instance.root / sub
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    for leftover in (instance.root / "data1/pgsql").glob("rosemeta.db*"):
        leftover.unlink()
    (instance.root / SITE_DATA_DIR / "config").mkdir()
    (instance.root / UPLOADS_DIR).mkdir()


def seed_catalog(instance: Instance, seed: int, size: int | None = None) -> None:
    """Write the catalog database, event-bus segments, site files and search index for `seed`."""
    size = DEFAULT_SIZE if size is None else size
    try:
        _clear(instance)
        builder = _seed_database(instance.root / CATALOG_DB, random.Random(f"{seed}:database"), size)
        _seed_eventbus(instance, random.Random(f"{seed}:eventbus"), int(size * SHARE_EVENTBUS), builder)
        _seed_site_data(instance, random.Random(f"{seed}:site_data"), size, builder, seed)
        build_search_index(instance, mtime=SEEDED_AT)
    except sqlite3.Error as exc:
        raise InstanceError(f"cannot write the catalog database: {exc}") from exc
    for directory, _, _ in os.walk(instance.root / "data1", topdown=False):
        os.utime(directory, (SEEDED_AT, SEEDED_AT))
