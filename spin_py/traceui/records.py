"""One finished span as the trace UI keeps it: `SpanRecord`, and its JSON form.

Records are built from the SDK's finished spans (`from_readable`, in the serving process) or from
OTLP/HTTP protobuf spans (`from_proto`, what worker processes send to the UI process), and hold
only JSON-ready values, so the store never keeps SDK objects alive. Each record carries
`size`, an estimate of the bytes it holds, for the store's memory budget.

Bounded by construction (what a guest sends is untrusted): string values are cut at
`MAX_STRING` characters, and at most `MAX_ITEMS` attributes, events and links are kept per span
(the rest are counted in `dropped`).

Worker processes send records to the UI process in their JSON form (`to_json`, read back by
`from_json`, which checks every field and applies the same bounds): cheaper than OTLP protobuf
on both sides (measured: about half the CPU per span).

`source` tells host spans from guest spans (`is_host_span`): the SDK hands the host's own spans
to span processors as its `ReadableSpan` snapshot (older SDKs: the recording `Span` itself),
while the wasi:otel host builds guest spans as a subclass of `ReadableSpan`. Spans received over
OTLP from other senders count as host spans when their instrumentation scope is `spin-py`.
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
        size = 0
        for key, value in pairs:
            if len(out) >= MAX_ITEMS:
                self.dropped += 1
                continue
            if type(key) is not str or len(key) > MAX_STRING:
                key = self.text(str(key))
            kind = type(value)
            if kind is str and len(value) <= MAX_STRING:  # the common case, inline
                size += len(key) + len(value) + 100
            elif kind is int or kind is bool:
                size += len(key) + 74
            else:
                size += len(key) + 50
                value = self.value(value)
            out[key] = value
        self.size += size
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


def from_proto(span: Any, scope_name: str) -> SpanRecord | None:
    """The record of an OTLP `Span` of scope `scope_name` (None without valid ids)."""
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
        source="host" if scope_name == HOST_SCOPE else "guest",
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
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                record = from_proto(span, scope_spans.scope.name)
                if record is not None:
                    out.append(record)
    return out


# -- from the JSON form (sent by worker processes) ----------------------------------------------


class BadRecord(ValueError):
    """A JSON span record that is not what `SpanRecord.to_json` writes."""


def from_json(data: Any) -> SpanRecord:
    """The record `SpanRecord.to_json` wrote, checked field by field and bounded again (the
    ingest route is reachable by any local process). Raises `BadRecord`."""
    if not isinstance(data, dict):
        raise BadRecord("a span record is an object")
    budget = _Budget()
    status = data.get("status")
    if not isinstance(status, dict):
        raise BadRecord("status must be an object")
    kind, code = _text(data, "kind"), _text(status, "code")
    source = _text(data, "source")
    if kind not in KINDS or code not in STATUS or source not in ("host", "guest"):
        raise BadRecord("unknown kind, status code or source")
    start, end = _int(data, "start_time_unix_nano"), _int(data, "end_time_unix_nano")
    return SpanRecord(
        trace_id=_hex_id(data.get("trace_id"), 32),
        span_id=_hex_id(data.get("span_id"), 16),
        parent_span_id=0
        if data.get("parent_span_id") is None
        else _hex_id(data.get("parent_span_id"), 16),
        name=budget.text(_text(data, "name")),
        kind=kind,
        status_code=code,
        status_message=budget.text(_text(status, "message")),
        start_ns=start,
        end_ns=max(start, end),
        source=source,
        scope=budget.text(_text(data, "scope")),
        attributes=budget.mapping(_object(data, "attributes").items()),
        events=[
            {
                "name": budget.text(_text(e, "name")),
                "time_unix_nano": _int(e, "time_unix_nano"),
                "attributes": budget.mapping(_object(e, "attributes").items()),
            }
            for e in budget.items(_list(data, "events"))
        ],
        links=[
            {
                "trace_id": format(_hex_id(link.get("trace_id"), 32), "032x"),
                "span_id": format(_hex_id(link.get("span_id"), 16), "016x"),
                "attributes": budget.mapping(_object(link, "attributes").items()),
            }
            for link in budget.items(_list(data, "links"))
            if isinstance(link, dict)
        ],
        dropped=_int(data, "dropped") + budget.dropped,
        size=budget.size,
    )


def _text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise BadRecord(f"{key} must be a string")
    return value


def _int(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise BadRecord(f"{key} must be an unsigned 64-bit integer")
    return value


def _object(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key, {}) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise BadRecord(f"{key} must be an object")
    return value


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise BadRecord(f"{key} must be an array")
    return value


def _hex_id(value: Any, digits: int) -> int:
    if not isinstance(value, str) or len(value) != digits:
        raise BadRecord(f"an id is {digits} hex digits")
    try:
        parsed = int(value, 16)
    except ValueError:
        raise BadRecord(f"an id is {digits} hex digits") from None
    if not parsed or not all(c in "0123456789abcdef" for c in value):
        raise BadRecord(f"an id is {digits} lower-case hex digits, not all zero")
    return parsed
