"""A guest's `log-record` → an SDK `ReadWriteLogRecord` for the host's log processor.

Every optional field is mapped: timestamps, severity text, severity number (1-24 as is, 0 as
unspecified, above 24 dropped), body (any AnyValue, maps and lists included; undecodable →
no body, counted), attributes, event name, resource (the guest's over the host's), scope. The
trace context is attached only when both the trace id and the span id are valid.
"""

from __future__ import annotations

from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, set_span_in_context

from spin_py.wasi_otel.attributes import decode_attributes
from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.ids import parse_span_id, parse_trace_id
from spin_py.wasi_otel.records import datetime_ns, field
from spin_py.wasi_otel.scope_conv import guest_resource, instrumentation_scope
from spin_py.wasi_otel.span_context import trace_flags
from spin_py.wasi_otel.values import BadValue, decode_body

MAX_SEVERITY = 24


def build_log_record(data: Any, host: Resource, issues: Issues) -> ReadWriteLogRecord:
    """The SDK log record for a guest `log-record`."""
    scope = field(data, "instrumentation-scope")
    text = field(data, "severity-text")
    event = field(data, "event-name")
    record = LogRecord(
        timestamp=_time(field(data, "timestamp")),
        observed_timestamp=_time(field(data, "observed-timestamp")),
        context=_trace_context(data),
        severity_text=text if isinstance(text, str) else None,
        severity_number=severity(field(data, "severity-number")),
        body=_body(field(data, "body"), issues),
        attributes=_attributes(field(data, "attributes"), issues),
        event_name=event if isinstance(event, str) else None,
    )
    return ReadWriteLogRecord(
        log_record=record,
        resource=guest_resource(field(data, "resource"), host, issues),
        instrumentation_scope=None if scope is None else instrumentation_scope(scope, issues),
    )


def severity(value: Any) -> SeverityNumber | None:
    """1-24 → that severity; 0 → UNSPECIFIED; anything else → None (field dropped)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEVERITY:
        return SeverityNumber(value)
    return None


def _time(value: Any) -> int | None:
    return None if value is None else datetime_ns(value)


def _body(raw: Any, issues: Issues) -> Any:
    if raw is None:
        return None
    try:
        return decode_body(raw)
    except BadValue as exc:
        issues.report("bad_value", f"log body dropped: {exc}")
        return None


def _attributes(pairs: Any, issues: Issues) -> dict[str, Any] | None:
    if pairs is None:
        return None
    attributes, _ = decode_attributes(pairs, issues)
    return dict(attributes)


def _trace_context(data: Any) -> Context:
    trace_id = parse_trace_id(field(data, "trace-id"))
    span_id = parse_span_id(field(data, "span-id"))
    if not trace_id or not span_id:
        # A non-empty context without a valid span: the SDK must not fill in the current one.
        return set_span_in_context(INVALID_SPAN, Context())
    flags = trace_flags(field(data, "trace-flags"))
    span = NonRecordingSpan(SpanContext(trace_id, span_id, False, flags))
    return set_span_in_context(span, Context())
