"""Span records: from the SDK's finished spans and from OTLP protobuf, host vs guest, JSON shape,
the bounds on what a span may hold, and the store's memory under 20,000 requests."""

from __future__ import annotations

import gc
import json
import math
import sys

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from spin_py.traceui.readers import StoreSpanProcessor
from spin_py.traceui.records import (
    MAX_ITEMS,
    MAX_STRING,
    BadRecord,
    from_json,
    from_readable,
    is_host_span,
    records_from_request,
)
from spin_py.traceui.store import StoreLimits, TraceStore

TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
RESOURCE = Resource({"service.name": "spin-py"})


class GuestLike(ReadableSpan):
    """What the wasi:otel host hands to span processors: a ReadableSpan subclass."""


def guest_span(span_id: int, parent: int, trace: int = TRACE, **kw: object) -> GuestLike:
    context = SpanContext(trace, span_id, False, TraceFlags(1))
    parent_ctx = SpanContext(trace, parent, False) if parent else None
    defaults: dict[str, object] = {
        "name": "handle-request",
        "context": context,
        "parent": parent_ctx,
        "resource": RESOURCE,
        "kind": SpanKind.INTERNAL,
        "start_time": 1_000,
        "end_time": 5_000,
        "status": Status(StatusCode.UNSET),
    }
    defaults.update(kw)
    return GuestLike(**defaults)  # type: ignore[arg-type]


def host_spans() -> list[ReadableSpan]:
    """A server span and a child, ended through a real SDK tracer."""
    ended: list[ReadableSpan] = []

    class Keep(StoreSpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            ended.append(span)

    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(Keep(TraceStore()))
    tracer = provider.get_tracer("spin-py", "0.1.0")
    with tracer.start_as_current_span(
        "GET /...", kind=SpanKind.SERVER, attributes={"http.route": "/..."}
    ) as server:
        with tracer.start_as_current_span("execute_wasm_component demo") as execute:
            execute.add_event("exception", {"exception.message": "boom"})
            execute.set_status(Status(StatusCode.ERROR, "boom"))
        server.set_attribute("http.response.status_code", 500)
    return ended


def test_host_and_guest_spans_are_told_apart() -> None:
    execute, server = host_spans()
    guest = guest_span(0x1, execute.context.span_id)
    assert is_host_span(server) and is_host_span(execute) and not is_host_span(guest)
    assert from_readable(server).source == "host"  # type: ignore[union-attr]
    assert from_readable(guest).source == "guest"  # type: ignore[union-attr]


def test_json_shape_of_a_host_span() -> None:
    execute, server = host_spans()
    record = from_readable(execute)
    assert record is not None
    data = record.to_json()
    assert data["span_id"] == format(execute.context.span_id, "016x")
    assert data["parent_span_id"] == format(server.context.span_id, "016x")
    assert data["trace_id"] == format(execute.context.trace_id, "032x")
    assert (data["name"], data["kind"], data["source"], data["scope"]) == (
        "execute_wasm_component demo",
        "INTERNAL",
        "host",
        "spin-py",
    )
    assert data["status"] == {"code": "ERROR", "message": "boom"}
    assert data["events"] == [
        {
            "name": "exception",
            "time_unix_nano": execute.events[0].timestamp,
            "attributes": {"exception.message": "boom"},
        }
    ]
    assert data["end_time_unix_nano"] >= data["start_time_unix_nano"] > 0
    root = from_readable(server)
    assert root is not None and root.to_json()["parent_span_id"] is None
    json.dumps(data, allow_nan=False)


def test_guest_data_is_bounded_and_json_safe() -> None:
    huge = "x" * (MAX_STRING * 3)
    attributes = {f"k{i}": i for i in range(MAX_ITEMS + 10)}
    span = guest_span(
        0x2,
        0x1,
        name=huge,
        attributes={"big": huge, "nan": math.nan, "bytes": b"\x00\x01", **attributes},
        events=[Event(f"e{i}", {"v": huge}, timestamp=2_000) for i in range(MAX_ITEMS + 5)],
        links=[Link(SpanContext(TRACE, 0x9, False), {"why": "x"})],
    )
    record = from_readable(span)
    assert record is not None
    assert len(record.name) == MAX_STRING + 1
    assert len(record.attributes) == MAX_ITEMS and len(record.events) == MAX_ITEMS
    assert record.attributes["big"].endswith("…") and record.attributes["nan"] == "nan"
    assert record.attributes["bytes"] == "data:application/octet-stream;base64,AAE="
    assert record.dropped == 13 + 5
    assert record.links == [
        {"trace_id": format(TRACE, "032x"), "span_id": f"{9:016x}", "attributes": {"why": "x"}}
    ]
    json.dumps(record.to_json(), allow_nan=False)
    assert record.size > (MAX_ITEMS + 2) * MAX_STRING  # the estimate counts what it holds


def test_forwarded_records_read_back_exactly() -> None:
    execute, server = host_spans()
    guest = guest_span(0x3, execute.context.span_id, events=[Event("cache-miss", {"n": 1}, 3_000)])
    for original in (execute, server, guest):
        local = from_readable(original)
        assert local is not None
        wire = json.loads(json.dumps(local.to_json()))
        assert from_json(wire).to_json() == local.to_json()


@pytest.mark.parametrize(
    "change",
    [
        {"span_id": "0" * 16},
        {"span_id": "ABCDEF0123456789"},
        {"trace_id": "xyz"},
        {"kind": "SIDEWAYS"},
        {"source": "both"},
        {"status": {"code": "ERROR"}},
        {"start_time_unix_nano": -1},
        {"start_time_unix_nano": True},
        {"attributes": []},
        {"events": {}},
    ],
)
def test_a_bad_json_record_is_refused(change: dict[str, object]) -> None:
    _, server = host_spans()
    local = from_readable(server)
    assert local is not None
    with pytest.raises(BadRecord):
        from_json(local.to_json() | change)


def test_json_records_are_bounded_again() -> None:
    _, server = host_spans()
    local = from_readable(server)
    assert local is not None
    huge = local.to_json() | {"name": "n" * (MAX_STRING * 4)}
    huge["attributes"] = {f"k{i}": "v" * (MAX_STRING * 2) for i in range(MAX_ITEMS * 2)}
    record = from_json(huge)
    assert len(record.name) == MAX_STRING + 1 and len(record.attributes) == MAX_ITEMS
    assert all(len(v) == MAX_STRING + 1 for v in record.attributes.values())


def test_otlp_spans_are_host_spans_only_in_the_host_scope() -> None:
    execute, _ = host_spans()
    guest = guest_span(0x4, 0)
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    records = records_from_request(encode_spans([execute, guest]))
    assert {r.name: r.source for r in records} == {
        "execute_wasm_component demo": "host",
        "handle-request": "guest",
    }


def test_the_processor_never_raises() -> None:
    class Broken(TraceStore):
        def add(self, record: object) -> None:  # type: ignore[override]
            raise RuntimeError("full")

    processor = StoreSpanProcessor(Broken())
    processor.on_end(guest_span(0x5, 0))
    assert processor.failed == 1


def test_memory_stays_bounded_over_20000_requests() -> None:
    """20,000 request-shaped traces (server, execute and two guest spans with attributes like
    the real ones) through a real tracer into a store limited to 1,000 traces: the store keeps
    1,000, and the memory allocated stays what 1,000 traces need."""
    store = TraceStore(StoreLimits(max_traces=1_000))
    provider = TracerProvider(resource=RESOURCE)
    processor = StoreSpanProcessor(store)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("spin-py", "0.1.0")
    attrs = {
        "http.request.method": "GET",
        "url.path": "/hello",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": 3000,
        "client.address": "127.0.0.1",
        "network.peer.address": "127.0.0.1",
        "network.peer.port": 50000,
        "network.protocol.version": "1.1",
        "user_agent.original": "curl/8.5.0",
    }

    def one_request(n: int) -> None:
        with tracer.start_as_current_span("GET", kind=SpanKind.SERVER, attributes=attrs) as s:
            with tracer.start_as_current_span("execute_wasm_component hello") as execute:
                ctx = execute.get_span_context()
                for i in (1, 2):
                    guest = guest_span(n * 4 + i, ctx.span_id, ctx.trace_id, attributes={"i": i})
                    processor.on_end(guest)
            s.set_attribute("http.route", "/hello")
            s.set_attribute("http.response.status_code", 200)

    for n in range(2_000):
        one_request(n)
    gc.collect()
    blocks_at_2k = sys.getallocatedblocks()
    for n in range(2_000, 20_000):
        one_request(n)
    gc.collect()
    grown = sys.getallocatedblocks() - blocks_at_2k
    stats = store.stats()
    assert (stats["traces"], stats["spans"], stats["evicted_traces"]) == (1_000, 4_000, 19_000)
    assert processor.failed == 0
    # the store was already full at 2,000 requests; keeping the 18,000 evicted traces would
    # take about 18,000 x 4 spans x 40 blocks (objects) more
    assert grown < 20_000, grown
    assert stats["bytes"] < 16 * 1024 * 1024
