"""Spans for host calls made on a guest's behalf (outbound HTTP, key-value, SQLite, ...).

A host-call span is the child of the innermost guest span still open (wasi:otel `on-start`
without `on-end`), else of the execute span. If the guest opened a root span of its own (a new
trace), host calls inside it join that trace. Interface modules only write:

    with host_span("spin_key_value.get", attributes={...}) as span:
        ...                                    # an exception marks the span ERROR
    with host_span("GET", attributes={...}) as span:
        headers += inject_headers(span)        # traceparent/tracestate for outbound HTTP
        ...
        if status >= 400:
            mark_error(span, str(status))

The span is current (OpenTelemetry context) in the calling thread during the block. When the
call completes later than the function that starts it (an outbound request resolved by
`future-incoming-response.get`), use `span = start_host_span(...)` and `span.end()` instead.
Outside a request, or before an execute span was opened, both still work (export-off fallback).
With host metrics on, outbound HTTP, key-value and SQLite calls are also measured when their span
ends (`spin_py.telemetry.metered_span`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanKind,
    Status,
    StatusCode,
    set_span_in_context,
)
from opentelemetry.util.types import AttributeValue

from spin_py.host.state import RequestState
from spin_py.telemetry.host_metrics import is_metered_host_call
from spin_py.telemetry.metered_span import MeteredSpan
from spin_py.telemetry.propagation import inject_headers
from spin_py.telemetry.scope import (
    GuestSpans,
    TraceScope,
    bound_state,
    fallback_telemetry,
    telemetry_of,
)
from spin_py.telemetry.semconv import ERROR_TYPE

__all__ = ["host_span", "inject_headers", "mark_error", "parent_context", "start_host_span"]


def parent_context(state: RequestState | None = None) -> Context:
    """The context a host-call span starts in: innermost open guest span, else execute span.

    Without a request (or an execute span), this thread's current context.
    """
    st = state if state is not None else bound_state()
    if st is None:
        return otel_context.get_current()
    if st.has_ext(GuestSpans):
        innermost = st.ext(GuestSpans).innermost()
        if innermost is not None:
            return set_span_in_context(NonRecordingSpan(innermost), Context())
    execute = st.ext(TraceScope).execute_span
    if execute is not None:
        return set_span_in_context(execute, Context())
    return otel_context.get_current()


def start_host_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.CLIENT,
    attributes: Mapping[str, AttributeValue] | None = None,
    state: RequestState | None = None,
) -> Span:
    """Start a host-call span (same parent rule) that the caller ends with `span.end()`.

    For calls whose completion is observed later than the call that started them (an outbound
    request sent by `handle` and resolved by `future-incoming-response.get`). Not made current.
    """
    st = state if state is not None else bound_state()
    telemetry = telemetry_of(st) if st is not None else fallback_telemetry()
    span = telemetry.tracer.start_span(
        name, context=parent_context(st), kind=kind, attributes=attributes
    )
    metrics = telemetry.metrics
    if metrics is not None and is_metered_host_call(name, attributes):
        return MeteredSpan(span, metrics, name, attributes)
    return span


@contextlib.contextmanager
def host_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.CLIENT,
    attributes: Mapping[str, AttributeValue] | None = None,
    state: RequestState | None = None,
) -> Iterator[Span]:
    """Run the block inside a host-call span named `name` (see the module docstring).

    An exception leaving the block sets status ERROR, `error.type` (the exception's class, unless
    already set) and an exception event, then propagates.
    """
    span = start_host_span(name, kind=kind, attributes=attributes, state=state)
    token = otel_context.attach(set_span_in_context(span, Context()))
    try:
        yield span
    except BaseException as exc:
        mark_error(span, type(exc).__qualname__, str(exc))  # also for the metric, if measured
        if span.is_recording():
            span.record_exception(exc)
        raise
    finally:
        otel_context.detach(token)
        span.end()


def mark_error(span: Span, error_type: str, description: str | None = None) -> None:
    """Status ERROR with `error.type` = `error_type` (kept if the span already has one)."""
    if isinstance(span, MeteredSpan):
        span.note_error(error_type)
    if not span.is_recording():
        return
    existing = getattr(span, "attributes", None) or {}
    if ERROR_TYPE not in existing:
        span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, description))
