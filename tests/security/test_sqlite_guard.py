"""F1/F4 at the backend: the guard on guest connections, statement by statement.

The HTTP tests (test_sqlite_escape.py, test_sqlite_interrupt.py) run the attacks through a real
component; these cover the whole pragma and function table quickly, on guarded connections of
`SqliteDatabases` (file and in-memory), and the unguarded operator connection (`--sqlite`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spin_py.platform.runtime_config import SqliteDatabaseConfig
from spin_py.platform.sqlite_db import (
    SqliteConnection,
    SqliteDatabases,
    StatementDenied,
    StatementInterrupted,
)


@pytest.fixture(params=["file", "memory"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteConnection]:
    configs = {"mem": SqliteDatabaseConfig(None)}
    dbs = SqliteDatabases(configs, tmp_path)
    connection = dbs.connect("default" if request.param == "file" else "mem")
    connection.execute("CREATE TABLE IF NOT EXISTS t (x)", [])
    yield connection
    connection.close()
    dbs.close()


ALLOWED = [
    "PRAGMA table_info(t)",
    "PRAGMA main.table_info(t)",
    "PRAGMA temp.table_list",
    "SELECT name FROM pragma_table_info('t')",
    "PRAGMA index_list(t)",
    "PRAGMA integrity_check",
    "PRAGMA quick_check(5)",
    "PRAGMA foreign_key_check",
    "PRAGMA compile_options",
    "PRAGMA optimize",
    "PRAGMA foreign_keys = ON",
    "PRAGMA user_version = 3",
    "PRAGMA application_id = 42",
    "PRAGMA recursive_triggers = 1",
    "PRAGMA query_only = 0",
    "PRAGMA journal_mode",
    "PRAGMA cache_size",
    "PRAGMA busy_timeout",
    "PRAGMA max_page_count",
    "PRAGMA max_page_count = 100000",
    "VACUUM",
    "SELECT json('[1]'), abs(-1), zeroblob(10)",
]

DENIED = [
    ("ATTACH '/tmp/spin-py-guard-test.db' AS a", "ATTACH"),
    ("VACUUM INTO '/tmp/spin-py-guard-test.db'", "VACUUM INTO"),
    ("DETACH temp", "DETACH"),
    ("PRAGMA database_list", "database_list"),
    ("PRAGMA temp_store_directory", "temp_store_directory"),
    ("PRAGMA temp_store = MEMORY", "temp_store"),
    ("PRAGMA cache_size = -2000000", "cache_size"),
    ("PRAGMA busy_timeout = 0", "busy_timeout"),
    ("PRAGMA journal_mode = OFF", "journal_mode"),
    ("PRAGMA schema_version = 1", "schema_version"),
    ("PRAGMA soft_heap_limit = 1", "soft_heap_limit"),
    ("PRAGMA threads = 8", "threads"),
    ("PRAGMA trusted_schema = ON", "trusted_schema"),
    ("PRAGMA some_future_pragma", "some_future_pragma"),
    ("SELECT load_extension('x')", "load_extension"),
    ("SELECT fts3_tokenizer('simple', x'00')", "fts3_tokenizer"),
]


@pytest.mark.parametrize("statement", ALLOWED)
def test_allowed(conn: SqliteConnection, statement: str) -> None:
    conn.execute(statement, [])


@pytest.mark.parametrize(("statement", "what"), DENIED)
def test_denied(conn: SqliteConnection, statement: str, what: str) -> None:
    with pytest.raises(StatementDenied) as caught:
        conn.execute(statement, [])
    assert caught.value.case == "io" and what in str(caught.value.payload)


def test_an_anonymous_attach_takes_vacuums_slot(conn: SqliteConnection) -> None:
    conn.execute("ATTACH '' AS scratch", [])
    with pytest.raises(Exception, match="too many attached databases"):
        conn.execute("ATTACH '' AS more", [])


def test_stop_check_interrupts_a_running_statement(conn: SqliteConnection) -> None:
    until = time.monotonic() + 0.3
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    with pytest.raises(StatementInterrupted):
        conn.execute(endless, [], lambda: time.monotonic() >= until)
    assert time.monotonic() - until < 0.5
    assert conn.execute("SELECT 2", []).rows == [[2]], "the connection stays usable"


def test_operator_sql_is_not_guarded(tmp_path: Path) -> None:
    dbs = SqliteDatabases({}, tmp_path)
    dbs.run_startup_sql([f"ATTACH '{tmp_path / 'extra.db'}' AS extra; CREATE TABLE extra.t (x)"])
    assert (tmp_path / "extra.db").is_file()
    dbs.close()
