"""`spin-py up --trace-ui`: the JSON API after real requests through real components, with the
UI in the serving process (`--workers 1`) and in its own process fed by two workers.

One app (see conftest): otel-demo (nested guest spans, an error span, an event, a link),
misbehave (a trap) and kv-counter (key-value host calls). Requests carry a traceparent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server_fixtures import SpinPyProcess
from tests.support.traceui_support import (
    CALLER_SPAN,
    by_name,
    get,
    send,
    start_with_ui,
    trace_id,
    trace_with,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
DEMO, TRAP, MISSING, COUNTER = (trace_id(n) for n in (1, 2, 3, 4))
GUEST_CHILDREN = ("load-profile", "render", "validate-quota")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_api_shows_real_traces(
    spin_py_server: Callable[..., SpinPyProcess], traced_app: Path, workers: str
) -> None:
    server, ui = start_with_ui(spin_py_server, traced_app, "--workers", workers, "--access-log")
    assert send(server.base_url, "/demo/hello", DEMO) == 200
    assert send(server.base_url, "/mis/trap", TRAP) == 500
    assert send(server.base_url, "/nowhere", MISSING) == 404
    assert send(server.base_url, "/counter", COUNTER) == 200

    demo = wait_for(lambda: trace_with(ui, DEMO, 6), what="the otel-demo trace")
    trap = wait_for(lambda: trace_with(ui, TRAP, 2), what="the trap's trace")
    missing = wait_for(lambda: trace_with(ui, MISSING, 1), what="the 404's trace")
    counter = wait_for(
        lambda: trace_with(ui, COUNTER, 3, "GET /counter", "execute_wasm_component counter"),
        what="the key-value trace",
    )

    # -- the otel-demo trace: server → execute → the guest's nested spans -------------------
    spans = by_name(demo)
    assert demo["trace_id"] == DEMO
    server_span, execute = spans["GET /demo/..."], spans["execute_wasm_component demo"]
    handle = spans["handle-request"]
    assert (server_span["parent_span_id"], server_span["kind"], server_span["source"]) == (
        CALLER_SPAN,
        "SERVER",
        "host",
    )
    assert server_span["attributes"]["http.route"] == "/demo/..."
    assert server_span["attributes"]["url.path"] == "/demo/hello"
    assert server_span["attributes"]["http.response.status_code"] == 200
    assert (execute["parent_span_id"], execute["source"]) == (server_span["span_id"], "host")
    assert (handle["parent_span_id"], handle["source"], handle["scope"]) == (
        execute["span_id"],
        "guest",
        "otel-demo",
    )
    assert handle["attributes"]["demo.tags"] == ["otel", "wasi", "python"]
    for name in GUEST_CHILDREN:
        assert (spans[name]["parent_span_id"], spans[name]["source"]) == (
            handle["span_id"],
            "guest",
        )
    assert spans["validate-quota"]["status"] == {
        "code": "ERROR",
        "message": "quota exceeded for profile 42",
    }
    assert [e["name"] for e in spans["load-profile"]["events"]] == ["cache-miss"]
    assert spans["load-profile"]["events"][0]["attributes"] == {
        "cache.key": "profile:42",
        "cache.attempt": 1,
    }
    assert spans["render"]["links"][0]["span_id"] == spans["load-profile"]["span_id"]
    for span in demo["spans"]:
        assert span["trace_id"] == DEMO
        assert span["start_time_unix_nano"] <= span["end_time_unix_nano"]
        assert len(span["span_id"]) == 16 and span["span_id"] == span["span_id"].lower()
    starts = [s["start_time_unix_nano"] for s in demo["spans"]]
    assert starts == sorted(starts)

    # -- a trap: the execute span failed, the server span is a 500 -------------------------
    spans = by_name(trap)
    execute = spans["execute_wasm_component mis"]
    assert execute["status"]["code"] == "ERROR" and execute["status"]["message"]
    assert "exception" in [e["name"] for e in execute["events"]]
    assert spans["GET /mis/..."]["status"]["code"] == "ERROR"
    assert spans["GET /mis/..."]["attributes"]["error.type"] == "500"

    # -- no route, and host calls to the key-value store ------------------------------------
    (only,) = missing["spans"]
    assert (only["name"], only["attributes"]["http.response.status_code"]) == ("GET", 404)
    spans = by_name(counter)
    execute = spans["execute_wasm_component counter"]
    kv = [s for s in counter["spans"] if s["name"].startswith("spin_key_value.")]
    assert "spin_key_value.increment" in [s["name"] for s in kv]
    for span in kv:
        assert (span["kind"], span["source"], span["parent_span_id"]) == (
            "CLIENT",
            "host",
            execute["span_id"],
        )
        assert span["attributes"]["spin.key_value.store"] == "default"

    # -- the list, newest first, with its filters --------------------------------------------
    status, items, headers = get(f"{ui}/api/traces")
    assert status == 200
    ours = [i for i in items if i["trace_id"] in (DEMO, TRAP, MISSING, COUNTER)]
    assert [i["trace_id"] for i in ours] == [COUNTER, MISSING, TRAP, DEMO]
    starts = [i["start_time_unix_nano"] for i in items]
    assert starts == sorted(starts, reverse=True)
    summary = {i["trace_id"]: i for i in items}
    assert summary[DEMO] | {"start_time_unix_nano": 0, "duration_ms": 0} == {
        "trace_id": DEMO,
        "name": "GET /demo/...",
        "start_time_unix_nano": 0,
        "duration_ms": 0,
        "span_count": 6,
        "error": True,  # the guest's validate-quota span
        "method": "GET",
        "route": "/demo/...",
        "path": "/demo/hello",
        "status_code": 200,
        "guest_span_count": 4,
        "dropped_span_count": 0,
    }
    assert summary[DEMO]["duration_ms"] > 0
    assert (summary[TRAP]["status_code"], summary[TRAP]["error"]) == (500, True)
    assert (summary[MISSING]["status_code"], summary[MISSING]["error"]) == (404, False)

    def listed(query: str) -> list[str]:
        return [i["trace_id"] for i in get(f"{ui}/api/traces?{query}")[1]]

    assert listed("status=5xx") == [TRAP]
    assert listed("status=404") == [MISSING]
    assert listed("route=/demo") == [DEMO]
    assert listed(f"trace_id={TRAP.upper()}") == [TRAP]
    assert len(listed(f"trace_id={TRAP[:20]}")) == 4
    assert listed("limit=1") == [items[0]["trace_id"]]
    assert get(f"{ui}/api/traces", {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(f"{ui}/api/traces/{trace_id(99)}")[0] == 404
    assert get(f"{ui}/api/traces/not-hex")[0] == 400

    # -- the metric tables -----------------------------------------------------------------
    def tables_complete() -> dict | None:
        body = get(f"{ui}/api/metrics")[1]
        routes = {r["route"]: r for r in body["routes"]}
        components = {c["component"]: c for c in body["components"]}
        ready = "/mis/..." in routes and "mis" in components and body["platform"]
        return body if ready and len(routes) >= 4 else None

    tables = wait_for(tables_complete, what="the metric tables")
    routes = {r["route"]: r for r in tables["routes"]}
    assert (routes["/demo/..."]["count"], routes["/demo/..."]["errors"]) == (1, 0)
    assert routes["/demo/..."]["status_codes"] == {"200": 1}
    assert (routes["/mis/..."]["errors"], routes["/mis/..."]["error_rate"]) == (1, 1.0)
    assert routes[None]["status_codes"] == {"404": 1}
    assert routes["/demo/..."]["p50_ms"] > 0 and routes["/demo/..."]["p99_ms"] > 0
    components = {c["component"]: c for c in tables["components"]}
    assert components["mis"]["outcomes"] == {"trap": 1}
    assert components["demo"]["outcomes"] == {"ok": 1}
    assert any(
        p["metric"] == "spin.key_value.operations" and p["operation"] == "increment"
        for p in tables["platform"]
    )
    assert 1 <= tables["senders"] <= int(workers)  # a worker that served nothing sends none
    status, body, _ = get(f"{ui}/api/status")
    assert body["mode"] == ("in-process" if workers == "1" else "workers")

    # -- one access log line per request, with the trace id ----------------------------------
    finished = server.stop()
    assert finished.returncode == 0, finished.stderr
    access = [line for line in finished.stderr.splitlines() if "spin_py.access" in line]
    for trace, request_line, status_code in (
        (DEMO, "GET /demo/hello HTTP/1.1", 200),
        (TRAP, "GET /mis/trap HTTP/1.1", 500),
        (MISSING, "GET /nowhere HTTP/1.1", 404),
    ):
        (line,) = [a for a in access if f"trace_id={trace}" in a]
        assert f'"{request_line}" {status_code} ' in line, line
    assert "WARNING" not in finished.stderr, finished.stderr


def test_outbound_calls_show_as_client_spans_and_in_the_outbound_table(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    """`/proxy?url=/hello` makes the proxy component call the app itself: its client span, the
    traceparent it carries and the nested request all land in the caller's trace."""
    built_component("proxy")
    built_component("hello")
    server, ui = start_with_ui(spin_py_server, REPO / "manifests" / "proxy", "--workers", "1")
    trace = trace_id(0x0B)
    assert send(server.base_url, "/proxy?url=/hello", trace) == 200

    names = ("GET /...", "execute_wasm_component proxy", "GET", "GET /hello")
    found = wait_for(lambda: trace_with(ui, trace, 5, *names), what="the proxied trace")
    spans = {s["name"]: s for s in found["spans"]}
    client, nested = spans["GET"], spans["GET /hello"]
    assert (client["kind"], client["source"]) == ("CLIENT", "host")
    assert client["parent_span_id"] == spans["execute_wasm_component proxy"]["span_id"]
    assert client["attributes"]["http.response.status_code"] == 200
    assert nested["parent_span_id"] == client["span_id"]  # the injected traceparent
    assert spans["execute_wasm_component hello"]["parent_span_id"] == nested["span_id"]

    def outbound() -> list | None:
        rows = get(f"{ui}/api/metrics")[1]["outbound"]
        return rows or None

    (row,) = wait_for(outbound, what="the outbound table")
    assert (row["method"], row["count"], row["errors"]) == ("GET", 1, 0)
    assert row["server"].startswith("127.0.0.1:") or row["server"].startswith("self")
    assert row["p50_ms"] > 0
