"""SQLite through real components over real HTTP: `fermyon:spin/sqlite@2.0.0` and
`spin:sqlite/sqlite@3.0.0` (the probe), `--sqlite` at startup, and the todo example app.

`no-such-database` cannot reach a guest of a valid app, as in Spin (an unlisted label is
`access-denied`, checked first; startup refuses a listed label no database has); the backend
case is covered in tests/platform/test_sqlite_db.py. `spin:sqlite/sqlite@3.1.0` shares the
3.0.0 host functions (the Spin SDK 3.4.1 does not import it; tests/spin covers its linking).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.http_apps import calls, err, hexed, ok, send, write_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)

Start = Callable[..., SpinPyProcess]


@pytest.fixture
def todo_app(example_app: Callable[[str], Path]) -> Path:
    """`manifests/todo`, its component built and compiled."""
    return example_app("todo")


@pytest.fixture
def probe(ready_component: Callable[[str], Path], tmp_path: Path) -> Path:
    """The probe, granted the databases `default` and `mem` (in memory, from the runtime
    config) but not `other`."""
    (tmp_path / "runtime-config.toml").write_text(
        '[sqlite_database.mem]\ntype = "spin"\n'
        '[sqlite_database.other]\ntype = "spin"\npath = "other.db"\n'
    )
    return write_app(
        tmp_path / "app", ready_component("platform-probe"), sqlite_databases=["default", "mem"]
    )


@pytest.fixture
def server(spin_py_server: Start, probe: Path, tmp_path: Path) -> SpinPyProcess:
    config = tmp_path / "runtime-config.toml"
    args = ["--state-dir", str(tmp_path / "state"), "--runtime-config-file", str(config)]
    # one process: the in-memory database `mem` lives in the process that serves the request
    return spin_py_server(probe, *args, "--workers", "1", "-q")


def sql(value: object) -> dict[str, object]:
    """The probe's encoding of a WIT `value`."""
    if value is None:
        return {"null": None}
    if isinstance(value, bytes):
        return {"blob": hexed(value)}
    kind = {int: "integer", float: "real", str: "text"}[type(value)]
    return {kind: value}


@pytest.mark.parametrize("api", ["sql2", "sql3"])
def test_execute_with_every_value_type(server: SpinPyProcess, api: str) -> None:
    row = [42, 2.5, "tëxt ☃", b"\x00\xffbytes", None]
    results = calls(
        server,
        [
            [f"{api}.open", "c", "default"],
            [f"{api}.execute", "c", "CREATE TABLE vals (i, r, t, b, n)"],
            [
                f"{api}.execute",
                "c",
                "INSERT INTO vals VALUES (?, ?, ?, ?, ?)",
                [42, 2.5, "tëxt ☃", {"hex": b"\x00\xffbytes".hex()}, None],
            ],
            [f"{api}.execute", "c", "INSERT INTO vals VALUES (?2, ?1, '', x'', NULL)", [0.0, 7]],
            [f"{api}.execute", "c", "INSERT INTO vals (i) VALUES (?), (?)", [I64_MAX, I64_MIN]],
            [f"{api}.execute", "c", "SELECT i, r, t, b, n FROM vals ORDER BY rowid"],
            [f"{api}.execute", "c", "SELECT count(*) AS n, typeof(?) AS t", ["x"]],
            [f"{api}.execute", "c", "UPDATE vals SET n = 1 WHERE 0"],
            [f"{api}.close", "c"],
        ],
    )
    assert (
        results[:5]
        == [ok(), ok({"columns": [], "rows": []})] + [ok({"columns": [], "rows": []})] * 3
    )
    assert results[5] == ok(
        {
            "columns": ["i", "r", "t", "b", "n"],
            "rows": [
                [sql(v) for v in row],
                [sql(7), sql(0.0), sql(""), sql(b""), sql(None)],
                [sql(I64_MAX)] + [sql(None)] * 4,
                [sql(I64_MIN)] + [sql(None)] * 4,
            ],
        }
    )
    assert results[6] == ok({"columns": ["n", "t"], "rows": [[sql(1), sql("text")]]})
    assert results[7:] == [ok({"columns": [], "rows": []}), ok()]


@pytest.mark.parametrize("api", ["sql2", "sql3"])
def test_errors_are_values(server: SpinPyProcess, api: str) -> None:
    results = calls(
        server,
        [
            [f"{api}.open", "x", "nope"],
            [f"{api}.open", "y", "other"],
            [f"{api}.open", "c", "default"],
            [f"{api}.execute", "c", "SELEKT 1"],
            [f"{api}.execute", "c", "SELECT * FROM no_such_table"],
            [f"{api}.execute", "c", "SELECT ?", []],
            [f"{api}.execute", "c", "CREATE TABLE u (k TEXT PRIMARY KEY)"],
            [f"{api}.execute", "c", "INSERT INTO u VALUES ('a')"],
            [f"{api}.execute", "c", "INSERT INTO u VALUES ('a')"],
            [f"{api}.execute", "c", "SELECT 1"],  # the connection still works
        ],
    )
    assert results[:3] == [err("access-denied"), err("access-denied"), ok()]
    assert results[3] == err("io", 'near "SELEKT": syntax error')
    assert results[4] == err("io", "no such table: no_such_table")
    assert results[5]["err"] == "io" and "binding" in results[5]["payload"]
    assert results[8] == err("io", "UNIQUE constraint failed: u.k")
    assert results[9] == ok({"columns": ["1"], "rows": [[sql(1)]]})


def test_v3_last_insert_rowid_changes_and_transactions(server: SpinPyProcess) -> None:
    results = calls(
        server,
        [
            ["sql3.open", "c", "default"],
            ["sql3.last_insert_rowid", "c"],
            ["sql3.execute", "c", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"],
            ["sql3.execute", "c", "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"],
            ["sql3.last_insert_rowid", "c"],
            ["sql3.changes", "c"],
            ["sql3.execute", "c", "UPDATE t SET v = 'z' WHERE id < 3"],
            ["sql3.changes", "c"],
            ["sql3.execute", "c", "BEGIN"],
            ["sql3.execute", "c", "DELETE FROM t"],
            ["sql3.execute", "c", "ROLLBACK"],
            ["sql3.execute", "c", "SELECT v FROM t ORDER BY id"],
            ["sql3.open", "d", "default"],  # its own connection: its own counters
            ["sql3.last_insert_rowid", "d"],
            ["sql3.changes", "d"],
        ],
    )
    assert results[1] == ok(0)
    assert results[4:6] == [ok(3), ok(3)]
    assert results[7] == ok(2)
    assert results[11] == ok({"columns": ["v"], "rows": [[sql("z")], [sql("z")], [sql("c")]]})
    assert results[12:] == [ok(), ok(0), ok(0)]


def test_in_memory_database_from_the_runtime_config(server: SpinPyProcess) -> None:
    first = calls(
        server,
        [
            ["sql2.open", "m", "mem"],
            ["sql2.execute", "m", "CREATE TABLE kept (v)"],
            ["sql2.execute", "m", "INSERT INTO kept VALUES (1)"],
        ],
    )
    assert first == [ok()] + [ok({"columns": [], "rows": []})] * 2
    # the same process, a later request: the in-memory database is still there
    assert calls(server, [["sql2.open", "m", "mem"], ["sql2.execute", "m", "SELECT v FROM kept"]])[
        1
    ] == ok({"columns": ["v"], "rows": [[sql(1)]]})


def test_connection_table_full(server: SpinPyProcess) -> None:
    opens = [["sql3.open", f"c{i}", "default"] for i in range(256)]
    results = calls(server, [*opens, ["sql3.open", "x", "default"], ["sql3.close", "c0"],
                             ["sql3.open", "y", "default"]])  # fmt: skip
    assert results[:256] == [ok()] * 256
    assert results[256:] == [err("io", "too many connections opened"), ok(), ok()]


def test_sqlite_option_runs_statements_and_files_once_at_startup(
    spin_py_server: Start, probe: Path, tmp_path: Path
) -> None:
    (tmp_path / "seed.sql").write_text(
        "CREATE TABLE IF NOT EXISTS seeds (v TEXT);\nINSERT INTO seeds VALUES ('from file');\n"
    )
    args = [
        "--state-dir",
        str(tmp_path / "state"),
        "--runtime-config-file",
        str(tmp_path / "runtime-config.toml"),
        "--sqlite",
        "CREATE TABLE IF NOT EXISTS seeds (v TEXT)",
        "--sqlite",
        "INSERT INTO seeds VALUES ('inline')",
        "--sqlite",
        f"@{tmp_path / 'seed.sql'}",
        "-q",
    ]
    server = spin_py_server(probe, *args)
    select = [["sql2.open", "c", "default"], ["sql2.execute", "c", "SELECT v FROM seeds"]]
    assert calls(server, select)[1] == ok(
        {"columns": ["v"], "rows": [[sql("inline")], [sql("from file")]]}
    )
    assert server.stop().returncode == 0
    bad = run_spin_py("up", "-f", str(probe), *args[2:4], "--sqlite", "CREATE TABLE")
    assert bad.returncode == 1
    assert "Error: failed to run --sqlite statement" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_unknown_database_label_stops_startup(
    ready_component: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(
        tmp_path / "app", ready_component("platform-probe"), sqlite_databases=["nope"]
    )
    result = run_spin_py("up", "-f", str(manifest), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "- Component probe uses database 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def request_json(base: str, method: str, path: str, body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    status, raw = send(base, method, path, data)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def test_todo_app_crud_and_persistence(
    spin_py_server: Start, todo_app: Path, tmp_path: Path
) -> None:
    args = ("--state-dir", str(tmp_path / "state"), "-q")
    base = spin_py_server(todo_app, *args).base_url
    assert request_json(base, "GET", "/todo") == (200, [])
    assert request_json(base, "POST", "/todo", {"title": "write docs"}) == (
        201,
        {"id": 1, "title": "write docs", "done": False},
    )
    assert request_json(base, "POST", "/todo", {"title": "ship", "done": True})[0] == 201
    assert request_json(base, "GET", "/todo/1") == (
        200,
        {"id": 1, "title": "write docs", "done": False},
    )
    assert request_json(base, "PUT", "/todo/1", {"done": True}) == (
        200,
        {"id": 1, "title": "write docs", "done": True},
    )
    assert request_json(base, "PUT", "/todo/1", {"title": "write more docs"})[1] == {
        "id": 1,
        "title": "write more docs",
        "done": True,
    }
    assert send(base, "DELETE", "/todo/2") == (204, b"")
    assert request_json(base, "GET", "/todo/2")[0] == 404
    assert request_json(base, "DELETE", "/todo/2")[0] == 404
    assert request_json(base, "PUT", "/todo/9", {"done": True})[0] == 404
    assert request_json(base, "POST", "/todo", {"done": True}) == (400, '"title" is required')
    assert request_json(base, "POST", "/todo", {"title": 5})[0] == 400
    assert send(base, "POST", "/todo", b"not json")[0] == 400
    assert request_json(base, "PATCH", "/todo/1")[0] == 405
    restarted = spin_py_server(todo_app, *args).base_url
    assert request_json(restarted, "GET", "/todo") == (
        200,
        [{"id": 1, "title": "write more docs", "done": True}],
    )
    assert (tmp_path / "state" / "sqlite_db.db").is_file()
