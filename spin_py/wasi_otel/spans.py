"""A guest's `span-data` → a finished SDK span exported through the host's span processors.

The span keeps the guest's ids, parent, name, kind, times, attributes, events, links, status,
instrumentation scope and dropped counts, with the host's resource. Parent `""`, all zeros or
invalid makes a root span. What cannot be used is dropped and counted (`Issues`): the whole span
for invalid own ids or times, single attributes, events and links otherwise.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from spin_py.wasi_otel import span_context
from spin_py.wasi_otel.attributes import decode_attributes
from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.ids import parse_span_id
from spin_py.wasi_otel.records import datetime_ns, field, str_list, variant_parts
from spin_py.wasi_otel.scope_conv import instrumentation_scope

_KINDS = {
    "client": SpanKind.CLIENT,
    "server": SpanKind.SERVER,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
    "internal": SpanKind.INTERNAL,
}


class GuestSpan(ReadableSpan):
    """A finished span built from guest data, reporting the guest's dropped counts."""

    def __init__(self, *, dropped: tuple[int, int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dropped = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


def build_span(data: Any, resource: Resource, issues: Issues) -> GuestSpan | None:
    """The span `data` describes, or None (counted) when it cannot be exported."""
    context = span_context.from_guest(field(data, "span-context"))
    if context is None:
        issues.report("guest_span_dropped", "span with an invalid or zero trace/span id")
        return None
    start = datetime_ns(field(data, "start-time"))
    end = datetime_ns(field(data, "end-time"))
    if start is None or end is None:
        issues.report("guest_span_dropped", "span with an out-of-range start or end time")
        return None
    attributes, dropped_attrs = decode_attributes(field(data, "attributes"), issues)
    events = _events(field(data, "events"), issues)
    links, bad_links = _links(field(data, "links"), issues)
    name = field(data, "name")
    return GuestSpan(
        name=name if isinstance(name, str) else "",
        context=context,
        parent=_parent(context, field(data, "parent-span-id")),
        resource=resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=_kind(field(data, "span-kind")),
        status=_status(field(data, "status")),
        start_time=start,
        end_time=end,
        instrumentation_scope=instrumentation_scope(field(data, "instrumentation-scope"), issues),
        dropped=(
            _count(field(data, "dropped-attributes")) + dropped_attrs,
            _count(field(data, "dropped-events")),
            _count(field(data, "dropped-links")) + bad_links,
        ),
    )


def _kind(value: Any) -> SpanKind:
    return _KINDS.get(value, SpanKind.INTERNAL) if isinstance(value, str) else SpanKind.INTERNAL


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _parent(context: SpanContext, raw: Any) -> SpanContext | None:
    parent_id = parse_span_id(raw)
    if not parent_id:
        return None
    return SpanContext(context.trace_id, parent_id, is_remote=False)


def _status(value: Any) -> Status:
    tag, payload = variant_parts(value)
    if tag == "ok":
        return Status(StatusCode.OK)
    if tag == "error":
        return Status(StatusCode.ERROR, payload if isinstance(payload, str) else None)
    return Status(StatusCode.UNSET)


def _events(items: Any, issues: Issues) -> list[Event]:
    events = []
    for item in str_list(items):
        when = datetime_ns(field(item, "time"))
        name = field(item, "name")
        if when is None or not isinstance(name, str):
            issues.report("bad_event", "span event with a bad name or time dropped")
            continue
        attributes, _ = decode_attributes(field(item, "attributes"), issues)
        events.append(Event(name, attributes, when, limit=None))
    return events


def _links(items: Any, issues: Issues) -> tuple[list[Link], int]:
    links, bad = [], 0
    for item in str_list(items):
        target = span_context.from_guest(field(item, "span-context"))
        if target is None:
            issues.report("bad_link", "span link with an invalid trace/span id dropped")
            bad += 1
            continue
        attributes, _ = decode_attributes(field(item, "attributes"), issues)
        links.append(Link(target, attributes))
    return links, bad
