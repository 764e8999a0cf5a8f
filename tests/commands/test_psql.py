"""alation_psql against the emulated catalog (a real SQLite file), and its formats against real psql where the
host has PostgreSQL: the same table in both, the same queries, the same text."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alation_shell.commands.psql import format_aligned, split_statements
from alation_shell.instance import Instance
from alation_shell.session import Session
from alation_shell.terminal import Terminal

CATALOG = "data1/pgsql/rosemeta.db"
DEMO = [
    "create table demo (id integer, name text, score double precision, note text)",
    "insert into demo values (1, 'alpha', 1.5, 'first'), (22, 'b', NULL, NULL), "
    "(3, 'a much longer name', -2, 'x'), (4, '', 0.25, 'trailing')",
]
PG_BIN = Path("/usr/lib/postgresql")


def out(shell: Session, line: str) -> str:
    r = shell.execute(line)
    assert r.exit_code == 0, r.stderr
    return r.stdout


def digest(instance: Instance) -> str:
    return hashlib.sha256((instance.root / CATALOG).read_bytes()).hexdigest()


def count(instance: Instance, table: str) -> int:
    con = sqlite3.connect(instance.root / CATALOG)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# Against the catalog ----------------------------------------------------------------------------
def test_the_documented_count_piped_in(shell: Session, instance: Instance) -> None:
    n = count(instance, "rosemeta_table")
    width = max(len(str(n)), 5)
    expected = f" count \n-{'-' * width}-\n {str(n).rjust(width)}\n(1 row)\n\n"
    assert out(shell, "echo 'select count(*) from rosemeta_table;' | alation_psql") == expected
    assert out(shell, "alation_psql -c 'select count(*) from rosemeta_table'") == expected


def test_rows_and_formats(shell: Session, instance: Instance) -> None:
    text = out(shell, "alation_psql -c 'select id, username, is_active from auth_user order by id limit 2'")
    lines = text.splitlines()
    assert lines[0].split("|")[0] == " id "
    assert lines[1].startswith("----+")
    assert text.endswith("\n(2 rows)\n\n")
    unaligned = out(shell, "alation_psql -At -c 'select id, username from auth_user order by id limit 2'")
    con = sqlite3.connect(instance.root / CATALOG)
    rows = con.execute("SELECT id, username FROM auth_user ORDER BY id LIMIT 2").fetchall()
    con.close()
    assert unaligned == "".join(f"{i}|{u}\n" for i, u in rows)


def test_postgres_sql_is_translated(shell: Session, instance: Instance) -> None:
    text = out(shell, "alation_psql -At -c \"select count(*)::int from public.rosemeta_table where name ilike '%A%'\"")
    con = sqlite3.connect(instance.root / CATALOG)
    expected = con.execute("SELECT count(*) FROM rosemeta_table WHERE lower(name) LIKE '%a%'").fetchone()[0]
    con.close()
    assert text == f"{expected}\n"
    assert out(shell, "alation_psql -At -c \"select string_agg(name, ',') from (select name from rosemeta_tag "
                      "order by id limit 2) t\"").count(",") == 1


def test_read_only_by_default(shell: Session, instance: Instance) -> None:
    before = digest(instance)
    for sql in ("delete from rosemeta_table", "update auth_user set role = 'x'", "drop table rosemeta_tag",
                "insert into rosemeta_tag (id, name) values (9999, 'x')", "create table t (x int)"):
        r = shell.execute(f'alation_psql -c "{sql}"')
        assert r.exit_code == 1
        assert r.stderr.startswith("ERROR:  cannot execute ") and "in a read-only transaction\n" in r.stderr
        assert "HINT:  alation_psql is read-only in this emulator" in r.stderr
    assert digest(instance) == before


def test_nothing_reaches_a_file_outside_the_catalog(shell: Session, instance: Instance, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    for sql in (f"vacuum into '{target}'", f"attach database '{target}' as x", "pragma writable_schema = 1",
                "select load_extension('/lib/x.so')"):
        for flags in ("", "-v ON_ERROR_STOP=1 --write"):
            r = shell.execute(f'alation_psql {flags} -c "{sql}"')
            assert r.exit_code != 0 and r.stderr.startswith("ERROR:  "), (sql, flags, r.stderr)
    assert not target.exists()


def test_writes_need_on_error_stop_and_write(shell: Session, instance: Instance) -> None:
    r = shell.execute("alation_psql --write -c \"delete from rosemeta_tagapplication\"")
    assert r.exit_code == 2 and "--write needs -v ON_ERROR_STOP=1" in r.stderr
    r = shell.execute("alation_psql -v ON_ERROR_STOP=1 --write -c \"delete from rosemeta_tagapplication\"")
    assert r.exit_code == 0 and r.stdout.startswith("DELETE ")
    assert count(instance, "rosemeta_tagapplication") == 0
    (instance.root / "data2/tmp/add.sql").write_text(
        "begin;\ninsert into rosemeta_tag (id, name, created_at) values (90001, 'new', '2026-03-02');\ncommit;\n")
    r = shell.execute("alation_psql -v ON_ERROR_STOP=1 --write < /data2/tmp/add.sql")
    assert r.stdout == "BEGIN\nINSERT 0 1\nCOMMIT\n", r.stderr
    assert count(instance, "rosemeta_tag where id = 90001") == 1
    r = shell.execute("alation_psql -v ON_ERROR_STOP=1 --write "
                      "-c \"insert into rosemeta_tag (id, name) values (1, 'x')\"")
    assert r.stderr.startswith('ERROR:  null value in column "created_at" of relation "rosemeta_tag" violates')


def sql_file(shell: Session, text: str) -> str:
    """`text` as a file in the instance, for `alation_psql < FILE`."""
    (shell.instance.root / "data2/tmp/script.sql").write_text(text)
    return "/data2/tmp/script.sql"


def test_errors_in_psqls_words(shell: Session) -> None:
    r = shell.execute("alation_psql -c 'select * from nope'")
    assert (r.stderr, r.exit_code) == (
        'ERROR:  relation "nope" does not exist\nLINE 1: select * from nope\n                      ^\n', 1)
    r = shell.execute("alation_psql -c 'selec 1'")
    assert r.stderr == 'ERROR:  syntax error at or near "selec"\nLINE 1: selec 1\n        ^\n'
    path = sql_file(shell, "select id,\nnope from auth_user;\n")
    r = shell.execute(f"alation_psql < {path}")
    assert r.stderr == 'ERROR:  column "nope" does not exist\nLINE 2: nope from auth_user;\n        ^\n'
    assert r.exit_code == 0  # a script goes on after an error, as psql's does
    path = sql_file(shell, "select * from nope;\nselect 1;\n")
    r = shell.execute(f"cat {path} | alation_psql -v ON_ERROR_STOP=1")
    assert (r.stdout, r.exit_code) == ("", 3)
    r = shell.execute("alation_psql -c 'show all'")
    assert r.stderr.startswith("ERROR:  SHOW is not supported in this emulator")


def test_internal_commands(shell: Session, instance: Instance) -> None:
    listing = out(shell, "alation_psql -c '\\dt'")
    assert listing.splitlines()[0].strip() == "List of relations"
    assert " public | rosemeta_table          | table | alation\n" in listing
    described = out(shell, "alation_psql -c '\\d rosemeta_table'")
    assert described.splitlines()[0].strip() == 'Table "public.rosemeta_table"'
    assert " id              | integer |           | not null | \n" in described
    assert '    "rosemeta_table_pkey" PRIMARY KEY, btree (id)\n' in described
    assert ('    "rosemeta_table_schema_id_fkey" FOREIGN KEY (schema_id) REFERENCES rosemeta_schema(id)\n'
            in described)
    r = shell.execute("alation_psql -c '\\d nope'")
    assert (r.stderr, r.exit_code) == ('Did not find any relation named "nope".\n', 1)
    r = shell.execute("alation_psql -c '\\nope'")
    assert r.exit_code == 1 and r.stderr.startswith("invalid command \\nope")
    path = sql_file(shell, "\\x\nselect 1 as a;\n\\x off\n\\q\nselect 2;\n")
    text = out(shell, f"alation_psql < {path}")
    assert text == "Expanded display is on.\n-[ RECORD 1 ]\na | 1\n\nExpanded display is off.\n"


def test_the_interactive_prompt(instance: Instance) -> None:
    answers = iter(["select count(*)", "from rosemeta_tag;", "\\q"])
    asked: list[str] = []

    def ask(question: str) -> str | None:
        asked.append(question)
        return next(answers, None)

    shell = Session(instance, terminal=Terminal(interactive=True), ask=ask)
    r = shell.execute("alation_psql")
    assert r.exit_code == 0
    assert asked == ["rosemeta=# ", "rosemeta-# ", "rosemeta=# "]
    assert r.stdout.startswith('psql (13.14)\nType "help" for help.\n\n')
    assert f" {count(instance, 'rosemeta_tag')}\n(1 row)" in r.stdout
    assert not Session(instance, ask=lambda q: None).execute("alation_psql").stdout  # no banner on a pipe


def test_a_catalog_outside_the_instance_is_never_opened(shell: Session, instance: Instance, tmp_path: Path) -> None:
    outside = tmp_path / "pgsql"
    outside.mkdir()
    shutil.copy(instance.root / CATALOG, outside / "rosemeta.db")
    shutil.rmtree(instance.root / "data1/pgsql")
    os.symlink(outside, instance.root / "data1/pgsql")  # absolute: inside the chroot it names a missing dir
    r = shell.execute("alation_psql -c 'select 1'")
    assert r.exit_code == 2 and "catalog database /data1/pgsql/rosemeta.db is missing" in r.stderr


def test_statement_splitting() -> None:
    text = "select ';' as a; select $$x;y$$;\n-- a comment; here\nselect 1 /* ; */;\nselect 'un"
    done, rest = split_statements(text, final=False)
    assert done == ["select ';' as a;", "select $$x;y$$;", "-- a comment; here\nselect 1 /* ; */;"]
    assert rest == "\nselect 'un"


# Against real psql ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_psql() -> Iterator[Callable[..., str]]:
    """A throwaway PostgreSQL server on a Unix socket, with the DEMO table; a function running psql on it."""
    versions = sorted(PG_BIN.glob("*/bin/initdb"))
    psql = shutil.which("psql")
    if not versions or psql is None:
        pytest.skip("PostgreSQL is not installed")
    bindir = versions[-1].parent
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="psql-compare-", dir="/tmp"))
    if as_postgres:
        shutil.chown(base, "postgres")
    data = base / "data"
    run = dict(capture_output=True, text=True, check=True, timeout=120)
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8", "--locale=C"], **run)
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
                    "-o", f"-k {base} -c listen_addresses='' -c fsync=off", "start"], **run)

    def query(*args: str, stdin: str | None = None) -> str:
        result = subprocess.run([psql, "-X", "-h", str(base), "-U", "postgres", "-d", "postgres", *args],
                                input=stdin, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PGTZ": "UTC", "LC_ALL": "C"})
        return result.stdout + result.stderr

    try:
        for statement in DEMO:
            query("-c", statement)
        yield query
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def demo(shell: Session) -> Session:
    for statement in DEMO:
        out(shell, f'alation_psql -v ON_ERROR_STOP=1 --write -c "{statement}"')
    return shell


@pytest.mark.parametrize(
    "args",
    [
        ["-c", "select * from demo order by id"],
        ["-c", "select count(*) from demo"],
        ["-c", "select id, name from demo where id > 99"],
        ["-c", "select name, id, score from demo order by id"],
        ["-c", "select 1 as a, 'x' as bb, 'abc' as y"],
        ["-c", "select 'a' as abcd, 1 as x, 'abc' as yz"],
        ["-x", "-c", "select * from demo order by id"],
        ["-x", "-c", "select * from demo where id = 99"],
        ["-x", "-c", "select 1 as a"],
        ["-A", "-c", "select * from demo order by id"],
        ["-At", "-c", "select id, note from demo order by id"],
        ["-t", "-c", "select id, name from demo order by id"],
        ["-A", "-F", ",", "-c", "select id, name from demo order by id"],
        ["-c", "select max(id), min(name), sum(id) from demo"],
        ["-c", "select * from nope"],
        ["-c", "selec 1"],
        ["-c", "select * from demo order by id; select count(*) from demo"],
        ["-c", "\\x"],
    ],
)
def test_formats_match_real_psql(demo: Session, real_psql: Callable[..., str], args: list[str]) -> None:
    r = demo.execute("alation_psql " + shlex.join(args))
    assert r.stdout + r.stderr == real_psql(*args)


@pytest.mark.parametrize(
    "script",
    ["select count(*) from demo;\n", "select id\nfrom demo\norder by id;\nselect 1 as one;\n",
     "\\x\nselect * from demo where id = 1;\n\\x\n", "select * from nope;\nselect 2 as two;\n"],
)
def test_piped_scripts_match_real_psql(demo: Session, real_psql: Callable[..., str], script: str) -> None:
    (demo.instance.root / "data2/tmp/s.sql").write_text(script)
    r = demo.execute("cat /data2/tmp/s.sql | alation_psql")
    assert r.stdout + r.stderr == real_psql(stdin=script)


def test_aligned_layout_of_odd_widths_matches_real_psql(real_psql: Callable[..., str]) -> None:
    expected = real_psql("-c", "select 'abc' as a, 12345 as bb, 'x' as \"cccc\"")
    assert format_aligned(["a", "bb", "cccc"], [["abc", "12345", "x"]], [False, True, False]) == expected
