"""The whole host side of one trace, exported by the real OTLP/HTTP exporter to a real receiver.

An aiohttp app with the server span middleware stands in for the server; its handler plays the
runtime: it hands `server_context(request)` to a worker thread (`run_in_executor`, which does not
copy contextvars), binds a RequestState there, opens the execute span and calls the wasi:otel
host functions the way a guest would. The receiver then checks docs/observability.md section 1.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from spin_py.host.state import RequestState, bind
from spin_py.host.table import HostTrap
from spin_py.telemetry import (
    ROUTE_KEY,
    Telemetry,
    configure,
    execute_span,
    execute_span_for,
    extract,
    host_span,
    inject_headers,
    prepare_execute_from_request,
    record_trap,
    server_span_middleware,
)
from spin_py.telemetry.scope import telemetry_of
from spin_py.wasi_otel import tracing
from tests.support.guest_records import ctx, kv, span_data
from tests.support.otlp_receiver import OtlpReceiver, Received, by_name

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
HANDLE = "1111111111111111"
LOAD = "2222222222222222"
Client = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
Script = Callable[["GuestRun"], None]
SCRIPT = web.AppKey("script", object)  # a Script


@dataclass
class GuestRun:
    """What a scripted guest sees and does inside its execute span."""

    telemetry: Telemetry
    trace_id: str = ""
    execute_id: str = ""
    sampled: bool = True
    outbound: list[tuple[str, str]] = field(default_factory=list)

    def start(self, span_id: str, trace_id: str | None = None) -> None:
        tracing.on_start(None, ctx(trace_id or self.trace_id, span_id, sampled=self.sampled))

    def end(self, span_id: str, parent: str, name: str, **kw: Any) -> None:
        context = ctx(kw.pop("trace_id", self.trace_id), span_id, sampled=self.sampled)
        tracing.on_end(None, span_data(context, parent, name, **kw))


def run_guest(state: RequestState, script: Script) -> bool:
    """What the Invoker does in its worker thread; False when the "guest" trapped."""
    with bind(state), execute_span_for(state, "users-api") as span:
        outer = tracing.outer_span_context(None)
        run = GuestRun(
            telemetry_of(state),
            getattr(outer, "trace-id"),
            getattr(outer, "span-id"),
            "sampled" in getattr(outer, "trace-flags"),
        )
        try:
            script(run)
        except HostTrap as exc:
            record_trap(span, exc, f"trapped: {exc}")
            return False
    return True


def make_app(telemetry: Telemetry, make_state: Callable[[], RequestState]) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        if not request.path.startswith("/users/"):
            return web.Response(status=404)
        request[ROUTE_KEY] = "/users/:id/..."
        state = make_state()
        prepare_execute_from_request(state, request)
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, run_guest, state, request.app[SCRIPT])
        return web.Response(text="ok") if ok else web.Response(status=500)

    app = web.Application(middlewares=[server_span_middleware(telemetry)])
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.fixture
def exporting(otlp_receiver: OtlpReceiver) -> Iterator[Telemetry]:
    tel = configure(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "20"},
        app_name="shop",
        version="0.1.0",
    )
    yield tel
    tel.shutdown(2.0)


@pytest.fixture
def serve(
    aiohttp_client: Client, make_state: Callable[[], RequestState], exporting: Telemetry
) -> Callable[[Script], Awaitable[TestClient[Any, Any]]]:
    async def start(script: Script) -> TestClient[Any, Any]:
        app = make_app(exporting, make_state)
        app[SCRIPT] = script
        return await aiohttp_client(app)

    return start


def nested(run: GuestRun) -> None:
    run.start(HANDLE)
    run.start(LOAD)
    with host_span("GET", attributes={"url.full": "http://db.internal/users/7"}) as client:
        run.outbound = inject_headers(client)
    run.end(LOAD, HANDLE, "load-profile")
    with host_span("spin_key_value.get", attributes={"db.system.name": "spin_key_value"}):
        pass
    run.end(HANDLE, run.execute_id, "handle-user", attributes=[kv("user.id", 7)])


async def flushed(telemetry: Telemetry, receiver: OtlpReceiver, count: int) -> dict[str, Received]:
    await asyncio.to_thread(telemetry.force_flush, 5.0)
    spans = await asyncio.to_thread(receiver.wait_for_spans, count)
    return by_name(spans)


async def test_one_trace_from_traceparent_to_guest_and_host_calls(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    client = await serve(nested)
    response = await client.get(
        "/users/7/profile", headers={"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01"}
    )
    assert response.status == 200
    spans = await flushed(exporting, otlp_receiver, 6)
    server = spans["GET /users/:id/..."]
    execute = spans["execute_wasm_component users-api"]
    handle, load = spans["handle-user"], spans["load-profile"]
    outbound, kv_get = spans["GET"], spans["spin_key_value.get"]
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert server.parent_span_id == CLIENT_SPAN
    assert execute.parent_span_id == server.span_id
    assert handle.span_id == HANDLE and handle.parent_span_id == execute.span_id
    assert load.span_id == LOAD and load.parent_span_id == HANDLE
    assert outbound.parent_span_id == LOAD
    assert kv_get.parent_span_id == HANDLE
    kinds = {name: s.item.kind for name, s in spans.items()}
    assert kinds["GET /users/:id/..."] == 2  # SERVER
    assert kinds["execute_wasm_component users-api"] == 1  # INTERNAL
    assert kinds["GET"] == 3 and kinds["spin_key_value.get"] == 3  # CLIENT
    assert server.attributes["http.route"] == "/users/:id/..."
    assert server.attributes["http.response.status_code"] == 200
    assert handle.attributes == {"user.id": 7}
    assert kv_get.attributes["db.system.name"] == "spin_key_value"
    for span in spans.values():
        assert span.resource["service.name"] == "spin-py"
        assert span.resource["spin.app.name"] == "shop"
        assert span.resource["service.version"] == "0.1.0"
    assert handle.scope_name == "guest.lib"
    assert server.item.flags & 0x200  # parent is remote (the curl span)


async def test_no_traceparent_starts_a_new_trace(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    client = await serve(nested)
    await client.get("/users/7")
    spans = await flushed(exporting, otlp_receiver, 6)
    server = spans["GET /users/:id/..."]
    assert server.parent_span_id == ""
    assert server.trace_id != TRACE
    assert {s.trace_id for s in spans.values()} == {server.trace_id}


@pytest.mark.parametrize(
    "traceparent",
    [
        f"ff-{TRACE}-{CLIENT_SPAN}-01",
        f"00-{TRACE.upper()}-{CLIENT_SPAN}-01",
        f"00-{TRACE}-{CLIENT_SPAN}-01-x",
    ],
)
async def test_invalid_traceparent_starts_a_new_trace(
    traceparent: str, serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    client = await serve(lambda run: None)
    await client.get("/users/7", headers={"traceparent": traceparent, "tracestate": "a=1"})
    spans = await flushed(exporting, otlp_receiver, 2)
    server = spans["GET /users/:id/..."]
    assert server.trace_id != TRACE and server.parent_span_id == ""
    assert server.item.trace_state == ""


async def test_tracestate_lines_are_combined_and_kept(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    client = await serve(nested)
    headers = [
        ("traceparent", f"00-{TRACE}-{CLIENT_SPAN}-01"),
        ("tracestate", "a=1"),
        ("tracestate", "b=2"),
    ]
    await client.get("/users/7", headers=headers)
    spans = await flushed(exporting, otlp_receiver, 6)
    assert spans["GET /users/:id/..."].item.trace_state == "a=1,b=2"


async def test_unsampled_parent_exports_nothing_but_still_propagates(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    seen: list[GuestRun] = []

    def script(run: GuestRun) -> None:
        nested(run)
        seen.append(run)

    client = await serve(script)
    await client.get("/users/7", headers={"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-00"})
    await asyncio.to_thread(exporting.force_flush, 5.0)
    await asyncio.sleep(0.2)
    assert otlp_receiver.spans() == []
    (run,) = seen
    assert run.trace_id == TRACE
    name, value = run.outbound[0]
    assert name == "traceparent"
    assert value.startswith(f"00-{TRACE}-") and value.endswith("-00")


async def test_unended_guest_span_is_dropped_request_still_ok(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    def script(run: GuestRun) -> None:
        run.start(HANDLE)
        run.start(LOAD)
        run.end(LOAD, HANDLE, "load-profile")

    client = await serve(script)
    assert (await client.get("/users/7")).status == 200
    spans = await flushed(exporting, otlp_receiver, 3)
    assert set(spans) == {"GET /users/:id/...", "execute_wasm_component users-api", "load-profile"}
    assert exporting.stats.get("guest_span_unended") == 1


async def test_guest_root_span_with_a_host_call_inside(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    own_trace = "5" * 32

    def script(run: GuestRun) -> None:
        run.start(HANDLE, trace_id=own_trace)
        with host_span("spin_sqlite.execute"):
            pass
        run.end(HANDLE, "", "background-job", trace_id=own_trace)

    client = await serve(script)
    await client.get("/users/7", headers={"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01"})
    spans = await flushed(exporting, otlp_receiver, 4)
    job, sql = spans["background-job"], spans["spin_sqlite.execute"]
    assert job.trace_id == own_trace and job.parent_span_id == ""
    assert sql.trace_id == own_trace and sql.parent_span_id == HANDLE
    assert spans["GET /users/:id/..."].trace_id == TRACE


async def test_trap_marks_the_execute_span(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    def script(run: GuestRun) -> None:
        raise HostTrap("wasm trap: wasm `unreachable` instruction executed")

    client = await serve(script)
    assert (await client.get("/users/7")).status == 500
    spans = await flushed(exporting, otlp_receiver, 2)
    execute, server = spans["execute_wasm_component users-api"], spans["GET /users/:id/..."]
    assert execute.item.status.code == 2  # ERROR
    assert (
        execute.item.status.message == "trapped: wasm trap: wasm `unreachable` instruction executed"
    )
    assert execute.attributes["error.type"] == "HostTrap"
    assert [e.name for e in execute.item.events] == ["exception"]
    assert server.item.status.code == 2 and server.attributes["error.type"] == "500"


async def test_malformed_guest_data_request_still_ok(
    serve: Any, exporting: Telemetry, otlp_receiver: OtlpReceiver
) -> None:
    def script(run: GuestRun) -> None:
        tracing.on_start(None, ctx("0x" + "1" * 30, "zz"))
        tracing.on_end(None, span_data(ctx("", "-1"), "", "bad-ids"))
        tracing.on_end(
            None,
            span_data(
                ctx(run.trace_id, "ab"), "nope", "stray", attributes=[kv("j", "{", raw=True)]
            ),
        )

    client = await serve(script)
    assert (await client.get("/users/7")).status == 200
    spans = await flushed(exporting, otlp_receiver, 3)
    assert "bad-ids" not in spans
    assert spans["stray"].parent_span_id == "" and spans["stray"].attributes == {}
    assert exporting.stats.get("guest_span_dropped") == 2


async def test_chained_component_continues_the_trace(
    aiohttp_client: Client,
    make_state: Callable[[], RequestState],
    exporting: Telemetry,
    otlp_receiver: OtlpReceiver,
) -> None:
    def second(headers: list[tuple[str, str]]) -> None:
        state = make_state()
        with bind(state), execute_span(exporting, "second", extract(dict(headers)), state=state):
            pass

    def script(run: GuestRun) -> None:
        with host_span("GET") as client:
            second(inject_headers(client))

    app = make_app(exporting, make_state)
    app[SCRIPT] = script
    client = await aiohttp_client(app)
    await client.get("/users/7", headers={"traceparent": f"00-{TRACE}-{CLIENT_SPAN}-01"})
    spans = await flushed(exporting, otlp_receiver, 4)
    assert spans["execute_wasm_component second"].parent_span_id == spans["GET"].span_id
    assert spans["execute_wasm_component second"].trace_id == TRACE


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_collector_down_500_requests_no_failure_one_warning(
    aiohttp_client: Client, make_state: Callable[[], RequestState], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telemetry = configure(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
            "OTEL_BSP_SCHEDULE_DELAY": "10",
            "OTEL_BSP_MAX_QUEUE_SIZE": "64",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "8",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1000",
        },
        app_name="shop",
        version="0.1.0",
    )
    app = make_app(telemetry, make_state)
    app[SCRIPT] = nested
    client = await aiohttp_client(app)
    statuses = []
    for batch in range(50):
        results = await asyncio.gather(*(client.get(f"/users/{batch}-{i}") for i in range(10)))
        statuses += [r.status for r in results]
    assert statuses == [200] * 500
    deadline = time.monotonic() + 10
    while (
        telemetry.health is not None and not telemetry.health.warned and time.monotonic() < deadline
    ):
        await asyncio.sleep(0.05)
    started = time.monotonic()
    await asyncio.to_thread(telemetry.shutdown, 1.0)
    assert time.monotonic() - started < 3.0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "export of traces" in warnings[0].getMessage()
    assert telemetry.stats.get("export_failed.traces") >= 1


async def test_slow_collector_does_not_delay_requests(
    aiohttp_client: Client, make_state: Callable[[], RequestState]
) -> None:
    slow = OtlpReceiver(delay_s=2.0).start()
    telemetry = configure(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": slow.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "10"},
        app_name="shop",
        version="0.1.0",
    )
    try:
        app = make_app(telemetry, make_state)
        app[SCRIPT] = nested
        client = await aiohttp_client(app)
        await client.get("/users/warmup")
        await asyncio.sleep(0.1)  # the exporter is now waiting on the slow collector
        started = time.monotonic()
        for i in range(20):
            assert (await client.get(f"/users/{i}")).status == 200
        assert time.monotonic() - started < 1.0
    finally:
        await asyncio.to_thread(telemetry.shutdown, 0.5)
        slow.stop()
