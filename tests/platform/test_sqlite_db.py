"""SQLite databases: typed values, errors as WIT cases, labels and gating, --sqlite, processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spin_py.errors import ConfigError
from spin_py.manifest.model import Component
from spin_py.platform.runtime_config import SqliteDatabaseConfig
from spin_py.platform.sqlite_db import (
    DatabaseAccessDenied,
    DatabaseFull,
    InvalidConnection,
    NoSuchDatabase,
    QueryResult,
    SqliteConnection,
    SqliteDatabases,
    SqliteError,
    SqliteIoError,
    SqlValue,
    parse_sqlite_args,
)
from tests.support.models import make_app


@pytest.fixture
def dbs(tmp_path: Path) -> Iterator[SqliteDatabases]:
    databases = SqliteDatabases({}, tmp_path / ".spin")
    yield databases
    databases.close()


@pytest.fixture
def conn(dbs: SqliteDatabases) -> Iterator[SqliteConnection]:
    connection = dbs.connect("default")
    yield connection
    connection.close()


def test_default_database_file(tmp_path: Path, conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (x)", [])
    assert (tmp_path / ".spin" / "sqlite_db.db").is_file()


def test_values_round_trip_with_their_types(conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)", [])
    values: list[SqlValue] = [-(2**63), 1.5, "héllo", b"\x00\x01\xff", None]
    assert conn.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", values) == QueryResult([], [])
    conn.execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)", [2**63 - 1, -0.25, "", b"", None])
    result = conn.execute("SELECT i, r, s, b, n AS renamed FROM t ORDER BY i", [])
    assert result.columns == ["i", "r", "s", "b", "renamed"]
    assert result.rows == [values, [2**63 - 1, -0.25, "", b"", None]]
    kinds = [[type(v) for v in row] for row in result.rows]
    assert kinds[0] == [int, float, str, bytes, type(None)]


def test_sqlite_dynamic_typing_is_reported_as_stored(conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (anything)", [])
    conn.execute("INSERT INTO t VALUES (1), (2.0), ('3'), (x'04'), (NULL)", [])
    rows = conn.execute("SELECT anything, typeof(anything) FROM t", []).rows
    assert rows == [
        [1, "integer"],
        [2.0, "real"],
        ["3", "text"],
        [b"\x04", "blob"],
        [None, "null"],
    ]


def test_returning_and_rowid_and_changes(conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT)", [])
    result = conn.execute("INSERT INTO todo (title) VALUES (?) RETURNING id, title", ["a"])
    assert result == QueryResult(["id", "title"], [[1, "a"]])
    conn.execute("INSERT INTO todo (title) VALUES (?), (?)", ["b", "c"])
    assert conn.last_insert_rowid() == 3
    assert conn.changes() == 2
    conn.execute("UPDATE todo SET title = 'x'", [])
    assert conn.changes() == 3
    conn.execute("SELECT * FROM todo", [])
    assert conn.changes() == 3, "a SELECT does not reset changes()"


def test_guest_transactions(dbs: SqliteDatabases, conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (x)", [])
    conn.execute("BEGIN", [])
    conn.execute("INSERT INTO t VALUES (1)", [])
    conn.execute("ROLLBACK", [])
    conn.execute("BEGIN", [])
    conn.execute("INSERT INTO t VALUES (2)", [])
    conn.execute("COMMIT", [])
    other = dbs.connect("default")
    assert other.execute("SELECT x FROM t", []).rows == [[2]]
    other.close()


def test_each_connection_has_its_own_rowid(dbs: SqliteDatabases, conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (x)", [])
    other = dbs.connect("default")
    conn.execute("INSERT INTO t VALUES (1)", [])
    other.execute("INSERT INTO t VALUES (2)", [])
    other.execute("INSERT INTO t VALUES (3)", [])
    assert conn.last_insert_rowid() == 1
    assert other.last_insert_rowid() == 3
    other.close()


@pytest.mark.parametrize(
    ("statement", "params", "fragment"),
    [
        ("SELEC 1", [], "syntax error"),
        ("SELECT * FROM missing", [], "no such table"),
        ("SELECT 1; SELECT 2", [], "one statement"),
        ("SELECT ?", [], "bindings"),
        ("SELECT ?", [2**63], "64-bit"),
        ("SELECT ?", [[1, 2]], "unsupported type list"),
        ("SELECT ?", [True], "unsupported type bool"),
    ],
)
def test_errors_are_io_values(
    conn: SqliteConnection, statement: str, params: list[object], fragment: str
) -> None:
    with pytest.raises(SqliteIoError) as caught:
        conn.execute(statement, params)  # type: ignore[arg-type]
    assert caught.value.case == "io"
    assert caught.value.payload is not None and fragment in caught.value.payload


def test_constraint_violation_is_io_and_connection_stays_usable(conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (x UNIQUE)", [])
    conn.execute("INSERT INTO t VALUES (1)", [])
    with pytest.raises(SqliteIoError, match="UNIQUE constraint failed"):
        conn.execute("INSERT INTO t VALUES (1)", [])
    assert conn.execute("SELECT count(*) FROM t", []).rows == [[1]]


def test_database_full(conn: SqliteConnection) -> None:
    conn.execute("CREATE TABLE t (b BLOB)", [])
    (page_count,) = conn.execute("PRAGMA page_count", []).rows[0]
    assert isinstance(page_count, int)
    conn.execute(f"PRAGMA max_page_count = {page_count + 2}", [])
    with pytest.raises(DatabaseFull) as caught:
        conn.execute("INSERT INTO t VALUES (?)", [b"x" * 100_000])
    assert caught.value.case == "database-full" and caught.value.payload is None


def test_closed_connection_is_invalid(conn: SqliteConnection) -> None:
    conn.close()
    for call in (lambda: conn.execute("SELECT 1", []), conn.changes, conn.last_insert_rowid):
        with pytest.raises(InvalidConnection) as caught:
            call()
        assert caught.value.case == "invalid-connection"
    conn.close()


def test_labels_gating_and_in_memory(tmp_path: Path) -> None:
    configs = {
        "todo": SqliteDatabaseConfig(tmp_path / "todo.db"),
        "mem": SqliteDatabaseConfig(None),
    }
    dbs = SqliteDatabases(configs, tmp_path / ".spin")
    assert set(dbs.labels) == {"default", "todo", "mem"}
    view = dbs.for_component("web", ["todo", "mem", "ghost"])
    todo = view.open("todo")
    todo.execute("CREATE TABLE t (x)", [])
    assert (tmp_path / "todo.db").is_file()
    first, second = view.open("mem"), view.open("mem")
    first.execute("CREATE TABLE m (x)", [])
    first.execute("INSERT INTO m VALUES ('shared')", [])
    assert second.execute("SELECT x FROM m", []).rows == [["shared"]]
    with pytest.raises(DatabaseAccessDenied) as denied:
        view.open("default")
    assert denied.value.case == "access-denied"
    with pytest.raises(NoSuchDatabase) as missing:
        view.open("ghost")
    assert missing.value.case == "no-such-database"
    for c in (todo, first, second):
        c.close()
    dbs.close()


def test_persistence_across_reopen(tmp_path: Path) -> None:
    dbs = SqliteDatabases({}, tmp_path)
    conn = dbs.connect("default")
    conn.execute("CREATE TABLE t (x)", [])
    conn.execute("INSERT INTO t VALUES ('kept')", [])
    conn.close()
    dbs.close()
    again = SqliteDatabases({}, tmp_path).connect("default")
    assert again.execute("SELECT x FROM t", []).rows == [["kept"]]
    again.close()


def test_check_components_lists_undefined_databases(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        components=(
            Component(id="a", source="a.wasm", sqlite_databases=("default", "x")),
            Component(id="b", source="b.wasm", sqlite_databases=("y",)),
        ),
    )
    with pytest.raises(ConfigError) as caught:
        SqliteDatabases({}, tmp_path).check_components(app)
    message = str(caught.value)
    assert "use SQLite databases which are not defined" in message
    assert "- Component a uses database 'x'" in message
    assert "- Component b uses database 'y'" in message
    assert "'default'" not in message


def test_startup_sql_statements_and_files(tmp_path: Path, dbs: SqliteDatabases) -> None:
    (tmp_path / "migrate.sql").write_text(
        "CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT);\n"
        "INSERT INTO todo (title) VALUES ('from file');\n"
    )
    cli = "INSERT INTO todo (title) VALUES ('cli')"
    scripts = parse_sqlite_args(["@migrate.sql", cli], tmp_path)
    dbs.run_startup_sql(scripts)
    conn = dbs.connect("default")
    assert conn.execute("SELECT title FROM todo ORDER BY id", []).rows == [["from file"], ["cli"]]
    conn.close()
    with pytest.raises(ConfigError, match=r"failed to run --sqlite statement: .*no such table"):
        dbs.run_startup_sql(["INSERT INTO nope VALUES (1)"])
    with pytest.raises(ConfigError, match=r"--sqlite '@missing\.sql': cannot read"):
        parse_sqlite_args(["@missing.sql"], tmp_path)


WRITER = """
import sys
from pathlib import Path
from spin_py.platform.sqlite_db import SqliteDatabases
conn = SqliteDatabases({}, Path(sys.argv[1])).connect("default")
for i in range(200):
    conn.execute("BEGIN IMMEDIATE", [])
    (n,) = conn.execute("SELECT n FROM c", []).rows[0]
    conn.execute("UPDATE c SET n = ?", [n + 1])
    conn.execute("COMMIT", [])
"""


def test_two_processes_share_a_database(tmp_path: Path, dbs: SqliteDatabases) -> None:
    dbs.run_startup_sql(["CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0);"])
    state = str(tmp_path / ".spin")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, state], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    conn = dbs.connect("default")
    assert conn.execute("SELECT n FROM c", []).rows == [[400]]
    conn.close()


def test_error_classes_share_the_wit_shape() -> None:
    for error in (NoSuchDatabase("x"), DatabaseAccessDenied("x", "c"), InvalidConnection()):
        assert isinstance(error, SqliteError) and error.payload is None
    assert SqliteIoError("boom").payload == "boom"
