"""One finished span as the trace UI keeps it: `SpanRecord`, and its JSON form.

Records are built from the SDK's finished spans (`from_readable`, in the serving process) or from
OTLP/HTTP protobuf spans (`from_proto`, what worker processes send to the UI process), and hold
only JSON-ready values, so the store never keeps SDK objects alive. Each record carries
`size`, an estimate of the bytes it holds, for the store's memory budget.

Bounded by construction (what a guest sends is untrusted): string values are cut at
`MAX_STRING` characters, and at most `MAX_ITEMS` attributes, events and links are kept per span
(the rest are counted in `dropped`).

`source` tells host spans from guest spans (`is_host_span`): the SDK hands the host's own spans
to span processors as its `ReadableSpan` snapshot (older SDKs: the recording `Span` itself),
while the wasi:otel host builds guest spans as a subclass of `ReadableSpan`. Worker processes
decide this before forwarding and mark each group with the resource attribute `SOURCE_KEY`
(the resource is the host's: a guest cannot set it). Spans from other OTLP senders, without
the mark, count as host spans when their instrumentation scope is `spin-py`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import StatusCode

HOST_SCOPE = "spin-py"
"""The instrumentation scope name of the host's tracer (`spin_py.telemetry.setup`)."""
SOURCE_KEY = "spin_py.trace_ui.source"
"""Resource attribute a worker adds to the spans it forwards: `host` or `guest`."""

MAX_STRING = 4096
MAX_ITEMS = 128
_TRUNCATED = "…"
_BYTES_PREFIX = "data:application/octet-stream;base64,"
_BASE_SIZE = 600
"""Estimated bytes of one record without its strings (objects, ints, dict slots)."""

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
"""Span kind names by OTLP enum number (the SDK's `SpanKind` is OTLP's minus one)."""
STATUS = ("UNSET", "OK", "ERROR")
"""Status code names by OTLP enum number."""


@dataclass(slots=True)
class SpanRecord:
    """A finished span, JSON-ready (ids as integers; `to_json` renders hex)."""

    trace_id: int
    span_id: int
    parent_span_id: int
    """0: no parent."""
    name: str
    kind: str
    status_code: str
    status_message: str
    start_ns: int
    end_ns: int
    source: str
    """`host` or `guest`."""
    scope: str
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    """Attributes, events and links not kept (by the SDK's limits or ours)."""
    size: int = _BASE_SIZE

    @property
    def error(self) -> bool:
        return self.status_code == "ERROR"

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    def to_json(self) -> dict[str, Any]:
        """The record as documented for `GET /api/traces/<trace-id>`."""
        return {
            "trace_id": format(self.trace_id, "032x"),
            "span_id": format(self.span_id, "016x"),
            "parent_span_id": format(self.parent_span_id, "016x") if self.parent_span_id else None,
            "name": self.name,
            "kind": self.kind,
            "status": {"code": self.status_code, "message": self.status_message},
            "attributes": self.attributes,
            "events": self.events,
            "links": self.links,
            "start_time_unix_nano": self.start_ns,
            "end_time_unix_nano": self.end_ns,
            "duration_ms": self.duration_ns / 1e6,
            "source": self.source,
            "scope": self.scope,
            "dropped": self.dropped,
        }


class _Budget:
    """Accumulates the size estimate and the dropped count while converting one span."""

    def __init__(self) -> None:
        self.size = _BASE_SIZE
        self.dropped = 0

    def text(self, value: str) -> str:
        if len(value) > MAX_STRING:
            value = value[:MAX_STRING] + _TRUNCATED
        self.size += len(value) + 50
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(_BYTES_PREFIX + base64.b64encode(value[:MAX_STRING]).decode())
        if isinstance(value, list | tuple):
            items = list(value)[:MAX_ITEMS]
            return [self.value(v) for v in items]
        if isinstance(value, float) and not math.isfinite(value):
            return self.text(str(value))  # JSON has no NaN or Infinity
        if isinstance(value, dict):  # OTLP maps (log bodies); not attribute values in the SDK
            return self.mapping(value.items())
        self.size += 24
        return value

    def mapping(self, pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if len(out) >= MAX_ITEMS:
                self.dropped += 1
                continue
            out[self.text(str(key))] = self.value(value)
        return out

    def items(self, items: Iterable[Any]) -> list[Any]:
        kept: list[Any] = []
        for item in items:
            if len(kept) >= MAX_ITEMS:
                self.dropped += 1
            else:
                kept.append(item)
        return kept


# -- from the SDK (in-process) ---------------------------------------------------------------------


def from_readable(span: ReadableSpan) -> SpanRecord | None:
    """The record of a finished SDK span (None if it has no valid context or times)."""
    context = span.context
    if context is None or not context.is_valid or span.start_time is None:
        return None
    budget = _Budget()
    parent = span.parent
    status = span.status
    scope = span.instrumentation_scope
    attributes = budget.mapping((span.attributes or {}).items())
    events = [
        {
            "name": budget.text(event.name),
            "time_unix_nano": event.timestamp,
            "attributes": budget.mapping((event.attributes or {}).items()),
        }
        for event in budget.items(span.events)
    ]
    links = [
        {
            "trace_id": format(link.context.trace_id, "032x"),
            "span_id": format(link.context.span_id, "016x"),
            "attributes": budget.mapping((link.attributes or {}).items()),
        }
        for link in budget.items(span.links)
    ]
    dropped = span.dropped_attributes + span.dropped_events + span.dropped_links + budget.dropped
    return SpanRecord(
        trace_id=context.trace_id,
        span_id=context.span_id,
        parent_span_id=parent.span_id if parent is not None and parent.is_valid else 0,
        name=budget.text(span.name),
        kind=KINDS[span.kind.value + 1],
        status_code=_status_name(status.status_code),
        status_message=budget.text(status.description or ""),
        start_ns=span.start_time,
        end_ns=span.end_time if span.end_time is not None else span.start_time,
        source="host" if is_host_span(span) else "guest",
        scope=budget.text(scope.name if scope is not None else ""),
        attributes=attributes,
        events=events,
        links=links,
        dropped=dropped,
        size=budget.size,
    )


def is_host_span(span: ReadableSpan) -> bool:
    """True for a span the host's tracer made, False for a guest span (see the module)."""
    return isinstance(span, SdkSpan) or type(span) is ReadableSpan


def _status_name(code: StatusCode) -> str:
    return {StatusCode.OK: "OK", StatusCode.ERROR: "ERROR"}.get(code, "UNSET")


# -- from OTLP protobuf (sent by worker processes) -------------------------------------------------


def any_value(value: Any) -> Any:
    """The Python value of an OTLP `AnyValue` (arrays as lists, maps as dicts, bytes as bytes)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def key_values(pairs: Iterable[Any]) -> Mapping[str, Any]:
    """OTLP `KeyValue`s as a dict."""
    return {kv.key: any_value(kv.value) for kv in pairs}


def _id(raw: bytes) -> int:
    return int.from_bytes(raw, "big") if raw else 0


def from_proto(span: Any, scope_name: str, source: str | None = None) -> SpanRecord | None:
    """The record of an OTLP `Span` of scope `scope_name`, from `source` (`host`, `guest`, or
    None: decided by the scope); None without valid ids."""
    trace_id, span_id = _id(span.trace_id), _id(span.span_id)
    if not trace_id or not span_id:
        return None
    budget = _Budget()
    attributes = budget.mapping(key_values(span.attributes).items())
    events = [
        {
            "name": budget.text(event.name),
            "time_unix_nano": event.time_unix_nano,
            "attributes": budget.mapping(key_values(event.attributes).items()),
        }
        for event in budget.items(span.events)
    ]
    links = [
        {
            "trace_id": format(_id(link.trace_id), "032x"),
            "span_id": format(_id(link.span_id), "016x"),
            "attributes": budget.mapping(key_values(link.attributes).items()),
        }
        for link in budget.items(span.links)
    ]
    dropped = span.dropped_attributes_count + span.dropped_events_count
    dropped += span.dropped_links_count + budget.dropped
    kind = KINDS[span.kind] if 0 <= span.kind < len(KINDS) else KINDS[0]
    code = STATUS[span.status.code] if 0 <= span.status.code < len(STATUS) else STATUS[0]
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=_id(span.parent_span_id),
        name=budget.text(span.name),
        kind=kind,
        status_code=code,
        status_message=budget.text(span.status.message),
        start_ns=span.start_time_unix_nano,
        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
        source=source or ("host" if scope_name == HOST_SCOPE else "guest"),
        scope=budget.text(scope_name),
        attributes=attributes,
        events=events,
        links=links,
        dropped=dropped,
        size=budget.size,
    )


def records_from_request(message: Any) -> list[SpanRecord]:
    """Every usable span of an `ExportTraceServiceRequest`."""
    out = []
    for resource_spans in message.resource_spans:
        marked = key_values(resource_spans.resource.attributes).get(SOURCE_KEY)
        source = marked if marked in ("host", "guest") else None
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                record = from_proto(span, scope_spans.scope.name, source)
                if record is not None:
                    out.append(record)
    return out
