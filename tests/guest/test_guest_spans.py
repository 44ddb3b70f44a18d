"""opentelemetry_wasi with the real OpenTelemetry SDK, against real generated wasi:otel bindings.

The host functions (`on-start`, `on-end`, `outer-span-context`) are a recorder; everything else
is the library's own code: the provider from `setup`, the host context, the span processor and
the conversion of every span-data field.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

import pytest
from conftest import RecordingTracing
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry_wasi import (
    Bindings,
    WasiIdGenerator,
    WasiSpanProcessor,
    host_context,
    host_span_context,
    setup,
)
from opentelemetry_wasi._bindings import load

HOST_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOST_SPAN = "00f067aa0ba902b7"


def host_parent(
    recorder: RecordingTracing,
    *,
    sampled: bool = True,
    trace_id: str = HOST_TRACE,
    span_id: str = HOST_SPAN,
) -> None:
    """Make `outer-span-context` return the host's span (sampled or not)."""
    flags = recorder.TraceFlags.SAMPLED if sampled else recorder.TraceFlags(0)
    recorder.outer = recorder.SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        trace_flags=flags,
        is_remote=False,
        trace_state=[("vendor", "opaque")],
    )


def decoded(key_values: list[Any]) -> dict[str, object]:
    """A list of `key-value` records as a dict with the JSON values decoded."""
    return {kv.key: json.loads(kv.value) for kv in key_values}


def nanos(datetime: Any) -> int:
    """A wall-clock `datetime` record back in nanoseconds."""
    assert 0 <= datetime.nanoseconds < 1_000_000_000
    return int(datetime.seconds * 1_000_000_000 + datetime.nanoseconds)


@pytest.fixture
def provider(bindings: Bindings) -> TracerProvider:
    return setup(service_name="guest-test", set_global=False, bindings=bindings)


def test_spans_join_the_hosts_trace_with_the_right_parents(
    provider: TracerProvider, bindings: Bindings, recorder: RecordingTracing
) -> None:
    host_parent(recorder)
    tracer = provider.get_tracer("test")
    with (
        host_context(bindings),
        tracer.start_as_current_span("outer") as outer,
        tracer.start_as_current_span("inner") as inner,
    ):
        pass
    outer_id = format(outer.get_span_context().span_id, "016x")
    inner_id = format(inner.get_span_context().span_id, "016x")

    assert [c.span_id for c in recorder.started] == [outer_id, inner_id]
    assert [s.name for s in recorder.ended] == ["inner", "outer"]
    inner_data, outer_data = recorder.ended
    assert outer_data.parent_span_id == HOST_SPAN
    assert inner_data.parent_span_id == outer_id
    for data in recorder.ended:
        context = data.span_context
        assert context.trace_id == HOST_TRACE
        assert len(context.span_id) == 16 and context.span_id == context.span_id.lower()
        assert context.trace_flags == recorder.TraceFlags.SAMPLED
        assert context.is_remote is False
        assert context.trace_state == [("vendor", "opaque")]
        assert isinstance(data, recorder.SpanData)


def test_every_span_data_field_is_converted(
    provider: TracerProvider, bindings: Bindings, recorder: RecordingTracing
) -> None:
    host_parent(recorder)
    tracer = provider.get_tracer(
        "demo.scope",
        "1.2.3",
        schema_url="https://opentelemetry.io/schemas/1.26.0",
        attributes={"scope.attr": "yes"},
    )
    with host_context(bindings):
        with tracer.start_as_current_span("linked-to") as target:
            pass
        link = Link(target.get_span_context(), {"link.reason": "follows"})
        with tracer.start_as_current_span("work", kind=SpanKind.CLIENT, links=[link]) as work:
            span = cast(ReadableSpan, work)
            work.set_attributes(
                {
                    "s": "text",
                    "b": True,
                    "i": 7,
                    "f": 2.5,
                    "sa": ["x", "y"],
                    "ba": [True, False],
                    "ia": [1, 2],
                    "fa": [0.5, 1.0],
                }
            )
            work.add_event("cache-miss", {"cache.key": "k", "attempt": 2})
            work.set_status(Status(StatusCode.ERROR, "it broke"))
    data = recorder.ended[-1]

    assert data.name == "work"
    assert data.span_kind == recorder.SpanKind.CLIENT
    assert nanos(data.start_time) == span.start_time
    assert nanos(data.end_time) == span.end_time
    assert data.end_time.seconds * 10**9 + data.end_time.nanoseconds >= nanos(data.start_time)
    assert decoded(data.attributes) == {
        "s": "text",
        "b": True,
        "i": 7,
        "f": 2.5,
        "sa": ["x", "y"],
        "ba": [True, False],
        "ia": [1, 2],
        "fa": [0.5, 1.0],
    }
    assert isinstance(decoded(data.attributes)["i"], int)
    (event,) = data.events
    assert event.name == "cache-miss"
    assert nanos(event.time) == span.events[0].timestamp
    assert decoded(event.attributes) == {"cache.key": "k", "attempt": 2}
    (wit_link,) = data.links
    assert wit_link.span_context.span_id == format(target.get_span_context().span_id, "016x")
    assert wit_link.span_context.trace_id == HOST_TRACE
    assert decoded(wit_link.attributes) == {"link.reason": "follows"}
    assert data.status == recorder.Status_Error(value="it broke")
    scope = data.instrumentation_scope
    assert (scope.name, scope.version) == ("demo.scope", "1.2.3")
    assert scope.schema_url == "https://opentelemetry.io/schemas/1.26.0"
    assert decoded(scope.attributes) == {"scope.attr": "yes"}
    assert (data.dropped_attributes, data.dropped_events, data.dropped_links) == (0, 0, 0)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(None, "Status_Unset"), (Status(StatusCode.OK), "Status_Ok")],
)
def test_unset_and_ok_statuses(
    provider: TracerProvider,
    bindings: Bindings,
    recorder: RecordingTracing,
    status: Status | None,
    expected: str,
) -> None:
    host_parent(recorder)
    with host_context(bindings), provider.get_tracer("t").start_as_current_span("s") as span:
        if status is not None:
            span.set_status(status)
    assert recorder.ended[0].status == getattr(recorder, expected)()


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (SpanKind.INTERNAL, "INTERNAL"),
        (SpanKind.SERVER, "SERVER"),
        (SpanKind.CLIENT, "CLIENT"),
        (SpanKind.PRODUCER, "PRODUCER"),
        (SpanKind.CONSUMER, "CONSUMER"),
    ],
)
def test_span_kinds(
    provider: TracerProvider, recorder: RecordingTracing, kind: SpanKind, name: str
) -> None:
    with provider.get_tracer("t").start_as_current_span("s", kind=kind):
        pass
    assert recorder.ended[0].span_kind == getattr(recorder.SpanKind, name)


def test_dropped_counts_are_reported(bindings: Bindings, recorder: RecordingTracing) -> None:
    limits = SpanLimits(max_span_attributes=1, max_events=1, max_links=1)
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(WasiSpanProcessor(bindings))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("a") as a:
        pass
    links = [Link(a.get_span_context()), Link(a.get_span_context()), Link(a.get_span_context())]
    with tracer.start_as_current_span("b", links=links) as b:
        b.set_attributes({"one": 1, "two": 2, "three": 3})
        b.add_event("e1")
        b.add_event("e2")
    data = recorder.ended[-1]
    assert (data.dropped_attributes, data.dropped_events, data.dropped_links) == (2, 1, 2)
    assert len(data.attributes) == 1 and len(data.events) == 1 and len(data.links) == 1


def test_an_unsampled_host_span_means_no_guest_spans_are_sent(
    provider: TracerProvider, bindings: Bindings, recorder: RecordingTracing
) -> None:
    host_parent(recorder, sampled=False)
    with host_context(bindings), provider.get_tracer("t").start_as_current_span("s") as span:
        assert not span.is_recording()
    assert recorder.started == [] and recorder.ended == []


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [
        ("0x4bf92f3577b34da6", HOST_SPAN),
        (HOST_TRACE, "-1"),
        ("", HOST_SPAN),
        (HOST_TRACE, "00f067aa0ba902b7ff"),
        ("4bf9 2f35", HOST_SPAN),
        ("4bf9_2f35", HOST_SPAN),
    ],
)
def test_invalid_host_ids_start_a_new_trace(
    provider: TracerProvider,
    bindings: Bindings,
    recorder: RecordingTracing,
    trace_id: str,
    span_id: str,
) -> None:
    host_parent(recorder, trace_id=trace_id, span_id=span_id)
    assert host_span_context(bindings) == trace.INVALID_SPAN_CONTEXT
    with host_context(bindings), provider.get_tracer("t").start_as_current_span("root"):
        pass
    (data,) = recorder.ended
    assert data.parent_span_id == ""
    assert data.span_context.trace_id not in (HOST_TRACE, "0" * 32)


def test_host_ids_are_read_leniently(bindings: Bindings, recorder: RecordingTracing) -> None:
    host_parent(recorder, trace_id="ABC", span_id="F")
    context = host_span_context(bindings)
    assert (context.trace_id, context.span_id) == (0xABC, 0xF)
    assert context.is_remote and context.trace_flags.sampled
    assert list(context.trace_state.items()) == [("vendor", "opaque")]


def test_host_context_works_as_a_decorator_reading_the_host_per_call(
    provider: TracerProvider, bindings: Bindings, recorder: RecordingTracing
) -> None:
    tracer = provider.get_tracer("t")

    @host_context(bindings)
    def handler() -> None:
        with tracer.start_as_current_span("handler"):
            pass

    host_parent(recorder, span_id="1111111111111111")
    handler()
    host_parent(recorder, span_id="2222222222222222")
    handler()
    assert [d.parent_span_id for d in recorder.ended] == ["1111111111111111", "2222222222222222"]
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_host_failures_never_reach_the_application(
    provider: TracerProvider,
    bindings: Bindings,
    recorder: RecordingTracing,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("host said no")

    monkeypatch.setattr(recorder, "on_start", broken)
    monkeypatch.setattr(recorder, "on_end", broken)
    with caplog.at_level(logging.ERROR), provider.get_tracer("t").start_as_current_span("s"):
        pass
    assert sum("wasi:otel" in r.getMessage() for r in caplog.records) == 2


def test_outside_a_component_the_bindings_are_missing_and_say_so() -> None:
    load.cache_clear()
    with pytest.raises(RuntimeError, match="exist only inside a component"):
        load()


def test_outside_a_component_host_context_degrades_to_a_new_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), host_context() as ctx:
        assert trace.get_current_span(ctx).get_span_context() == trace.INVALID_SPAN_CONTEXT
    assert "outer-span-context failed" in caplog.text


def test_setup_builds_its_resource_without_detectors(bindings: Bindings) -> None:
    provider = setup(
        "svc",
        resource_attributes={"deployment.environment": "test"},
        set_global=False,
        bindings=bindings,
    )
    assert dict(provider.resource.attributes) == {
        "deployment.environment": "test",
        "service.name": "svc",
    }
    assert isinstance(provider.id_generator, WasiIdGenerator)


def test_ids_are_random_and_never_zero() -> None:
    generator = WasiIdGenerator()
    spans = {generator.generate_span_id() for _ in range(200)}
    traces = {generator.generate_trace_id() for _ in range(200)}
    assert len(spans) == 200 and len(traces) == 200
    assert all(0 < s < 2**64 for s in spans) and all(0 < t < 2**128 for t in traces)
