"""wasi:otel/tracing host functions called directly, in a thread with a bound RequestState,
inside a real execute span; spans captured by the SDK's in-memory exporter."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)
from wasmtime.component import Variant

from spin_py.host.state import RequestState, bind
from spin_py.host.table import GuestExit, HostTrap
from spin_py.telemetry import (
    Telemetry,
    configure,
    execute_span,
    execute_span_for,
    host_span,
    inject_headers,
    mark_error,
    prepare_execute,
    start_host_span,
)
from spin_py.telemetry.scope import MAX_OPEN_GUEST_SPANS, GuestSpans
from spin_py.wasi_otel import logs, metrics, tracing
from tests.support.guest_records import T0, ctx, event, kv, link, span_data

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = 0x00F067AA0BA902B7
A = "a" * 16
B = "b" * 16


def client_parent(sampled: bool = True) -> Context:
    parent = SpanContext(int(TRACE, 16), CLIENT_SPAN, True, TraceFlags(1 if sampled else 0))
    return set_span_in_context(NonRecordingSpan(parent), Context())


def by_name(memory: InMemorySpanExporter) -> dict[str, object]:
    return {s.name: s for s in memory.get_finished_spans()}


def test_outer_span_context_is_the_execute_span(
    telemetry: Telemetry, make_state: Callable[[], RequestState]
) -> None:
    with (
        bind(make_state()) as st,
        execute_span(telemetry, "users-api", client_parent(), state=st) as span,
    ):
        outer = tracing.outer_span_context(None)
        sc = span.get_span_context()
    assert getattr(outer, "trace-id") == TRACE
    assert getattr(outer, "span-id") == f"{sc.span_id:016x}"
    assert getattr(outer, "trace-flags") == {"sampled"}
    assert getattr(outer, "is-remote") is True
    assert getattr(outer, "trace-state") == []


def test_guest_spans_keep_ids_and_parents(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with (
        bind(make_state()) as st,
        execute_span(telemetry, "users-api", client_parent(), state=st) as ex,
    ):
        exec_id = f"{ex.get_span_context().span_id:016x}"
        tracing.on_start(None, ctx(TRACE, A))
        tracing.on_start(None, ctx(TRACE, B))
        assert getattr(tracing.current_span_context(None), "span-id") == B
        with host_span("spin_key_value.get") as kv_span:
            pass
        tracing.on_end(None, span_data(ctx(TRACE, B), A, "load-profile"))
        assert getattr(tracing.current_span_context(None), "span-id") == A
        tracing.on_end(None, span_data(ctx(TRACE, A), exec_id, "handle-user", kind="server"))
        assert getattr(tracing.current_span_context(None), "span-id") == exec_id
    spans = by_name(memory)
    handle, load = spans["handle-user"], spans["load-profile"]
    execute = spans["execute_wasm_component users-api"]
    assert handle.context.span_id == int(A, 16) and handle.context.trace_id == int(TRACE, 16)
    assert handle.parent.span_id == execute.context.span_id
    assert handle.kind is SpanKind.SERVER
    assert load.parent.span_id == int(A, 16)
    assert kv_span.parent.span_id == int(B, 16)  # innermost open guest span
    assert kv_span.context.trace_id == int(TRACE, 16)
    assert kv_span.kind is SpanKind.CLIENT
    assert execute.parent.span_id == CLIENT_SPAN and execute.kind is SpanKind.INTERNAL
    assert handle.resource is telemetry.resource


def test_host_span_without_guest_span_is_child_of_execute(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with (
        bind(make_state()) as st,
        execute_span(telemetry, "users-api", client_parent(), state=st),
        host_span("spin_variables.get", attributes={"db.system.name": "x"}) as span,
    ):
        pass
    execute = by_name(memory)["execute_wasm_component users-api"]
    assert span.parent.span_id == execute.context.span_id
    assert span.attributes["db.system.name"] == "x"


def test_host_call_inside_a_guest_root_span_joins_the_guests_trace(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    new_trace = "c" * 32
    with bind(make_state()) as st, execute_span(telemetry, "users-api", client_parent(), state=st):
        tracing.on_start(None, ctx(new_trace, A))
        with host_span("GET") as span:
            pass
        tracing.on_end(None, span_data(ctx(new_trace, A), "", "batch-job"))
    assert span.context.trace_id == int(new_trace, 16)
    assert span.parent.span_id == int(A, 16)
    root = by_name(memory)["batch-job"]
    assert root.parent is None


def test_host_span_exception_marks_error(
    telemetry: Telemetry, make_state: Callable[[], RequestState]
) -> None:
    with (
        bind(make_state()) as st,
        execute_span(telemetry, "c", None, state=st),
        pytest.raises(KeyError),
        host_span("spin_key_value.get") as span,
    ):
        raise KeyError("x")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyError"
    assert [e.name for e in span.events] == ["exception"]


@pytest.mark.parametrize("parent", ["", "0" * 16, "0x12", "zz", "1" * 17])
def test_missing_or_invalid_parent_makes_a_root_span(
    parent: str,
    telemetry: Telemetry,
    memory: InMemorySpanExporter,
    make_state: Callable[[], RequestState],
) -> None:
    with bind(make_state()) as st, execute_span(telemetry, "c", client_parent(), state=st):
        tracing.on_start(None, ctx(TRACE, A))
        tracing.on_end(None, span_data(ctx(TRACE, A), parent, "g"))
    assert by_name(memory)["g"].parent is None


def test_on_end_for_a_span_never_started_is_exported(
    telemetry: Telemetry,
    memory: InMemorySpanExporter,
    make_state: Callable[[], RequestState],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="spin_py.wasi_otel")
    with bind(make_state()) as st, execute_span(telemetry, "c", client_parent(), state=st):
        tracing.on_end(None, span_data(ctx(TRACE, A), "", "stray"))
    assert "stray" in by_name(memory)
    assert telemetry.stats.get("guest_span_unknown_end") == 1
    assert "never started" in caplog.text


def test_unended_guest_spans_are_dropped_at_request_end(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    state = make_state()
    with bind(state), execute_span(telemetry, "c", client_parent(), state=state):
        tracing.on_start(None, ctx(TRACE, A))
        tracing.on_start(None, ctx(TRACE, B))
    assert state.ext(GuestSpans).open == {}
    assert telemetry.stats.get("guest_span_unended") == 2
    assert list(by_name(memory)) == ["execute_wasm_component c"]


@pytest.mark.parametrize(
    "bad",
    [
        ctx("", A),
        ctx("0" * 32, A),
        ctx(TRACE, "0" * 16),
        ctx("0x" + TRACE[2:], A),
        ctx(TRACE, "-1"),
        ctx(TRACE, "12 34"),
    ],
)
def test_invalid_own_ids_drop_the_span(
    bad: object,
    telemetry: Telemetry,
    memory: InMemorySpanExporter,
    make_state: Callable[[], RequestState],
) -> None:
    state = make_state()
    with bind(state), execute_span(telemetry, "c", client_parent(), state=state):
        tracing.on_start(None, bad)
        assert state.ext(GuestSpans).open == {}
        tracing.on_end(None, span_data(bad, "", "bad"))  # type: ignore[arg-type]
    assert "bad" not in by_name(memory)
    assert telemetry.stats.get("guest_span_dropped") == 2


def test_lenient_ids_are_normalised(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        tracing.on_start(None, ctx("ABC", "F"))
        current = tracing.current_span_context(None)
        tracing.on_end(None, span_data(ctx("ABC", "F"), "E", "short"))
    assert getattr(current, "trace-id") == "0" * 29 + "abc"
    assert getattr(current, "span-id") == "0" * 15 + "f"
    span = by_name(memory)["short"]
    assert (span.context.trace_id, span.context.span_id, span.parent.span_id) == (0xABC, 0xF, 0xE)


def test_unsampled_guest_spans_are_not_exported(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with (
        bind(make_state()) as st,
        execute_span(telemetry, "c", client_parent(sampled=False), state=st),
    ):
        outer = tracing.outer_span_context(None)
        tracing.on_start(None, ctx(TRACE, A, sampled=False))
        tracing.on_end(None, span_data(ctx(TRACE, A, sampled=False), "", "quiet"))
    assert getattr(outer, "trace-flags") == set()
    assert memory.get_finished_spans() == ()


def test_everything_a_span_carries(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    data = span_data(
        ctx(TRACE, A, state=[("vendor", "v1"), ("other@sys", "x")]),
        B,
        "full",
        kind="client",
        attributes=[
            kv("s", "text"),
            kv("b", True),
            kv("i", 42),
            kv("f", 1.5),
            kv("go_float_array", [1.5, 1]),
            kv("strs", ["a", "b"]),
            kv("bytes", "data:application/octet-stream;base64,AAE="),
            kv("null", None),
            kv("typed_array", {"0": 1, "1": 2}),
            kv("mixed", [1, "a"]),
            kv("bad_json", "{nope", raw=True),
        ],
        events=[event("cache-miss", T0, [kv("key", "u7")])],
        links=[link(ctx("d" * 32, "e" * 16), [kv("why", "batch")]), link(ctx("", "1"))],
        status=Variant("error", "boom"),
        dropped=(3, 4, 5),
    )
    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        tracing.on_end(None, data)
    span = by_name(memory)["full"]
    assert span.kind is SpanKind.CLIENT
    assert span.start_time == T0 * 10**9 and span.end_time == (T0 + 1) * 10**9 + 500
    assert dict(span.attributes) == {
        "s": "text",
        "b": True,
        "i": 42,
        "f": 1.5,
        "go_float_array": (1.5, 1.0),
        "strs": ("a", "b"),
        "bytes": b"\x00\x01",
    }
    assert span.dropped_attributes == 3 + 4  # guest's count + the four we could not use
    assert span.dropped_events == 4
    assert span.dropped_links == 5 + 1
    assert [(e.name, e.timestamp, dict(e.attributes)) for e in span.events] == [
        ("cache-miss", T0 * 10**9, {"key": "u7"})
    ]
    assert [(ln.context.trace_id, dict(ln.attributes)) for ln in span.links] == [
        (int("d" * 32, 16), {"why": "batch"})
    ]
    assert span.status.status_code is StatusCode.ERROR and span.status.description == "boom"
    assert list(span.context.trace_state.items()) == [("vendor", "v1"), ("other@sys", "x")]
    assert span.instrumentation_scope.name == "guest.lib"
    assert span.instrumentation_scope.version == "1.0"
    assert telemetry.stats.get("bad_value") == 4
    encoded = encode_spans([span]).resource_spans[0].scope_spans[0].spans[0]
    assert {a.key: a.value.WhichOneof("value") for a in encoded.attributes}[
        "bytes"
    ] == "bytes_value"
    assert encoded.dropped_attributes_count == 7


@pytest.mark.parametrize(
    "pairs",
    [
        [("Upper", "v")],
        [("a", "v=x")],
        [("a", "1"), ("a", "2")],
        [(f"k{i}", "v") for i in range(33)],
        [("a",)],
    ],
)
def test_invalid_trace_state_becomes_empty(
    pairs: list[tuple[str, ...]],
    telemetry: Telemetry,
    memory: InMemorySpanExporter,
    make_state: Callable[[], RequestState],
) -> None:
    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        tracing.on_end(None, span_data(ctx(TRACE, A, state=pairs), "", "ts"))  # type: ignore[arg-type]
    assert len(by_name(memory)["ts"].context.trace_state) == 0


@pytest.mark.parametrize("status", [Variant("ok"), Variant("unset"), None, "weird"])
def test_status_variants(
    status: object,
    telemetry: Telemetry,
    memory: InMemorySpanExporter,
    make_state: Callable[[], RequestState],
) -> None:
    data = span_data(ctx(TRACE, A), "", "st")
    data.status = status
    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        tracing.on_end(None, data)
    expected = StatusCode.OK if status == Variant("ok") else StatusCode.UNSET
    assert by_name(memory)["st"].status.status_code is expected


def test_garbage_never_raises(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        for junk in (None, 5, "x", object(), [1, 2], ctx(TRACE, A, state=None)):
            tracing.on_start(None, junk)
            tracing.on_end(None, junk)
        tracing.on_start(None, ctx(TRACE, A))
        overflowing = span_data(ctx(TRACE, A), "", "far-future", start=2**64)
        tracing.on_end(None, overflowing)
    assert "far-future" not in by_name(memory)


def test_host_functions_outside_a_request_are_no_ops() -> None:
    with pytest.raises(HostTrap):
        from spin_py.host.state import current

        current()
    tracing.on_start(None, ctx(TRACE, A))
    tracing.on_end(None, span_data(ctx(TRACE, A), "", "x"))
    outer = tracing.outer_span_context(None)
    assert getattr(outer, "trace-id") == "0" * 32
    assert getattr(outer, "span-id") == "0" * 16


def test_a_host_bug_logs_one_warning_and_returns_a_default(
    telemetry: Telemetry, make_state: Callable[[], RequestState], caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError("host bug")

    with bind(make_state()) as st, execute_span(telemetry, "c", None, state=st):
        for _ in range(3):
            assert tracing.on_end(None, Exploding()) is None
    assert telemetry.stats.get("host_error.on-end") == 3
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 1  # at most one per process and function


def test_export_off_still_tracks_guest_spans_for_host_calls(
    make_state: Callable[[], RequestState],
) -> None:
    """With export off nothing is recorded, but a host call inside a guest's own root span
    (another trace) still joins that trace, and says so in the `traceparent` it injects."""
    guest_trace = "1" * 32
    tel = configure({}, app_name="a", version="1")
    with bind(make_state()) as st, execute_span(tel, "c", client_parent(), state=st):
        tracing.on_start(None, ctx(guest_trace, A))
        with host_span("GET") as span:
            headers = dict(inject_headers(span))
        tracing.on_end(None, span_data(ctx(guest_trace, A), "", "g"))
    assert not span.is_recording()
    assert span.get_span_context().trace_id == int(guest_trace, 16)
    assert headers["traceparent"].split("-")[1] == guest_trace


def test_trap_sets_error_status_and_exception_event(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with (
        pytest.raises(HostTrap),
        bind(make_state()) as st,
        execute_span(telemetry, "c", None, state=st),
    ):
        raise HostTrap("wasm trap: unreachable")
    span = by_name(memory)["execute_wasm_component c"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "wasm trap: unreachable"
    assert span.events[0].name == "exception"
    assert span.events[0].attributes["exception.message"] == "wasm trap: unreachable"


def test_prepared_execute_span_for(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    state = make_state()
    prepare_execute(state, telemetry, client_parent())
    with bind(state), execute_span_for(state, "users-api") as span:
        assert trace.get_current_span() is span  # current in this (worker) thread
        outer = tracing.outer_span_context(None)
    assert getattr(outer, "trace-id") == TRACE
    execute = by_name(memory)["execute_wasm_component users-api"]
    assert execute.parent.span_id == CLIENT_SPAN


def test_execute_span_for_without_preparation_uses_export_off_telemetry(
    make_state: Callable[[], RequestState],
) -> None:
    state = make_state()
    with bind(state), execute_span_for(state, "c") as span:
        outer = tracing.outer_span_context(None)
    assert getattr(outer, "span-id") == f"{span.get_span_context().span_id:016x}"
    assert span.get_span_context().is_valid


def test_exit_zero_is_not_an_error(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with (
        pytest.raises(GuestExit),
        bind(make_state()) as st,
        execute_span(telemetry, "c", None, state=st),
    ):
        raise GuestExit(0)
    with (
        pytest.raises(GuestExit),
        bind(make_state()) as st,
        execute_span(telemetry, "d", None, state=st),
    ):
        raise GuestExit(3)
    spans = by_name(memory)
    assert spans["execute_wasm_component c"].status.status_code is StatusCode.UNSET
    assert spans["execute_wasm_component d"].status.status_code is StatusCode.ERROR


def test_metrics_and_logs_host_functions_never_raise(
    telemetry: Telemetry, make_state: Callable[[], RequestState]
) -> None:
    assert metrics.export(None, object()) is None  # outside a request: export off → ok
    logs.on_emit(None, object())
    exporting = configure(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_BSP_SCHEDULE_DELAY": "60000"},
        app_name="a",
        version="1",
    )
    try:

        class Exploding:
            def __getattr__(self, name: str) -> object:
                raise RuntimeError("host bug")

        with bind(make_state()) as st, execute_span(exporting, "c", None, state=st):
            result = metrics.export(None, Exploding())
            logs.on_emit(None, Exploding())
    finally:
        exporting.shutdown(0.5)
    assert isinstance(result, str) and "could not" in result
    assert exporting.stats.get("host_error.metrics.export") == 1
    assert exporting.stats.get("host_error.logs.on-emit") == 1


def test_open_guest_spans_are_bounded(
    telemetry: Telemetry, make_state: Callable[[], RequestState]
) -> None:
    state = make_state()
    with bind(state), execute_span(telemetry, "c", None, state=state):
        for i in range(1, MAX_OPEN_GUEST_SPANS + 11):
            tracing.on_start(None, ctx(TRACE, f"{i:x}"))
        assert len(state.ext(GuestSpans).open) == MAX_OPEN_GUEST_SPANS
        assert (
            getattr(tracing.current_span_context(None), "span-id") == f"{MAX_OPEN_GUEST_SPANS:016x}"
        )
    assert telemetry.stats.get("guest_span_open_limit") == 10


def test_start_host_span_is_ended_by_the_caller(
    telemetry: Telemetry, memory: InMemorySpanExporter, make_state: Callable[[], RequestState]
) -> None:
    with bind(make_state()) as st, execute_span(telemetry, "c", client_parent(), state=st):
        tracing.on_start(None, ctx(TRACE, A))
        span = start_host_span("GET", attributes={"url.full": "http://x/"})
        tracing.on_end(None, span_data(ctx(TRACE, A), "", "g"))
    assert "GET" not in by_name(memory)  # still open after the guest span and the request
    span.set_attribute("http.response.status_code", 404)
    mark_error(span, "404")
    span.end()
    done = by_name(memory)["GET"]
    assert done.parent.span_id == int(A, 16)
    assert done.status.status_code is StatusCode.ERROR and done.attributes["error.type"] == "404"
