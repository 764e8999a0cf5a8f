"""`alation_psql`: psql on the catalog database, which in the emulator is SQLite (/data1/pgsql/rosemeta.db).

SQL is written for Postgres and translated to SQLite by sqlglot; results print in psql's formats (aligned
with `(N rows)`, expanded with `\\x`, unaligned with -A, tuples only with -t); what cannot run gets psql's
`ERROR:` lines (with `LINE n:` and a caret when the place is known). SQL comes from -c, from what is piped
in (`echo 'select count(*) from rosemeta_table;' | alation_psql`), or from the `rosemeta=# ` prompt.

Read-only unless `-v ON_ERROR_STOP=1 --write` (the emulator's addition: a trainee cannot change the catalog by
accident). The database opens read-only, only queries are accepted, and an SQLite authorizer refuses ATTACH,
VACUUM INTO and PRAGMA in either mode, so no statement reaches a file outside the instance.
"""

from __future__ import annotations

import os
import sqlite3

from alation_shell.commands.base import Context
from alation_shell.commands.text import options
from alation_shell.errors import ShellError, UsageError
from alation_shell.node import layout

DATABASE = "rosemeta"
CATALOG_DB = "/" + layout.CATALOG_DB
OWNER = "alation"
SERVER_VERSION = "13.14"  # the Postgres the emulated server runs (an emulator's choice: the docs do not say)
HELP = """\
alation_psql is psql connected to the Alation catalog database (rosemeta).

Usage:
  alation_psql [OPTION]...

Options:
  -c, --command=COMMAND    run only one command (SQL or internal) and exit
  -v ON_ERROR_STOP=1       stop at the first error of a script (exit status 3)
  --write                  allow statements that change the catalog; needs -v ON_ERROR_STOP=1
                           (an addition of this emulator: alation_psql is read-only without it)
  -x, --expanded           expanded table output
  -A, --no-align           unaligned table output
  -t, --tuples-only        print rows only
  -F, --field-separator=STRING   field separator for unaligned output (default "|")
  -q, --quiet              run quietly (no banner)
  --help                   show this help, then exit
  --version                output version information, then exit

SQL is read from -c, from standard input when something is piped in, else at the rosemeta=# prompt.
Internal commands: \\q quit, \\dt list tables, \\d [NAME] describe, \\x [on|off] expanded output,
\\l list databases, \\conninfo, \\? help.
"""
META_HELP = """\
General
  \\q                     quit alation_psql
  \\conninfo              display information about the current connection
Informational
  \\d[t] [NAME]           list tables, or describe table NAME
  \\l                     list databases
Formatting
  \\x [on|off]            toggle expanded output
"""
# SQLite authorizer action codes (sqlite3.h) the emulator refuses or watches.
_ATTACH, _DETACH, _PRAGMA, _FUNCTION = 24, 25, 19, 31
_WRITES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 23, 26, 27, 28, 29, 30})
_READ_ONLY_HINT = ("alation_psql is read-only in this emulator; to change the catalog run "
                   "alation_psql -v ON_ERROR_STOP=1 --write")
# Postgres names of the SQLite declared types, for \d.
_TYPES = {"INTEGER": "integer", "INT": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "TEXT": "text",
          "REAL": "double precision", "DOUBLE": "double precision", "FLOAT": "double precision", "BLOB": "bytea",
          "NUMERIC": "numeric", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp without time zone",
          "DATE": "date", "VARCHAR": "character varying"}


class Stop(Exception):
    """`\\q`, or an error under ON_ERROR_STOP: the session ends with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class SqlError(Exception):
    """A statement that failed: psql's ERROR line, and optionally where (statement, offset) and a HINT."""

    def __init__(self, message: str, statement: str = "", offset: int = -1, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.statement = statement
        self.offset = offset
        self.hint = hint

    def lines(self) -> list[str]:
        out = [f"ERROR:  {self.message}"]
        if self.offset >= 0:
            before = self.statement[:self.offset]
            number = before.count("\n") + 1
            start = before.rfind("\n") + 1
            end = self.statement.find("\n", self.offset)
            text = self.statement[start:] if end < 0 else self.statement[start:end]
            label = f"LINE {number}: "
            out.append(label + text)
            out.append(" " * (len(label) + self.offset - start) + "^")
        if self.hint:
            out.append(f"HINT:  {self.hint}")
        return out


def run(ctx: Context, args: list[str]) -> int:
    """`alation_psql [OPTION]...`: see the module's docstring."""
    if "--help" in args or "-?" in args:
        ctx.stdout.write(HELP)
        return 0
    if "--version" in args or "-V" in args:
        ctx.out(f"psql (PostgreSQL) {SERVER_VERSION}")
        return 0
    opts, operands = options(
        args, "c:v:xAtF:qXd:U:h:p:wW",
        ["command=", "set=", "variable=", "write", "expanded", "no-align", "tuples-only", "field-separator=",
         "quiet", "no-psqlrc", "dbname=", "username=", "host=", "port=", "no-password", "password"],
    )
    psql = Psql(ctx)
    commands: list[str] = []
    write = False
    for flag, value in opts:
        if flag in ("-c", "--command"):
            commands.append(value)
        elif flag in ("-v", "--set", "--variable"):
            name, _, setting = value.partition("=")
            if name == "ON_ERROR_STOP":
                psql.on_error_stop = setting.lower() in ("1", "on", "true", "yes")
        elif flag == "--write":
            write = True
        elif flag in ("-x", "--expanded"):
            psql.expanded = True
        elif flag in ("-A", "--no-align"):
            psql.aligned = False
        elif flag in ("-t", "--tuples-only"):
            psql.tuples_only = True
        elif flag in ("-F", "--field-separator"):
            psql.separator = value
        elif flag in ("-q", "--quiet"):
            psql.quiet = True
        elif flag in ("-d", "--dbname"):
            _check_database(value)
    if operands:
        _check_database(operands[0])
        if len(operands) > 2:
            ctx.err(f"alation_psql: warning: extra command-line argument \"{operands[2]}\" ignored")
    if write and not psql.on_error_stop:
        raise UsageError("--write needs -v ON_ERROR_STOP=1 (so that a failing statement stops the script)")
    psql.connect(write=write)
    try:
        if commands:
            return psql.run_commands(commands)
        if ctx.stdin is not None:
            return psql.run_script(ctx.stdin)
        return psql.interactive()
    finally:
        psql.close()


def _check_database(name: str) -> None:
    if name not in (DATABASE, ""):
        raise ShellError(f'connection to server on socket "/tmp/.s.PGSQL.5432" failed: FATAL:  database "{name}" '
                         f"does not exist", exit_code=2)


class Psql:
    """One alation_psql session: the connection, the display settings, and the statements it runs."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.expanded = False
        self.aligned = True
        self.tuples_only = False
        self.separator = "|"
        self.quiet = False
        self.on_error_stop = False
        self.write = False
        self.con: sqlite3.Connection | None = None
        self._internal = False  # our own catalog queries may use PRAGMA; the operator's may not

    # Connection -------------------------------------------------------------------------------
    def connect(self, *, write: bool) -> None:
        """Open the catalog (read-only unless `write`), after checking that its real path is in the instance."""
        instance = self.ctx.instance
        path = instance.real_path(CATALOG_DB)
        real = os.path.realpath(path)
        root = os.path.realpath(instance.root)
        if os.path.commonpath([real, root]) != root or not os.path.isfile(real):
            raise ShellError(f'connection to server failed: the catalog database {CATALOG_DB} is missing '
                             f"(restore a backup, or `sim reset`)", exit_code=2)
        from pathlib import Path

        uri = Path(real).as_uri() + ("?mode=rw" if write else "?mode=ro")
        try:
            self.con = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ShellError(f"connection to server failed: {exc}", exit_code=2) from None
        self.write = write
        self.con.set_authorizer(self._authorize)

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action in (_ATTACH, _DETACH):
            return sqlite3.SQLITE_DENY
        if action == _PRAGMA and not self._internal:
            return sqlite3.SQLITE_DENY
        if action == _FUNCTION and (arg2 or "").lower() == "load_extension":
            return sqlite3.SQLITE_DENY
        if not self.write and action in _WRITES:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    # Input modes ------------------------------------------------------------------------------
    def run_commands(self, commands: list[str]) -> int:
        """`-c COMMAND` (each of them): exit status 1 when one failed, as psql."""
        status = 0
        try:
            for command in commands:
                if command.lstrip().startswith("\\"):
                    ok = self.meta(command.strip())
                else:
                    ok = all(self.sql(statement) for statement in split_statements(command, final=True)[0])
                status = status or (0 if ok else 1)
        except Stop as stop:
            return stop.status
        return status

    def run_script(self, text: str) -> int:
        """SQL piped in: every statement in turn; an error stops the script only under ON_ERROR_STOP (3)."""
        try:
            buffer = ""
            for line in text.splitlines():
                buffer = self.feed(buffer, line)
            if buffer.strip():
                statements, _ = split_statements(buffer, final=True)
                for statement in statements:
                    self.sql_or_stop(statement)
        except Stop as stop:
            return stop.status
        return 0

    def interactive(self) -> int:
        """The `rosemeta=# ` prompt (`rosemeta-# ` inside a statement) until `\\q` or end of input."""
        if not self.quiet and self.ctx.interactive:  # psql greets a person at a terminal only
            self.ctx.out(f"psql ({SERVER_VERSION})")
            self.ctx.out('Type "help" for help.')
            self.ctx.out()
        buffer = ""
        try:
            while True:
                line = self.ctx.ask(f"{DATABASE}{'-' if buffer.strip() else '='}# ")
                if line is None:
                    return 0
                if not buffer.strip() and line.strip().lower() in ("help", "quit", "exit"):
                    word = line.strip().lower()
                    if word == "help":
                        self.ctx.out("You are using alation_psql, the command-line interface to the catalog.")
                        self.ctx.out("Type:  \\? for help with psql commands")
                        self.ctx.out("       \\q to quit")
                        continue
                    return 0
                buffer = self.feed(buffer, line)
        except Stop as stop:
            return stop.status

    def feed(self, buffer: str, line: str) -> str:
        """Add a line of input; run the statements it completes (and a `\\` command on a line of its own)."""
        if not buffer.strip() and line.lstrip().startswith("\\"):
            if not self.meta(line.strip()) and self.on_error_stop:
                raise Stop(3)
            return ""
        statements, rest = split_statements(buffer + line + "\n", final=False)
        for statement in statements:
            self.sql_or_stop(statement)
        return rest

    def sql_or_stop(self, statement: str) -> None:
        if not self.sql(statement) and self.on_error_stop:
            raise Stop(3)

    # Statements -------------------------------------------------------------------------------
    def sql(self, statement: str) -> bool:
        """Run one SQL statement and print its result or its error; False on an error."""
        try:
            self._sql(statement)
        except SqlError as exc:
            for line in exc.lines():
                self.ctx.err(line)
            return False
        return True

    def _sql(self, statement: str) -> None:
        from sqlglot import exp

        expression = self._parse(statement)
        if expression is None:
            return  # only comments
        kind = _kind(expression)
        if kind is None:
            raise SqlError(f"{_first_word(statement)} is not supported in this emulator", statement,
                           _word_offset(statement))
        if kind not in ("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SET") and not self.write:
            raise SqlError(f"cannot execute {kind} in a read-only transaction", hint=_READ_ONLY_HINT)
        if kind == "SET":
            self.ctx.out("SET")
            return
        for table in expression.find_all(exp.Table):
            if table.args.get("db") is not None and table.db == "public":
                table.set("db", None)  # Postgres's default schema; SQLite has none
        names = _output_names(expression) if kind == "SELECT" else None
        self._virtual_times(expression)
        translated = expression.sql(dialect="sqlite")
        assert self.con is not None
        try:
            cursor = self.con.execute(translated)
            rows = cursor.fetchall() if cursor.description else []
        except sqlite3.Error as exc:
            raise _from_sqlite(exc, statement) from None
        if kind != "SELECT":
            self.ctx.out(_tag(kind, cursor.rowcount))
            return
        columns = [d[0] for d in cursor.description or ()]
        if names is not None and len(names) == len(columns):
            columns = names
        self.print_rows(columns, rows)

    def _virtual_times(self, expression) -> None:  # noqa: ANN001 - a sqlglot Expression
        """now(), CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME read the virtual clock (as `date` does), not the
        host's: SQLite would answer with the host's time."""
        from sqlglot import exp

        from alation_shell.node import clock

        kinds = {exp.CurrentTimestamp: "%Y-%m-%d %H:%M:%S", exp.CurrentDate: "%Y-%m-%d", exp.CurrentTime: "%H:%M:%S"}
        found = [node for node in expression.find_all(*kinds) if type(node) in kinds]
        if found:
            when = clock.now(self.ctx.instance)
            for node in found:
                node.replace(exp.Literal.string(when.strftime(kinds[type(node)])))

    def _parse(self, statement: str):  # noqa: ANN202 - a sqlglot Expression or None
        import logging

        import sqlglot
        from sqlglot.errors import ParseError, TokenError

        logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # its fallback warnings are not the operator's
        try:
            parsed = [e for e in sqlglot.parse(statement, read="postgres") if e is not None]
        except (ParseError, TokenError) as exc:
            raise self._syntax_error(statement, exc) from None
        if len(parsed) > 1:
            raise SqlError("cannot run several statements at once", statement)
        return parsed[0] if parsed else None

    def _syntax_error(self, statement: str, exc: Exception) -> SqlError:
        """psql's `syntax error at or near "X"`, X as SQLite's own parser finds it (it stops where Postgres
        would, at the first word it cannot take), else where sqlglot stopped."""
        token = ""
        assert self.con is not None
        try:
            self.con.execute("EXPLAIN " + statement.rstrip().rstrip(";"))
        except sqlite3.Error as sqlite_exc:
            text = str(sqlite_exc)
            if text.startswith('near "') and '": ' in text:
                token = text[6:text.index('": ')]
        if not token:
            errors = getattr(exc, "errors", None) or [{}]
            token = str(errors[0].get("highlight") or "")
        if not token:
            return SqlError("syntax error at end of input", statement, len(statement.rstrip().rstrip(";")))
        return SqlError(f'syntax error at or near "{token}"', statement, _find_word(statement, token))

    def print_rows(self, columns: list[str], rows: list[tuple]) -> None:
        cells = [[_cell(v) for v in row] for row in rows]
        numeric = [bool(rows) and all(isinstance(r[i], int | float) for r in rows if r[i] is not None)
                   and any(r[i] is not None for r in rows) for i in range(len(columns))]
        if self.expanded:
            text = format_expanded(columns, cells, tuples_only=self.tuples_only)
        elif self.aligned:
            text = format_aligned(columns, cells, numeric, tuples_only=self.tuples_only)
        else:
            text = format_unaligned(columns, cells, self.separator, tuples_only=self.tuples_only)
        self.ctx.stdout.write(text)

    # Internal commands ------------------------------------------------------------------------
    def meta(self, line: str) -> bool:
        """Run a backslash command; False when it failed."""
        word, _, rest = line[1:].partition(" ")
        argument = rest.strip()
        if word == "q":
            raise Stop(0)
        if word in ("dt", "d", "dt+", "d+"):
            if argument and word.startswith("d") and not word.startswith("dt"):
                return self.describe(argument.strip('"'))
            self.list_tables(argument)
            return True
        if word == "x":
            if argument in ("on", "off"):
                self.expanded = argument == "on"
            elif argument:
                self.ctx.err(f"unrecognized value \"{argument}\" for \"\\x\": Boolean expected")
                return False
            else:
                self.expanded = not self.expanded
            self.ctx.out(f"Expanded display is {'on' if self.expanded else 'off'}.")
            return True
        if word == "l":
            self.print_titled("List of databases", ["Name", "Owner", "Encoding"],
                              [[DATABASE, OWNER, "UTF8"]], [False] * 3)
            return True
        if word == "conninfo":
            self.ctx.out(f'You are connected to database "{DATABASE}" as user "{OWNER}" via socket in '
                         f'"/tmp" at port "5432".')
            return True
        if word == "?":
            self.ctx.stdout.write(META_HELP)
            return True
        self.ctx.err(f"invalid command \\{word}")
        self.ctx.err("Try \\? for help.")
        return False

    def _catalog(self, sql: str, *params: object) -> list[tuple]:
        assert self.con is not None
        self._internal = True
        try:
            return self.con.execute(sql, params).fetchall()
        finally:
            self._internal = False

    def list_tables(self, pattern: str) -> None:
        names = [r[0] for r in self._catalog(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        if pattern:
            import fnmatch

            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not names:
            self.ctx.err(f'Did not find any relation named "{pattern}".' if pattern else "Did not find any relations.")
            return
        self.print_titled("List of relations", ["Schema", "Name", "Type", "Owner"],
                          [["public", n, "table", OWNER] for n in names], [False] * 4)

    def describe(self, name: str) -> bool:
        name = name.removeprefix("public.")
        found = self._catalog("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", name)
        if not found:
            self.ctx.err(f"Did not find any relation named \"{name}\".")
            return False
        columns = self._catalog(f"PRAGMA table_info({_quote(name)})")
        rows = []
        for _, column, declared, notnull, default, pk in columns:
            kind = declared.upper().split("(")[0].strip()
            shown = _TYPES.get(kind, declared.lower() or "text")
            if "(" in declared and shown == "character varying":
                shown += declared[declared.index("("):]
            rows.append([column, shown, "", "not null" if notnull or pk else "", "" if default is None else default])
        self.print_titled(f'Table "public.{name}"', ["Column", "Type", "Collation", "Nullable", "Default"], rows,
                          [False] * 5, footer=False)
        lines: list[str] = []
        primary = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]]
        indexes = []
        if primary:
            indexes.append(f'    "{name}_pkey" PRIMARY KEY, btree ({", ".join(primary)})')
        for _, index, unique, origin, _ in self._catalog(f"PRAGMA index_list({_quote(name)})"):
            if origin == "pk":
                continue
            cols = ", ".join(r[2] for r in self._catalog(f"PRAGMA index_info({_quote(index)})"))
            if origin == "u":
                indexes.append(f'    "{name}_{cols.replace(", ", "_")}_key" UNIQUE CONSTRAINT, btree ({cols})')
            else:
                indexes.append(f'    "{index}"{" UNIQUE," if unique else ""} btree ({cols})')
        if indexes:
            lines += ["Indexes:", *indexes]
        checks = _checks(name, found[0][0] or "")
        if checks:
            lines += ["Check constraints:", *checks]
        foreign = self._catalog(f"PRAGMA foreign_key_list({_quote(name)})")
        if foreign:
            lines.append("Foreign-key constraints:")
            for row in foreign:
                table, source, target = row[2], row[3], row[4] or "id"
                lines.append(f'    "{name}_{source}_fkey" FOREIGN KEY ({source}) REFERENCES {table}({target})')
        referencing = []
        for (other,) in self._catalog("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            for row in self._catalog(f"PRAGMA foreign_key_list({_quote(other)})"):
                if row[2] == name:
                    source, target = row[3], row[4] or "id"
                    referencing.append(f'    TABLE "{other}" CONSTRAINT "{other}_{source}_fkey" FOREIGN KEY '
                                       f"({source}) REFERENCES {name}({target})")
        if referencing:
            lines += ["Referenced by:", *referencing]
        for line in lines:
            self.ctx.out(line)
        self.ctx.out()
        return True

    def print_titled(self, title: str, columns: list[str], rows: list[list[str]], numeric: list[bool], *,
                     footer: bool = True) -> None:
        text = format_aligned(columns, rows, numeric, footer=footer)
        width = len(text.split("\n", 1)[0])
        self.ctx.out(" " * max((width - len(title)) // 2, 0) + title)
        self.ctx.stdout.write(text if footer else text.rstrip("\n") + "\n")


# Formats ----------------------------------------------------------------------------------------
def format_aligned(columns: list[str], rows: list[list[str]], numeric: list[bool], *, tuples_only: bool = False,
                   footer: bool = True) -> str:
    """psql's aligned format (border 1): centered headers, a `-+-` rule, numbers right-aligned, text left-aligned
    and the last column unpadded, then `(N rows)` and a blank line."""
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    last = len(columns) - 1
    lines = []
    if not tuples_only:
        header = []
        for c, width in zip(columns, widths, strict=True):
            space = width - len(c)
            header.append(" " + " " * (space // 2) + c + " " * ((space + 1) // 2) + " ")
        lines.append("|".join(header))
        lines.append("+".join("-" * (w + 2) for w in widths))
    for row in rows:
        cells = []
        for i, (value, width) in enumerate(zip(row, widths, strict=True)):
            if numeric[i]:
                shown = value.rjust(width)
            elif i == last:
                shown = value  # the last column is not padded
            else:
                shown = value.ljust(width)
            cells.append(" " + shown + ("" if i == last else " "))
        lines.append("|".join(cells))
    if footer and not tuples_only:
        lines.append(f"({len(rows)} {'row' if len(rows) == 1 else 'rows'})")
    return "\n".join(lines) + "\n" + ("\n" if footer else "")


def format_expanded(columns: list[str], rows: list[list[str]], *, tuples_only: bool = False) -> str:
    """psql's expanded format (`\\x`): a `-[ RECORD N ]` line over each row's `name | value` lines."""
    if not rows:
        return "" if tuples_only else "(0 rows)\n\n"
    name_width = max(len(c) for c in columns)
    value_width = max(len(v) for row in rows for v in row)
    lines = []
    for number, row in enumerate(rows, 1):
        label = f"-[ RECORD {number} ]"
        lines.append(label + "-" * max(name_width + value_width + 3 - len(label), 0))
        for column, value in zip(columns, row, strict=True):
            lines.append(f"{column.ljust(name_width)} | {value}")
    return "\n".join(lines) + "\n\n"


def format_unaligned(columns: list[str], rows: list[list[str]], separator: str, *, tuples_only: bool = False) -> str:
    """psql -A: fields joined by the separator; a header and `(N rows)` unless -t."""
    lines = [] if tuples_only else [separator.join(columns)]
    lines += [separator.join(row) for row in rows]
    if not tuples_only:
        lines.append(f"({len(rows)} {'row' if len(rows) == 1 else 'rows'})")
    return "\n".join(lines) + "\n" if lines else ""


# Helpers ----------------------------------------------------------------------------------------
def split_statements(text: str, *, final: bool) -> tuple[list[str], str]:
    """Complete statements (each with its `;`) and the unfinished rest. Quotes (`'...'`, `"..."`, `$$...$$`)
    and comments (`--`, `/* */`) are skipped over; with `final`, the rest counts as a statement too."""
    statements: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            end = text.find(c, i + 1)
            i = n if end < 0 else end + 1
        elif c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == "$":
            tag_end = text.find("$", i + 1)
            tag = text[i:tag_end + 1] if tag_end > 0 else ""
            if tag and (len(tag) == 2 or tag[1:-1].replace("_", "a").isalnum()):
                end = text.find(tag, tag_end + 1)
                i = n if end < 0 else end + len(tag)
            else:
                i += 1
        elif c == ";":
            statements.append(text[start:i + 1])
            start = i = i + 1
        else:
            i += 1
    rest = text[start:]
    if final and rest.strip():
        statements.append(rest)
        rest = ""
    return [s.strip() for s in statements if s.strip() not in ("", ";")], rest


def _kind(expression) -> str | None:  # noqa: ANN001 - a sqlglot Expression
    """psql's command tag of a statement, or None for one the emulator does not run."""
    from sqlglot import exp

    if isinstance(expression, exp.Query | exp.Values):
        return "SELECT"
    for cls, tag in ((exp.Insert, "INSERT"), (exp.Update, "UPDATE"), (exp.Delete, "DELETE"),
                     (exp.Create, "CREATE"), (exp.Drop, "DROP")):
        if isinstance(expression, cls):
            return tag
    if isinstance(expression, exp.Transaction):
        return "BEGIN"
    if isinstance(expression, exp.Commit):
        return "COMMIT"
    if isinstance(expression, exp.Rollback):
        return "ROLLBACK"
    if isinstance(expression, exp.Set):
        return "SET"
    return None


def _tag(kind: str, count: int) -> str:
    if kind == "INSERT":
        return f"INSERT 0 {count}"
    if kind in ("UPDATE", "DELETE"):
        return f"{kind} {count}"
    return kind


def _output_names(expression) -> list[str] | None:  # noqa: ANN001 - a sqlglot Expression
    """The column names Postgres gives a query's results (`count`, `?column?`), None when a `*` is among them."""
    from sqlglot import exp

    select = expression if isinstance(expression, exp.Select) else expression.find(exp.Select)
    if select is None:
        return None
    names = []
    for projection in select.expressions:
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            return None
        names.append(_output_name(projection))
    return names


def _output_name(node) -> str:  # noqa: ANN001 - a sqlglot Expression
    from sqlglot import exp

    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Cast):
        inner = _output_name(node.this)
        return inner if inner != "?column?" else node.to.sql(dialect="postgres").lower().split("(")[0]
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    if isinstance(node, exp.Paren):
        return _output_name(node.this)
    return "?column?"


def _cell(value: object) -> str:
    """A value as Postgres prints it: NULL empty, floats shortest (`-2`, `1.5`, `1e+20`), bytea in hex."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, float):
        text = repr(value)
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(text, text.removesuffix(".0"))
    return str(value)


def _from_sqlite(exc: sqlite3.Error, statement: str) -> SqlError:
    """An SQLite error in Postgres's words, placed in the statement where the name it is about appears."""
    text = str(exc)
    if text.startswith("no such table: "):
        name = text.removeprefix("no such table: ").removeprefix("main.")
        return SqlError(f'relation "{name}" does not exist', statement, _find_word(statement, name))
    if text.startswith("no such column: "):
        name = text.removeprefix("no such column: ")
        return SqlError(f'column "{name}" does not exist', statement, _find_word(statement, name.split(".")[-1]))
    if text.startswith("no such function: "):
        name = text.removeprefix("no such function: ").lower()
        return SqlError(f"function {name} does not exist", statement, _find_word(statement, name),
                        hint="the emulator's catalog is SQLite: not every Postgres function translates")
    if text.startswith('near "') and '": syntax error' in text:
        token = text[6:text.index('": ')]
        return SqlError(f'syntax error at or near "{token}"', statement, _find_word(statement, token))
    if "not authorized" in text or "readonly" in text:
        return SqlError("permission denied: the emulator does not run this statement", hint=_READ_ONLY_HINT)
    if text.startswith("UNIQUE constraint failed: "):
        columns = [c.split(".") for c in text.removeprefix("UNIQUE constraint failed: ").split(", ")]
        name = f"{columns[0][0]}_{'_'.join(c[-1] for c in columns)}_key"
        return SqlError(f'duplicate key value violates unique constraint "{name}"')
    if text.startswith("NOT NULL constraint failed: "):
        table, _, column = text.removeprefix("NOT NULL constraint failed: ").partition(".")
        return SqlError(f'null value in column "{column}" of relation "{table}" violates not-null constraint')
    return SqlError(text)


def _find_word(statement: str, word: str) -> int:
    """Where `word` first appears in `statement` as a whole word (case-insensitive); -1 when it does not."""
    lowered, target = statement.lower(), word.lower()
    start = lowered.find(target)
    while start >= 0:
        before = lowered[start - 1] if start else " "
        end = start + len(target)
        after = lowered[end] if end < len(lowered) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return start
        start = lowered.find(target, start + 1)
    return -1


def _first_word(statement: str) -> str:
    words = statement.split()
    return words[0].upper().rstrip(";") if words else ""


def _word_offset(statement: str) -> int:
    return len(statement) - len(statement.lstrip())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _checks(table: str, create_sql: str) -> list[str]:
    """`Check constraints:` lines of \\d, from the table's CREATE statement."""
    import sqlglot
    from sqlglot import exp

    try:
        created = sqlglot.parse_one(create_sql, read="sqlite")
    except Exception:  # noqa: BLE001 - a schema sqlglot cannot read only loses this section
        return []
    lines = []
    for column in created.find_all(exp.ColumnDef):
        for constraint in column.args.get("constraints") or []:
            if isinstance(constraint.kind, exp.CheckColumnConstraint):
                condition = constraint.kind.this.sql(dialect="postgres")
                lines.append(f'    "{table}_{column.name}_check" CHECK ({condition})')
    return lines
