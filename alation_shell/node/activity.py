"""One day of simulated catalog activity, so that backups taken on the virtual clock have real work to do.

A day changes about 1% of the catalog (a quarter of that at weekends): metadata extraction adds tables and
columns, stewards curate descriptions and trust flags, analysts write and run queries, links and tags come
and go, and now and then a table is dropped. Every change goes to the event bus as Kafka would get it (records
appended to the active segment, which rolls weekly; expired segments deleted), and the site's uploads grow,
with the odd attachment rewritten in place (same size: only its content tells) or removed.

Everything is drawn from the instance's seed and the day, so one seed and one sequence of days give the same
files, byte for byte.
"""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta

from alation_shell.backup.lock import BackupLock
from alation_shell.instance import Instance
from alation_shell.node.catalog import (
    ARTICLE_TITLES,
    ATTACHMENT_NAMES,
    CATALOG_TABLES,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    TAGS,
    CatalogError,
    article_body,
    attachment,
    avatar,
    column_set,
    csv_upload,
    event_payload,
    open_database,
    partitions,
    prose,
    sentence,
    sql_text,
    stamp,
    table_name,
    title_case,
    write_checkpoint,
)
from alation_shell.node.layout import CATALOG_DB, EVENTBUS_DIR, UPLOADS_DIR
from alation_shell.node.seed import DEFAULT_SEED

DAILY_CHANGE = 0.01  # share of the catalog's rows a working day adds, changes or deletes
WEEKEND_FACTOR = 0.25
WORKDAY = timedelta(hours=10)  # activity happens in the ten hours before the end of the working day
END_OF_DAY = 18  # UTC hour the working day ends when no time is given
OTYPES = {"rosemeta_table": "table", "rosemeta_attribute": "attribute", "rosemeta_article": "article",
          "rosemeta_query": "query", "auth_user": "user"}


class ActivitySummary:
    """What one simulated day did: rows per table, events, segments and uploads."""

    def __init__(self, day: date) -> None:
        self.day = day
        self.tables: dict[str, list[int]] = {t: [0, 0, 0] for t in CATALOG_TABLES}  # added, changed, deleted
        self.events = 0
        self.segments_rolled = 0
        self.segments_expired = 0
        self.uploads_added: list[str] = []  # shell paths, e.g. /data1/site_data/uploads/csv/...
        self.uploads_modified: list[str] = []
        self.uploads_removed: list[str] = []

    @property
    def rows_added(self) -> int:
        return sum(c[0] for c in self.tables.values())

    @property
    def rows_changed(self) -> int:
        return sum(c[1] for c in self.tables.values())

    @property
    def rows_deleted(self) -> int:
        return sum(c[2] for c in self.tables.values())

    def __str__(self) -> str:
        """`rows +120 ~35 -4, 58 events, 1 upload added, 1 removed`."""
        added = len(self.uploads_added)
        text = f"rows +{self.rows_added} ~{self.rows_changed} -{self.rows_deleted}, {self.events} events"
        if self.segments_rolled:
            text += f" ({self.segments_rolled} new segment{'s' if self.segments_rolled > 1 else ''})"
        text += f", {added} upload{'' if added == 1 else 's'} added"
        if self.uploads_modified:
            text += f", {len(self.uploads_modified)} modified"
        if self.uploads_removed:
            text += f", {len(self.uploads_removed)} removed"
        return text

    def __repr__(self) -> str:
        return f"<ActivitySummary {self.day}: {self}>"


def simulate_day(instance: Instance, day: date, at: datetime | None = None) -> ActivitySummary:
    """Apply one day of catalog activity to `instance` and say what changed.

    The day's changes are dated in the ten hours before `at` (default: 18:00 UTC on `day`), rows and file
    mtimes alike, so `at` should not be later than the virtual clock. It holds the backup lock meanwhile, so
    that it never runs during a backup or a restore (BackupInProgress if one is running).
    """
    end = at if at is not None else datetime(day.year, day.month, day.day, END_OF_DAY, tzinfo=UTC)
    seed = instance.meta.get("seed", DEFAULT_SEED)
    rng = random.Random(f"{seed}:activity:{day.isoformat()}")
    summary = ActivitySummary(day)
    with BackupLock(instance, "day of simulated activity", cleans=False):
        try:
            _Day(instance, rng, end.timestamp(), summary).run(weekend=day.weekday() >= 5)
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot change the catalog database: {exc}") from exc
    return summary


def shares(n: int, weights: tuple[float, ...]) -> list[int]:
    """Split `n` by `weights` into whole numbers that add up to `n` (the first takes the rounding)."""
    parts = [int(n * w) for w in weights]
    parts[0] += n - sum(parts)
    return parts


class _Day:
    """The changes of one day, applied in one database transaction, then to the event bus and uploads."""

    def __init__(self, instance: Instance, rng: random.Random, end: float, summary: ActivitySummary) -> None:
        self.instance = instance
        self.rng = rng
        self.end = end
        self.start = end - WORKDAY.total_seconds()
        self.summary = summary
        self.events: list[tuple[float, int, str, dict]] = []  # (time, order, partition, body)
        self.con: sqlite3.Connection
        self.next_id: dict[str, int] = {}
        self.usernames: dict[int, str] = {}
        self.user_ids: list[int] = []
        self.new_avatar: tuple[str, float] | None = None  # a new user's picture, uploaded with the files
        self.csv_tables: list[tuple[int, int, str, list[str]]] = []  # what today's CSV uploads describe

    def when(self) -> float:
        return self.rng.uniform(self.start, self.end)

    def user(self) -> int:
        return self.rng.choice(self.user_ids)

    def event(self, partition: str, ts: float, body: dict) -> None:
        self.events.append((ts, len(self.events), partition, body))

    def catalog_event(self, table: str, oid: int, action: str, ts: float, user: int | None = None,
                      **details: object) -> None:
        """The event the application emits for a row, and the search-index update that follows it."""
        otype = OTYPES.get(table, table.removeprefix("rosemeta_"))
        body = {"type": f"{otype}.{action}", "otype": otype, "oid": oid,
                "user": self.usernames.get(user if user is not None else self.user(), "alation"), **details}
        self.event(f"catalog-events-{oid % 3}", ts, body)
        if table in OTYPES:
            self.event("search-index-updates-0", min(ts + 0.5, self.end), {
                "type": "index.update", "index": otype, "oid": oid, "op": "delete" if action == "deleted" else "upsert",
            })

    def count(self, table: str, kind: int, n: int = 1) -> None:
        self.summary.tables[table][kind] += n

    # The run ------------------------------------------------------------------------------------------
    def run(self, weekend: bool) -> None:
        self.con = open_database(self.instance)
        try:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                self.database(weekend)
                self.con.execute("COMMIT")
            except BaseException:
                if self.con.in_transaction:
                    self.con.execute("ROLLBACK")
                raise
        finally:
            self.con.close()
        self.instance.set_mtime(CATALOG_DB, self.end)
        self.instance.set_mtime(CATALOG_DB.rsplit("/", 1)[0], self.end)  # the rollback journal came and went
        self.page_views(weekend)
        self.uploads(weekend)
        self.eventbus()

    def database(self, weekend: bool) -> None:
        rng, con = self.rng, self.con
        self.usernames = dict(con.execute("SELECT id, username FROM auth_user ORDER BY id").fetchall())
        self.user_ids = list(self.usernames)
        total = 0
        for table in CATALOG_TABLES:
            high, n = con.execute(f"SELECT coalesce(max(id), 0), count(*) FROM {table}").fetchone()
            self.next_id[table] = high + 1
            total += n
        ops = max(round(total * DAILY_CHANGE * (WEEKEND_FACTOR if weekend else 1) * rng.uniform(0.7, 1.3)), 4)
        adds, changes, deletes = shares(ops, (0.55, 0.38, 0.07))
        # Deletions first, then changes, then additions: a row changed today was neither made nor dropped today.
        if not weekend and rng.random() < 0.15:
            for tid in self.pick("rosemeta_table", 1):
                self.drop_table(tid)
        columns, tags, links, queries = shares(deletes, (0.4, 0.3, 0.15, 0.15))
        self.delete("rosemeta_attribute", columns)
        self.delete("rosemeta_tagapplication", tags)
        self.delete("rosemeta_lineagelink", links)
        self.delete("rosemeta_query", queries)
        columns, tables, logins, queries, articles = shares(changes, (0.4, 0.25, 0.2, 0.1, 0.05))
        self.curate_attributes(columns)
        self.curate_tables(tables)
        self.logins(logins)
        self.run_queries(queries)
        self.edit_articles(max(articles, int(not weekend and rng.random() < 0.5)))
        extracted, queries, tags, links = shares(adds, (0.7, 0.15, 0.1, 0.05))
        added = 0
        while added < extracted:
            added += self.new_table()
        self.new_queries(queries)
        self.new_tags(tags)
        self.new_lineage(links)
        if not weekend and rng.random() < 0.3:
            self.new_article()
        if rng.random() < 0.1:
            self.new_user()
        self.csv_tables = self.table_sample()

    # Picking rows --------------------------------------------------------------------------------------
    def pick(self, table: str, k: int) -> list[int]:
        """Up to `k` distinct existing ids of `table`, drawn at random (no full scan of big tables)."""
        if k <= 0:
            return []
        high = self.con.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        picked: list[int] = []
        seen: set[int] = set()
        for _ in range(8 if high else 0):
            wanted = k - len(picked)
            candidates = [self.rng.randint(1, high) for _ in range(min(2 * wanted + 8, 900))]
            marks = ",".join("?" * len(candidates))
            found = {r[0] for r in self.con.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", candidates)}
            for c in candidates:
                if c in found and c not in seen:
                    seen.add(c)
                    picked.append(c)
                    if len(picked) == k:
                        return picked
        return picked

    # Deletions -----------------------------------------------------------------------------------------
    def delete(self, table: str, k: int) -> None:
        for oid in self.pick(table, k):
            self.con.execute(f"DELETE FROM {table} WHERE id = ?", (oid,))
            self.count(table, 2)
            if table == "rosemeta_lineagelink":
                self.event("lineage-events-0", self.when(), {"type": "lineage.unlink", "link": oid})
            else:
                self.catalog_event(table, oid, "deleted", self.when())

    def drop_table(self, tid: int) -> None:
        """A table dropped at the source: the table goes, and everything that hangs off it."""
        ts = self.when()
        con = self.con
        columns = con.execute("SELECT count(*) FROM rosemeta_attribute WHERE table_id = ?", (tid,)).fetchone()[0]
        dependents = (
            ("rosemeta_tagapplication", "otype = 'table' AND oid = ?", (tid,)),
            ("rosemeta_stewardship", "otype = 'table' AND oid = ?", (tid,)),
            ("rosemeta_lineagelink", "source_table_id = ? OR target_table_id = ?", (tid, tid)),
            ("rosemeta_attribute", "table_id = ?", (tid,)),
            ("rosemeta_table", "id = ?", (tid,)),
        )
        for table, where, args in dependents:
            self.count(table, 2, con.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount)
        self.catalog_event("rosemeta_table", tid, "deleted", ts, columns=columns)

    # Changes -------------------------------------------------------------------------------------------
    def curate_attributes(self, k: int) -> None:
        rng = self.rng
        for oid in self.pick("rosemeta_attribute", k):
            ts = self.when()
            name = self.con.execute("SELECT name FROM rosemeta_attribute WHERE id = ?", (oid,)).fetchone()[0]
            self.con.execute("UPDATE rosemeta_attribute SET title = ?, description = ?, updated_at = ? WHERE id = ?",
                             (title_case(name), sentence(rng), stamp(ts), oid))
            self.count("rosemeta_attribute", 1)
            self.catalog_event("rosemeta_attribute", oid, "updated", ts)

    def curate_tables(self, k: int) -> None:
        rng = self.rng
        for oid in self.pick("rosemeta_table", k):
            ts = self.when()
            name = self.con.execute("SELECT name FROM rosemeta_table WHERE id = ?", (oid,)).fetchone()[0]
            trust = rng.choices((None, "endorsement", "warning", "deprecation"), (70, 18, 8, 4))[0]
            self.con.execute(
                "UPDATE rosemeta_table SET title = ?, description = ?, trust_flag = ?, curation_status = ?,"
                " steward_id = ?, updated_at = ? WHERE id = ?",
                (title_case(name), sentence(rng, 10, 40), trust, rng.choice(("in_progress", "curated")),
                 self.user(), stamp(ts), oid))
            self.count("rosemeta_table", 1)
            self.catalog_event("rosemeta_table", oid, "updated", ts)

    def logins(self, k: int) -> None:
        for uid in self.pick("auth_user", k):
            ts = self.when()
            self.con.execute("UPDATE auth_user SET last_login = ? WHERE id = ?", (stamp(ts), uid))
            self.count("auth_user", 1)
            self.event("user-activity-0", ts, {"type": "user.login", "user": self.usernames[uid]})

    def run_queries(self, k: int) -> None:
        for qid in self.pick("rosemeta_query", k):
            ts = self.when()
            self.con.execute("UPDATE rosemeta_query SET run_count = run_count + ?, updated_at = ? WHERE id = ?",
                             (self.rng.randint(1, 20), stamp(ts), qid))
            self.count("rosemeta_query", 1)
            self.catalog_event("rosemeta_query", qid, "updated", ts)

    def edit_articles(self, k: int) -> None:
        """Rewrite a paragraph in the middle of an article, and sometimes add one at the end."""
        rng = self.rng
        for aid in self.pick("rosemeta_article", k):
            ts = self.when()
            lines = self.con.execute("SELECT body FROM rosemeta_article WHERE id = ?", (aid,)).fetchone()[0]
            lines = lines.split("\n")
            i = rng.randrange(len(lines))
            lines[i] = "<p>" + " ".join(prose(rng, rng.randint(200, 1500))) + "</p>"
            if rng.random() < 0.5:
                lines += [f"<p>{p}</p>" for p in prose(rng, rng.randint(300, 3000))]
            self.con.execute("UPDATE rosemeta_article SET body = ?, updated_at = ? WHERE id = ?",
                             ("\n".join(lines), stamp(ts), aid))
            self.count("rosemeta_article", 1)
            self.catalog_event("rosemeta_article", aid, "updated", ts)

    # Additions -----------------------------------------------------------------------------------------
    def take_id(self, table: str) -> int:
        oid = self.next_id[table]
        self.next_id[table] = oid + 1
        self.count(table, 0)
        return oid

    def new_table(self) -> int:
        """A table found by metadata extraction, with its columns; returns the rows added."""
        rng, con = self.rng, self.con
        schema = self.pick("rosemeta_schema", 1)
        if not schema:
            return 1 << 30  # nothing to extract into: stop adding tables
        ds_id, schema_id = con.execute("SELECT ds_id, id FROM rosemeta_schema WHERE id = ?", schema).fetchone()
        domain = rng.choice(DOMAINS)
        name = table_name(rng, domain)
        if con.execute("SELECT 1 FROM rosemeta_table WHERE schema_id = ? AND name = ?", (schema_id, name)).fetchone():
            name = f"{name}_{self.summary.day:%Y%m%d}_{rng.randint(1, 99)}"
        ts = self.when()
        tid = self.take_id("rosemeta_table")
        con.execute("INSERT INTO rosemeta_table VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            tid, ds_id, schema_id, name, "TABLE", None, None, int(rng.lognormvariate(8, 3)), 0, None,
            "uncurated", None, stamp(ts), stamp(ts)))
        columns = column_set(rng, domain)
        for pos, (cname, ctype) in enumerate(columns):
            con.execute("INSERT INTO rosemeta_attribute VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                self.take_id("rosemeta_attribute"), tid, cname, pos + 1, ctype,
                int(pos > 0 and rng.random() < 0.7), None, None, 0, stamp(ts), stamp(ts)))
        # Extraction reports a table with its columns as one event, as it indexes them as one document.
        self.catalog_event("rosemeta_table", tid, "created", ts, columns=len(columns))
        return 1 + len(columns)

    def new_queries(self, k: int) -> None:
        rng, con = self.rng, self.con
        for tid in self.pick("rosemeta_table", k):
            ts = self.when()
            ds_id, qualified = con.execute(
                "SELECT t.ds_id, s.name || '.' || t.name FROM rosemeta_table t"
                " JOIN rosemeta_schema s ON s.id = t.schema_id WHERE t.id = ?", (tid,)).fetchone()
            columns = [r[0] for r in con.execute(
                "SELECT name FROM rosemeta_attribute WHERE table_id = ? ORDER BY position", (tid,))] or ["id"]
            domain = rng.choice(DOMAINS)
            qid = self.take_id("rosemeta_query")
            user = self.user()
            con.execute("INSERT INTO rosemeta_query VALUES (?,?,?,?,?,?,?,?,?,?)", (
                qid, ds_id, f"{title_case(domain)} ad hoc analysis", None, sql_text(rng, qualified, columns, None),
                user, 0, 1, stamp(ts), stamp(ts)))
            self.catalog_event("rosemeta_query", qid, "created", ts, user)

    def new_tags(self, k: int) -> None:
        for tid in self.pick("rosemeta_table", k):
            ts = self.when()
            user = self.user()
            tag_id = self.rng.randint(1, len(TAGS))
            self.con.execute("INSERT INTO rosemeta_tagapplication VALUES (?,?,?,?,?,?)", (
                self.take_id("rosemeta_tagapplication"), tag_id, "table", tid, user, stamp(ts)))
            self.event(f"catalog-events-{tid % 3}", ts, {"type": "tag.applied", "otype": "table", "oid": tid,
                                                         "tag": TAGS[tag_id - 1][0], "user": self.usernames[user]})
            if self.rng.random() < 0.3:
                self.con.execute("INSERT INTO rosemeta_stewardship VALUES (?,?,?,?,?,?)", (
                    self.take_id("rosemeta_stewardship"), "table", tid, user, "steward", stamp(ts)))
                self.event(f"catalog-events-{tid % 3}", ts, {"type": "steward.assigned", "otype": "table",
                                                             "oid": tid, "user": self.usernames[user]})

    def new_lineage(self, k: int) -> None:
        con = self.con
        for target in self.pick("rosemeta_table", k):
            # A table loaded from another in its schema, as ETL lineage usually is.
            sources = [r[0] for r in con.execute(
                "SELECT id FROM rosemeta_table WHERE schema_id = (SELECT schema_id FROM rosemeta_table WHERE id = ?)"
                " AND id <> ? ORDER BY id", (target, target))]
            if not sources:
                continue
            source = self.rng.choice(sources)
            ts = self.when()
            link = self.take_id("rosemeta_lineagelink")
            con.execute("INSERT INTO rosemeta_lineagelink VALUES (?,?,?,?,?)", (link, source, target, None, stamp(ts)))
            self.event("lineage-events-0", ts, {"type": "lineage.link", "link": link, "source": source,
                                                "target": target, "dataflow": "metadata_extraction"})

    def new_article(self) -> None:
        rng = self.rng
        ts = self.when()
        domain = rng.choice(DOMAINS)
        aid = self.take_id("rosemeta_article")
        user = self.user()
        title = rng.choice(ARTICLE_TITLES).format(d=domain.replace("_", " "), D=title_case(domain))
        body = article_body(rng, int(rng.lognormvariate(8.6, 0.8)), domain)
        self.con.execute("INSERT INTO rosemeta_article VALUES (?,?,?,?,?,?)", (aid, title, body, user, stamp(ts),
                                                                               stamp(ts)))
        self.catalog_event("rosemeta_article", aid, "created", ts, user)

    def new_user(self) -> None:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        uid = self.take_id("auth_user")
        username = f"{first}.{last}{uid}".lower()
        ts = self.when()
        self.con.execute("INSERT INTO auth_user VALUES (?,?,?,?,?,?,?,?,?,?)", (
            uid, username, first, last, f"{username}@example.com", None, "Viewer", 1, stamp(ts), None))
        self.usernames[uid] = username
        self.user_ids.append(uid)
        self.catalog_event("auth_user", uid, "created", ts, uid)
        self.new_avatar = (username, ts)

    # Outside the database ------------------------------------------------------------------------------
    def page_views(self, weekend: bool) -> None:
        """What people looked at: the bulk of the event bus."""
        rng = self.rng
        for _ in range(round(len(self.events) * (0.3 if weekend else 0.6))):
            page = rng.choice(("table", "table", "attribute", "article", "query", "search", "home"))
            self.event("user-activity-0", self.when(), {
                "type": "page.view", "user": self.usernames[self.user()], "path": f"/{page}/{rng.randint(1, 5000)}/",
                "session": rng.randbytes(8).hex(), "duration_ms": int(rng.lognormvariate(8, 1.2))})

    def uploads(self, weekend: bool) -> None:
        """Files added, one rewritten in place, one removed; every path opened through the instance's
        confinement (`Instance.at`), as a link among the uploads is never followed out of the instance."""
        rng, instance = self.rng, self.instance
        root = UPLOADS_DIR
        files = self.upload_files()
        touched: list[str] = []

        def add(path: str, data: bytes, ts: float) -> None:
            parent = path.rsplit("/", 1)[0]
            if not self.is_dir(parent):
                touched.append(parent.rsplit("/", 1)[0])
            instance.write_file(path, data, mtime=ts)
            touched.append(parent)
            self.summary.uploads_added.append("/" + path)

        if self.new_avatar:
            username, ts = self.new_avatar
            add(f"{root}/avatars/{username}.png", avatar(rng), ts)
        day = self.summary.day
        n_add = round(len(files) * DAILY_CHANGE * (WEEKEND_FACTOR if weekend else 1) * rng.uniform(0.5, 1.5))
        for n in range(max(n_add, 0 if weekend else 1)):
            ts = self.when()
            if rng.random() < 0.6:
                kind, data = csv_upload(rng, int(rng.lognormvariate(8.3, 1.0)), self.csv_tables,
                                        list(self.usernames.values()))
                add(f"{root}/csv/{kind}_{day:%Y%m%d}_{n + 1:03d}.csv", data, ts)
            else:
                ext, data = attachment(rng, int(2 ** rng.uniform(12, 18)))
                article = rng.randint(1, max(self.next_id.get("rosemeta_article", 2) - 1, 1))
                name = f"{rng.choice(ATTACHMENT_NAMES)}_{day:%Y%m%d}_{n + 1:03d}{ext}"
                add(f"{root}/attachments/{article}/{name}", data, ts)
        kinds = [p[len(root) + 1 :].split("/", 1)[0] for p in files]
        attachments = [p for p, kind in zip(files, kinds, strict=True) if kind == "attachments"]
        if attachments and rng.random() < 0.4:
            self.rewrite_in_place(rng.choice(attachments))
        removable = [p for p, kind in zip(files, kinds, strict=True) if kind in ("attachments", "csv")]
        if removable and rng.random() < 0.25:
            gone = rng.choice(removable)
            if "/" + gone not in self.summary.uploads_modified:
                parent = gone.rsplit("/", 1)[0]
                with instance.at(gone) as (dir_fd, name):
                    os.unlink(name, dir_fd=dir_fd)
                self.summary.uploads_removed.append("/" + gone)
                touched.append(parent)
                if parent != root and not self.listing(parent):
                    with instance.at(parent) as (dir_fd, name):
                        os.rmdir(name, dir_fd=dir_fd)  # an attachment folder goes with its last file
                    touched.append(parent.rsplit("/", 1)[0])
        for directory in dict.fromkeys(touched):
            try:
                fd = instance.open_dir(directory)
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                os.fsync(fd)
                os.utime(fd, (self.end, self.end))
            finally:
                os.close(fd)

    def listing(self, directory: str) -> list[str]:
        """The names in instance directory `directory`."""
        fd = self.instance.open_dir(directory)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)

    def is_dir(self, directory: str) -> bool:
        try:
            os.close(self.instance.open_dir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def upload_files(self) -> list[str]:
        """Every regular file under the uploads (instance paths, in the order of their parts); links are
        neither listed nor followed."""
        found: list[str] = []
        pending = [UPLOADS_DIR]
        while pending:
            directory = pending.pop()
            try:
                fd = self.instance.open_dir(directory)
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                with os.scandir(fd) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(f"{directory}/{entry.name}")
                        elif entry.is_file(follow_symlinks=False):
                            found.append(f"{directory}/{entry.name}")
            finally:
                os.close(fd)
        return sorted(found, key=lambda path: path.split("/"))

    def rewrite_in_place(self, path: str) -> None:
        """Re-upload an attachment of the same size: a byte range in the middle changes, the size does not."""
        rng = self.rng
        fd = self.instance.open_file(path, os.O_WRONLY)
        try:
            size = os.fstat(fd).st_size
            magic = 16  # keep the file type header
            if size <= magic:
                return
            length = min(size - magic, rng.randint(512, 64 << 10))
            offset = rng.randint(magic, size - length)
            os.pwrite(fd, rng.randbytes(length), offset)
            os.fsync(fd)
            ts = self.when()
            os.utime(fd, (ts, ts))
        finally:
            os.close(fd)
        self.summary.uploads_modified.append("/" + path)

    def table_sample(self) -> list[tuple[int, int, str, list[str]]]:
        """A few tables with their columns, for a data-dictionary style upload."""
        sample = []
        for tid in self.pick("rosemeta_table", 5):
            ds_id, qualified = self.con.execute(
                "SELECT t.ds_id, s.name || '.' || t.name FROM rosemeta_table t JOIN rosemeta_schema s"
                " ON s.id = t.schema_id WHERE t.id = ?", (tid,)).fetchone()
            columns = [r[0] for r in self.con.execute(
                "SELECT name FROM rosemeta_attribute WHERE table_id = ? ORDER BY position", (tid,))]
            sample.append((tid, ds_id, qualified, columns or ["id"]))
        return sample or [(0, 0, "public.catalog", ["id"])]

    def eventbus(self) -> None:
        parts = partitions(self.instance)
        self.events.sort(key=lambda e: (e[0], e[1]))
        for ts, _, name, body in self.events:
            ts_ms = int(ts * 1000)
            parts[name].append(ts_ms, event_payload(ts_ms, body))
        end_ms = int(self.end * 1000)
        for part in parts.values():
            part.flush(durable=True)
            self.summary.segments_expired += part.expire(end_ms)
            self.summary.segments_rolled += part.rolled
            fd = self.instance.open_dir(part.directory, create=True)
            try:
                os.utime(fd, (self.end, self.end))
            finally:
                os.close(fd)
        self.summary.events = len(self.events)
        write_checkpoint(self.instance, parts, self.end)
        self.instance.set_mtime(EVENTBUS_DIR, self.end)
