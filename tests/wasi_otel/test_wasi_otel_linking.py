"""wasi:otel through real wasmtime: a component re-exports the imported functions, so every call
crosses the canonical ABI both ways and reaches the host functions linked by `add_to_linker`
with the exact shapes a guest produces (and our results are lowered for real)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import wasmtime
from opentelemetry.context import Context
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)
from wasmtime.component import Component, Linker, Variant

from spin_py.host.state import RequestState, bind
from spin_py.telemetry import Telemetry, configure, execute_span
from spin_py.wasi_otel import add_to_linker
from tests.support.guest_records import (
    T0,
    ctx,
    dt,
    event,
    exemplar,
    exponential,
    gauge,
    histogram,
    kv,
    link,
    log_record,
    metric,
    num,
    number_point,
    resource_metrics,
    scope,
    span_data,
    sum_,
)
from tests.support.otel_passthrough_wat import passthrough_component
from tests.support.otlp_receiver import OtlpReceiver, any_value, attrs

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
A = "00000000000000aa"


@pytest.fixture(scope="module")
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


@pytest.fixture(scope="module")
def linked(engine: wasmtime.Engine) -> tuple[Component, Linker]:
    component = Component(engine, passthrough_component())
    linker = Linker(engine)
    with linker.root() as root:
        add_to_linker(root)
    return component, linker


class Guest:
    """Calls the passthrough component's exports inside a bound request and an execute span."""

    def __init__(self, engine: wasmtime.Engine, linked: tuple[Component, Linker]) -> None:
        self.store = wasmtime.Store(engine)
        component, linker = linked
        self.instance = linker.instantiate(self.store, component)

    def call(self, name: str, *args: Any) -> Any:
        func = self.instance.get_func(self.store, name)
        assert func is not None
        result = func(self.store, *args)
        func.post_return(self.store)
        return result


@pytest.fixture
def run(
    engine: wasmtime.Engine,
    linked: tuple[Component, Linker],
    make_state: Callable[[], RequestState],
) -> Iterator[Callable[[Telemetry, Callable[[Guest], Any]], Any]]:
    def runner(telemetry: Telemetry, body: Callable[[Guest], Any]) -> Any:
        guest = Guest(engine, linked)
        parent = SpanContext(int(TRACE, 16), 0x1234, True, TraceFlags(1))
        ctx_ = set_span_in_context(NonRecordingSpan(parent), Context())
        with bind(make_state()) as st, execute_span(telemetry, "users-api", ctx_, state=st):
            return body(guest)

    yield runner


def test_tracing_round_trip(run: Any, telemetry: Telemetry, memory: InMemorySpanExporter) -> None:
    def body(guest: Guest) -> tuple[Any, Any, Any]:
        outer = guest.call("outer")
        guest.call("start", ctx(TRACE.upper(), "AA", state=[("k", "v")]))
        current = guest.call("current")
        data = span_data(
            ctx(TRACE, "aa"),
            getattr(outer, "span-id"),
            "handle-user",
            kind="server",
            attributes=[kv("user.id", 7), kv("blob", "{base64}:aGk="), kv("bad", "[1,", raw=True)],
            events=[event("e", T0)],
            links=[link(ctx("1", "2"), [kv("l", True)])],
            status=Variant("error", "not found"),
            dropped=(1, 2, 3),
        )
        guest.call("end", data)
        return outer, current, guest.call("current")

    outer, current, after = run(telemetry, body)
    execute = next(s for s in memory.get_finished_spans() if s.name.startswith("execute"))
    assert vars(outer) == {
        "trace-id": TRACE,
        "span-id": f"{execute.context.span_id:016x}",
        "trace-flags": {"sampled"},
        "is-remote": True,
        "trace-state": [],
    }
    assert getattr(current, "span-id") == A
    assert getattr(current, "trace-id") == TRACE
    assert getattr(current, "trace-state") == [("k", "v")]
    assert getattr(after, "span-id") == getattr(outer, "span-id")
    guest_span = next(s for s in memory.get_finished_spans() if s.name == "handle-user")
    assert guest_span.parent.span_id == execute.context.span_id
    assert guest_span.kind is SpanKind.SERVER
    assert guest_span.status.status_code is StatusCode.ERROR
    assert guest_span.status.description == "not found"
    assert dict(guest_span.attributes) == {"user.id": 7, "blob": b"hi"}
    assert guest_span.dropped_attributes == 2 and guest_span.dropped_links == 3
    assert guest_span.links[0].context.trace_id == 1
    assert guest_span.instrumentation_scope.name == "guest.lib"


def test_malformed_guest_data_never_traps(
    run: Any, telemetry: Telemetry, memory: InMemorySpanExporter
) -> None:
    def body(guest: Guest) -> None:
        guest.call("start", ctx("not-hex", "0x1"))
        guest.call("end", span_data(ctx("", ""), "", "no-ids"))
        guest.call(
            "end",
            span_data(ctx(TRACE, "ff"), "-5", "bad-parent", attributes=[kv("x", "{", raw=True)]),
        )
        guest.call("end", span_data(ctx(TRACE, "ee", state=[("BAD KEY", "v")]), "", "bad-state"))

    run(telemetry, body)
    names = {s.name: s for s in memory.get_finished_spans()}
    assert "no-ids" not in names
    assert names["bad-parent"].parent is None
    assert len(names["bad-state"].context.trace_state) == 0
    assert telemetry.stats.get("guest_span_dropped") == 2
    assert telemetry.stats.get("bad_value") == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


METRICS = [
    metric(
        "requests",
        Variant("s64-sum", sum_([number_point(num("s64", 5)), number_point(num("f64", 2.0))])),
    ),
    metric("inexact", Variant("s64-sum", sum_([number_point(num("f64", 2.5))]))),
    metric("huge", Variant("u64-gauge", gauge([number_point(num("u64", 2**64 - 1))]))),
    metric(
        "temperature",
        Variant(
            "f64-gauge",
            gauge(
                [
                    number_point(
                        num("s64", 21), [exemplar(num("f64", 21.5), span_id="ab", trace_id="cd")]
                    )
                ]
            ),
        ),
    ),
    metric("latency", Variant("u64-histogram", histogram("u64"))),
    metric("sizes", Variant("f64-exponential-histogram", exponential("f64"))),
]


def test_metrics_export_off_is_ok(run: Any, telemetry: Telemetry) -> None:
    assert run(telemetry, lambda g: g.call("export", resource_metrics(METRICS))) is None


def test_metrics_export_converts_one_to_one(run: Any, otlp_receiver: OtlpReceiver) -> None:
    tel = configure(
        {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": otlp_receiver.endpoint + "/v1/metrics"},
        app_name="demo",
        version="1",
    )
    try:
        assert run(tel, lambda g: g.call("export", resource_metrics(METRICS))) is None
    finally:
        tel.shutdown(2.0)
    got = {m.item.name: m for m in otlp_receiver.items("metrics")}
    assert set(got) == {"requests", "inexact", "huge", "temperature", "latency", "sizes"}
    requests = got["requests"].item
    assert requests.sum.aggregation_temporality == 1  # delta
    assert requests.sum.is_monotonic
    assert [p.as_int for p in requests.sum.data_points] == [5, 2]
    assert attrs(requests.sum.data_points[0].attributes) == {"route": "/users"}
    assert requests.sum.data_points[0].start_time_unix_nano == T0 * 10**9
    assert requests.sum.data_points[0].time_unix_nano == (T0 + 10) * 10**9
    assert len(got["inexact"].item.sum.data_points) == 0
    assert len(got["huge"].item.gauge.data_points) == 0
    temp = got["temperature"].item.gauge.data_points[0]
    assert temp.WhichOneof("value") == "as_double" and temp.as_double == 21.0
    assert temp.exemplars[0].as_double == 21.5
    assert bytes(temp.exemplars[0].span_id).hex() == "00000000000000ab"
    latency = got["latency"].item.histogram
    assert latency.aggregation_temporality == 2  # low-memory → cumulative
    point = latency.data_points[0]
    assert (point.count, point.sum, list(point.bucket_counts), list(point.explicit_bounds)) == (
        3,
        20.0,
        [1, 1, 1],
        [1.0, 10.0],
    )
    assert point.HasField("min") and point.min == 0.0 and not point.HasField("max")
    sizes = got["sizes"].item.exponential_histogram.data_points[0]
    assert (
        sizes.scale,
        sizes.zero_count,
        sizes.positive.offset,
        list(sizes.positive.bucket_counts),
    ) == (
        3,
        1,
        -2,
        [1, 2],
    )
    assert sizes.max == 8.5 and sizes.sum == 12.5
    assert got["requests"].resource["service.name"] == "guest-svc"
    assert got["requests"].resource["spin.app.name"] == "demo"
    assert requests.description == "requests desc" and requests.unit == "1"


def test_metrics_export_failure_is_an_err(run: Any) -> None:
    tel = configure(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "300",
        },
        app_name="demo",
        version="1",
    )
    try:
        result = run(tel, lambda g: g.call("export", resource_metrics(METRICS[:1])))
    finally:
        tel.shutdown(1.0)
    assert isinstance(result, str) and "failed" in result
    assert tel.stats.get("export_failed.metrics") == 1


def test_logs_are_mapped(run: Any, otlp_receiver: OtlpReceiver) -> None:
    tel = configure(
        {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": otlp_receiver.endpoint + "/v1/logs"},
        app_name="demo",
        version="1",
    )
    full = log_record(
        timestamp=dt(T0, 5),
        observed_timestamp=dt(T0 + 1),
        severity_text="WARN",
        severity_number=13,
        body=json.dumps({"msg": "slow", "ms": [1, 2]}),
        attributes=[kv("user", "u7"), kv("bad", None)],
        event_name="db.slow",
        resource=None,
        instrumentation_scope=scope("guest.logger", "2.0"),
        trace_id=TRACE,
        span_id="AA",
        trace_flags={"sampled"},
    )
    half_context = log_record(severity_number=30, body="not json", trace_id=TRACE, span_id="zz")
    zero = log_record(severity_number=0, body=json.dumps("plain"))
    try:
        for record in (full, half_context, zero):
            run(tel, lambda g, r=record: g.call("emit", r))
        tel.force_flush(5.0)
        logs = otlp_receiver.wait_for("logs", lambda items: len(items) >= 3)
    finally:
        tel.shutdown(2.0)
    first, second, third = (r.item for r in logs)
    assert (
        first.time_unix_nano == T0 * 10**9 + 5 and first.observed_time_unix_nano == (T0 + 1) * 10**9
    )
    assert (first.severity_text, first.severity_number) == ("WARN", 13)
    assert any_value(first.body) == {"msg": "slow", "ms": [1, 2]}
    assert attrs(first.attributes) == {"user": "u7"}
    assert first.event_name == "db.slow"
    assert bytes(first.trace_id).hex() == TRACE and bytes(first.span_id).hex() == A
    assert first.flags == 1
    assert logs[0].scope_name == "guest.logger" and logs[0].resource["service.name"] == "spin-py"
    assert second.severity_number == 0 and second.body.WhichOneof("value") is None
    assert bytes(second.trace_id) == b"" and bytes(second.span_id) == b""
    assert third.severity_number == 0 and third.body.string_value == "plain"
    assert tel.stats.get("bad_value") == 2


def test_logs_off_is_a_no_op(run: Any, telemetry: Telemetry) -> None:
    assert run(telemetry, lambda g: g.call("emit", log_record(body="{"))) is None
    assert telemetry.stats.get("bad_value") == 0  # not even decoded
