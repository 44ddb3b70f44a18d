"""`span-context` records: from a guest (strictly validated) and to a guest."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanContext, TraceFlags, TraceState
from wasmtime.component import Record

from spin_py.telemetry.propagation import trace_state_from_pairs
from spin_py.wasi_otel.ids import (
    format_span_id,
    format_trace_id,
    parse_span_id,
    parse_trace_id,
)
from spin_py.wasi_otel.records import field, make_record, str_list

SAMPLED = "sampled"


def trace_flags(value: Any) -> TraceFlags:
    """TraceFlags of a lifted `trace-flags` (a set of flag names)."""
    sampled = isinstance(value, set | frozenset | list | tuple) and SAMPLED in value
    return TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)


def trace_state(value: Any) -> TraceState:
    """TraceState of a guest `trace-state`; empty if any pair is invalid by the W3C grammar."""
    pairs = str_list(value)
    if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        return TraceState()
    return trace_state_from_pairs(pairs)


def from_guest(record: Any) -> SpanContext | None:
    """The SpanContext a guest described, or None when its trace or span id is invalid/zero."""
    trace_id = parse_trace_id(field(record, "trace-id"))
    span_id = parse_span_id(field(record, "span-id"))
    if not trace_id or not span_id:
        return None
    return SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        is_remote=field(record, "is-remote") is True,
        trace_flags=trace_flags(field(record, "trace-flags")),
        trace_state=trace_state(field(record, "trace-state")),
    )


def to_guest(context: SpanContext, *, is_remote: bool | None = None) -> Record:
    """A `span-context` record for the guest (ids lower-case and zero-padded)."""
    return make_record(
        {
            "trace-id": format_trace_id(context.trace_id),
            "span-id": format_span_id(context.span_id),
            "trace-flags": {SAMPLED} if context.trace_flags.sampled else set(),
            "is-remote": context.is_remote if is_remote is None else is_remote,
            "trace-state": list(context.trace_state.items()),
        }
    )
