"""Conversions between OpenTelemetry SDK objects and wasi:otel/tracing records.

Outbound (guest to host): span contexts, and finished spans as ``span-data`` with every field the
interface has. Inbound: the host's ``span-context`` as an SDK `SpanContext`. Ids cross the
boundary as lower-case, zero-padded hex (32 digits for a trace id, 16 for a span id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanKind, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import Attributes

from opentelemetry_wasi._bindings import Bindings
from opentelemetry_wasi.values import encode_value

_NANOS = 1_000_000_000
_U32_MAX = 0xFFFF_FFFF
_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{1,16}")
_KIND_NAMES = {
    SpanKind.INTERNAL: "INTERNAL",
    SpanKind.SERVER: "SERVER",
    SpanKind.CLIENT: "CLIENT",
    SpanKind.PRODUCER: "PRODUCER",
    SpanKind.CONSUMER: "CONSUMER",
}


def trace_id_hex(trace_id: int) -> str:
    """A trace id as 32 lower-case hex digits."""
    return format(trace_id, "032x")


def span_id_hex(span_id: int) -> str:
    """A span id as 16 lower-case hex digits."""
    return format(span_id, "016x")


def datetime(b: Bindings, nanos: int) -> Any:
    """Nanoseconds since the epoch as a wall-clock ``datetime`` record."""
    seconds, nanoseconds = divmod(max(nanos, 0), _NANOS)
    return b.clock.Datetime(seconds=seconds, nanoseconds=nanoseconds)


def key_values(b: Bindings, attributes: Attributes | Mapping[str, object]) -> list[Any]:
    """Attributes as ``key-value`` records, each value JSON-encoded."""
    if not attributes:
        return []
    return [b.types.KeyValue(key=key, value=encode_value(v)) for key, v in attributes.items()]


def to_wit_span_context(b: Bindings, context: trace.SpanContext) -> Any:
    """An SDK span context as a wasi:otel ``span-context`` record."""
    tracing = b.tracing
    flags = tracing.TraceFlags.SAMPLED if context.trace_flags.sampled else tracing.TraceFlags(0)
    return tracing.SpanContext(
        trace_id=trace_id_hex(context.trace_id),
        span_id=span_id_hex(context.span_id),
        trace_flags=flags,
        is_remote=context.is_remote,
        trace_state=list(context.trace_state.items()),
    )


def from_wit_span_context(wit_context: Any) -> trace.SpanContext:
    """The host's ``span-context`` as a remote SDK span context.

    Ids that are not 1-32 (trace) or 1-16 (span) hex digits give the invalid span context, so a
    span started under it begins a new trace instead of failing.
    """
    trace_hex, span_hex = wit_context.trace_id, wit_context.span_id
    if not (_TRACE_ID.fullmatch(trace_hex) and _SPAN_ID.fullmatch(span_hex)):
        return trace.INVALID_SPAN_CONTEXT
    sampled = bool(wit_context.trace_flags & type(wit_context.trace_flags).SAMPLED)
    return trace.SpanContext(
        trace_id=int(trace_hex, 16),
        span_id=int(span_hex, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
        trace_state=TraceState(list(wit_context.trace_state)),
    )


def to_span_data(b: Bindings, span: ReadableSpan) -> Any:
    """A finished SDK span as a wasi:otel ``span-data`` record, every field converted."""
    context = span.get_span_context()
    assert context is not None, "an SDK span always has a context"
    start = span.start_time or 0
    return b.tracing.SpanData(
        span_context=to_wit_span_context(b, context),
        parent_span_id=span_id_hex(span.parent.span_id) if span.parent else "",
        span_kind=getattr(b.tracing.SpanKind, _KIND_NAMES[span.kind]),
        name=span.name,
        start_time=datetime(b, start),
        end_time=datetime(b, span.end_time or start),
        attributes=key_values(b, span.attributes),
        events=[_event(b, event) for event in span.events],
        links=[_link(b, link) for link in span.links],
        status=_status(b, span.status.status_code, span.status.description),
        instrumentation_scope=_scope(b, span),
        dropped_attributes=_u32(span.dropped_attributes),
        dropped_events=_u32(span.dropped_events),
        dropped_links=_u32(span.dropped_links),
    )


def _event(b: Bindings, event: Event) -> Any:
    """One span event as an ``event`` record."""
    return b.tracing.Event(
        name=event.name,
        time=datetime(b, event.timestamp),
        attributes=key_values(b, event.attributes),
    )


def _link(b: Bindings, link: Link) -> Any:
    """One span link as a ``link`` record."""
    return b.tracing.Link(
        span_context=to_wit_span_context(b, link.context),
        attributes=key_values(b, link.attributes),
    )


def _status(b: Bindings, code: StatusCode, description: str | None) -> Any:
    """A span status as the ``status`` variant (``error`` carries the description)."""
    if code is StatusCode.ERROR:
        return b.tracing.Status_Error(value=description or "")
    if code is StatusCode.OK:
        return b.tracing.Status_Ok()
    return b.tracing.Status_Unset()


def _scope(b: Bindings, span: ReadableSpan) -> Any:
    """The span's instrumentation scope as an ``instrumentation-scope`` record."""
    scope = span.instrumentation_scope
    if scope is None:
        return b.types.InstrumentationScope(name="", version=None, schema_url=None, attributes=[])
    return b.types.InstrumentationScope(
        name=scope.name,
        version=scope.version or None,
        schema_url=scope.schema_url or None,
        attributes=key_values(b, _scope_attributes(scope)),
    )


def _scope_attributes(scope: object) -> Mapping[str, object]:
    """Scope attributes (absent from older SDKs, hence the lookup)."""
    attributes = getattr(scope, "attributes", None)
    return attributes if isinstance(attributes, Mapping) else {}


def _u32(count: int) -> int:
    """A dropped-item count clamped to the u32 the interface uses."""
    return min(max(count, 0), _U32_MAX)
