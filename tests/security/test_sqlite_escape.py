"""F1: a guest granted one SQLite database cannot reach any other file through SQL.

A real `spin-py up` serves the attack component, granted only `default`. The state directory
also holds the key-value store (with a secret set by `--key-value`) and another database the
guest is not granted. Each attack statement must get the `io` error value ("not authorized"),
leave every file untouched, create nothing, and the denials are logged once for the component;
ordinary SQL (tables, `VACUUM`, schema pragmas) keeps working.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.attack_apps import json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, start_spin_py

SECRET = "hunter2"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def server(
    attack_wasm: Path, state: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SpinPyProcess]:
    other = sqlite3.connect(state / "other.db")
    other.execute("CREATE TABLE private (secret TEXT)")
    other.execute("INSERT INTO private VALUES (?)", (SECRET,))
    other.commit()
    other.close()
    manifest = write_attack_app(tmp_path_factory.mktemp("app"), attack_wasm)
    args = ["--state-dir", str(state), "--key-value", f"secret={SECRET}", "--workers", "1"]
    running = start_spin_py(manifest, *args)
    try:
        yield running
    finally:
        running.stop()


def sql(server: SpinPyProcess, statement: str) -> dict[str, object]:
    result: dict[str, object] = json_call(server.base_url, "/sql", statement.encode())
    return result


def assert_denied(server: SpinPyProcess, statement: str, what: str) -> None:
    result = sql(server, statement)
    assert result.get("err") == "Io", (statement, result)
    payload = str(result["payload"])
    assert payload.startswith("not authorized:") and what in payload, (statement, payload)


def attacks(state: Path, outside: Path) -> list[tuple[str, str]]:
    kv = state / "sqlite_key_value.db"
    other = state / "other.db"
    return [
        (f"ATTACH DATABASE '{kv}' AS kv", "ATTACH"),
        (f"ATTACH '{other}' AS o", "ATTACH"),
        (f"ATTACH '{outside / 'created.db'}' AS c", "ATTACH"),
        (f"ATTACH 'file:{kv}?mode=ro' AS kv", "ATTACH"),
        (f"ATTACH '{outside}' || '/concat.db' AS c", "ATTACH"),
        ("ATTACH ':memory:' AS m", "ATTACH"),
        (f"VACUUM INTO '{outside / 'vacuumed.db'}'", "VACUUM INTO"),
        (f"VACUUM INTO '{kv}'", "VACUUM INTO"),
        ("DETACH DATABASE main", "DETACH"),
        ("PRAGMA database_list", "PRAGMA database_list"),
        ("SELECT file FROM pragma_database_list", "PRAGMA database_list"),
        (f"PRAGMA temp_store_directory = '{outside}'", "PRAGMA temp_store_directory"),
        ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
        ("PRAGMA locking_mode = EXCLUSIVE", "PRAGMA locking_mode"),
        ("PRAGMA mmap_size = 1000000000", "PRAGMA mmap_size"),
        ("PRAGMA hard_heap_limit = 1", "PRAGMA hard_heap_limit"),
        ("PRAGMA writable_schema = ON", "PRAGMA writable_schema"),
        ("SELECT load_extension('/tmp/evil')", "load_extension"),
        ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
    ]


def test_every_escape_is_denied_and_nothing_is_touched(
    server: SpinPyProcess, state: Path, tmp_path: Path
) -> None:
    others = [state / "other.db", state / "sqlite_key_value.db"]
    before = [path.read_bytes() for path in others]
    for statement, what in attacks(state, tmp_path):
        assert_denied(server, statement, what)
    assert list(tmp_path.iterdir()) == [], "an attack created a file"
    assert [path.read_bytes() for path in others] == before
    kv = sqlite3.connect(state / "sqlite_key_value.db")
    assert kv.execute("SELECT value FROM spin_key_value WHERE key = 'secret'").fetchone() == (
        SECRET.encode(),
    )
    kv.close()


def test_denials_are_logged_once_per_component(server: SpinPyProcess, tmp_path: Path) -> None:
    for _ in range(3):
        assert_denied(server, f"ATTACH '{tmp_path / 'x.db'}' AS x", "ATTACH")
    wait_for_log(server, "SQLite statement")
    time.sleep(0.3)  # a second denial line would be logged by now
    log = server.stderr_so_far()
    lines = [line for line in log.splitlines() if "SQLite statement" in line]
    assert len(lines) == 1, lines
    assert 'component "attack"' in lines[0] and "denied" in lines[0]


def test_the_guests_own_database_still_works(server: SpinPyProcess) -> None:
    statements = [
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO notes (body) VALUES ('hello')",
        "PRAGMA foreign_keys = ON",
        "PRAGMA user_version = 7",
        "VACUUM",
    ]
    for statement in statements:
        assert "ok" in sql(server, statement), statement
    assert sql(server, "PRAGMA user_version") == {
        "ok": {"columns": ["user_version"], "rows": [[7]]}
    }
    assert sql(server, "PRAGMA journal_mode") == {
        "ok": {"columns": ["journal_mode"], "rows": [["wal"]]}
    }
    info = sql(server, "PRAGMA table_info(notes)")
    assert [row[1] for row in info["ok"]["rows"]] == ["id", "body"]  # type: ignore[index]
    assert sql(server, "SELECT body FROM notes")["ok"]["rows"][0] == ["hello"]  # type: ignore[index]


def test_huge_values_and_results_are_io_errors(server: SpinPyProcess) -> None:
    too_long = sql(server, "SELECT zeroblob(200000000)")
    assert too_long["err"] == "Io" and "too big" in str(too_long["payload"])
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    huge = sql(server, endless + "SELECT x, zeroblob(10000) FROM c")
    assert huge["err"] == "Io" and "larger than" in str(huge["payload"])
