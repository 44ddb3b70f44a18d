"""Host-call spans of the platform APIs, exported by a real `spin-py up` to a real OTLP receiver.

Each key-value, SQLite and variables call a guest makes is a CLIENT span (`spin_key_value.*`,
`spin_sqlite.*`, `spin_variables.*`) in the request's trace, the child of the execute span
(the probe opens no guest spans), with `db.system.name` where it applies, and with no key,
value, statement parameter or secret anywhere in the exported span.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.http_apps import calls, err, ok, redis_runtime_config, write_app
from tests.support.otlp_receiver import OtlpReceiver, Received, otlp_receiver  # noqa: F401  (fixture)
from tests.support.server_fixtures import SpinPyProcess

SECRET = "tops3cret-4711"
KV_VALUE = "kv-value-8812"
SQL_PARAM = "sql-param-5309"

Start = Callable[..., SpinPyProcess]


def serve_probe(
    spin_py_server: Start,
    ready_component: Callable[[str], Path],
    receiver: OtlpReceiver,
    tmp_path: Path,
    *args: str,
) -> SpinPyProcess:
    manifest = write_app(
        tmp_path / "app",
        ready_component("platform-probe"),
        key_value_stores=["default"],
        sqlite_databases=["default"],
        app_variables={"token": "{ required = true, secret = true }"},
        component_variables={"token": "{{ token }}"},
    )
    return spin_py_server(
        manifest,
        "--state-dir", str(tmp_path / "state"),
        "--variable", f"token={SECRET}",
        *args,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"},
    )  # fmt: skip


def finished_spans(server: SpinPyProcess, receiver: OtlpReceiver, count: int) -> list[Received]:
    assert server.stop().returncode == 0
    return receiver.wait_for_spans(count)


def test_platform_calls_are_client_spans_under_the_execute_span(
    spin_py_server: Start,
    ready_component: Callable[[str], Path],
    otlp_receiver: OtlpReceiver,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    server = serve_probe(spin_py_server, ready_component, otlp_receiver, tmp_path)
    results = calls(
        server,
        [
            ["kv.open", "s", "default"],
            ["kv.set", "s", "the-key", KV_VALUE],
            ["kv.get", "s", "the-key"],
            ["kv.open", "x", "denied"],
            ["wkv.open", "b", "default"],
            ["wkv.increment", "b", "n", 1],
            ["sql3.open", "c", "default"],
            ["sql3.execute", "c", "  select ? as v", [SQL_PARAM]],
            ["var.get", "token"],
            ["cfg.get_all"],
        ],
    )
    assert results[3] == err("access-denied")
    assert results[8] == ok(SECRET)
    spans = finished_spans(server, otlp_receiver, 12)
    execute = next(s for s in spans if s.name.startswith("execute_wasm_component"))
    host = [s for s in spans if s.name.startswith("spin_")]
    assert [s.name for s in host] == [
        "spin_key_value.open",
        "spin_key_value.set",
        "spin_key_value.get",
        "spin_key_value.open",
        "spin_key_value.open",
        "spin_key_value.increment",
        "spin_sqlite.open",
        "spin_sqlite.execute",
        "spin_variables.get",
        "spin_variables.get_all",
    ]
    for span in host:
        assert span.item.kind == Span.SPAN_KIND_CLIENT
        assert span.trace_id == execute.trace_id
        assert span.parent_span_id == execute.span_id
    kv_open, kv_set, _, denied, _, increment, db_open, execute_sql, var_get, _ = host
    assert kv_open.attributes == {"db.system.name": "sqlite", "spin.key_value.store": "default"}
    assert kv_set.attributes == kv_open.attributes
    assert increment.attributes == kv_open.attributes
    assert denied.item.status.code == Status.STATUS_CODE_ERROR
    assert denied.attributes["spin.key_value.store"] == "denied"
    assert kv_set.item.status.code != Status.STATUS_CODE_ERROR
    assert db_open.attributes == {"db.system.name": "sqlite", "spin.sqlite.database": "default"}
    assert execute_sql.attributes == {
        "db.system.name": "sqlite",
        "spin.sqlite.database": "default",
        "db.operation.name": "SELECT",
    }
    assert var_get.attributes == {"spin.variable.name": "token"}
    exported = b"".join(s.item.SerializeToString() for s in spans)
    for text in (SECRET, KV_VALUE, SQL_PARAM, "the-key"):
        assert text.encode() not in exported, text


def test_redis_store_spans_name_redis(
    spin_py_server: Start,
    ready_component: Callable[[str], Path],
    otlp_receiver: OtlpReceiver,  # noqa: F811  (the fixture imported above)
    redis_url: str,
    tmp_path: Path,
) -> None:
    config = redis_runtime_config(tmp_path, redis_url)
    server = serve_probe(
        spin_py_server,
        ready_component,
        otlp_receiver,
        tmp_path,
        "--runtime-config-file",
        str(config),
    )
    assert calls(server, [["kv.open", "s", "default"], ["kv.exists", "s", "k"]]) == [
        ok(),
        ok(False),
    ]
    spans = finished_spans(server, otlp_receiver, 4)
    host = [s for s in spans if s.name.startswith("spin_")]
    assert [(s.name, s.attributes["db.system.name"]) for s in host] == [
        ("spin_key_value.open", "redis"),
        ("spin_key_value.exists", "redis"),
    ]
