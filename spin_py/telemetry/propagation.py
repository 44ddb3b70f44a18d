"""W3C Trace Context on the way in and out, following the Recommendation exactly.

The OpenTelemetry Python propagator reads only the first line of a repeated header through its
default getter, accepts a repeated `traceparent` and logs a warning for each malformed
`tracestate` a client sends; the rules here are small enough to own:

`traceparent` is `version-traceid-parentid-flags`, lower-case hex only. Invalid: version `ff`,
an all-zero trace id or parent id, upper-case or non-hex digits, wrong field lengths, version
`00` with anything after the flags, more than one `traceparent` header line. A higher version is
parsed from its first 55 characters, which must be followed by the end or a `-`. Surrounding
spaces and tabs are ignored.

`tracestate`: all header lines are joined with `,`; empty members are skipped; at most 32
members; keys and values follow the W3C grammar; a key may appear once. If anything is wrong
(or the traceparent is invalid) the whole tracestate is ignored.

An invalid or missing traceparent yields an empty context: the server span starts a new trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    TraceState,
    get_current_span,
    set_span_in_context,
)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_TRACESTATE_MEMBERS = 32

_HEX = "0123456789abcdef"
_FIELDS_00 = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_PARENT_LEN = 55
_OWS = " \t"

_KEY = re.compile(
    r"[a-z][_0-9a-z\-*/]{0,255}"
    r"|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13}"
)
_VALUE = re.compile(r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")


class MultiHeaders(Protocol):
    """What `extract` needs from a header collection: every line of one header."""

    def getall(self, key: str, default: list[str]) -> list[str]: ...


def parse_traceparent(value: str) -> SpanContext | None:
    """The remote parent described by one `traceparent` value, or None if it is invalid."""
    value = value.strip(_OWS)
    if len(value) < _PARENT_LEN:
        return None
    version = value[:2]
    if version == "00" and len(value) != _PARENT_LEN:
        return None
    if len(value) > _PARENT_LEN and value[_PARENT_LEN] != "-":
        return None
    match = _FIELDS_00.fullmatch(value[:_PARENT_LEN])
    if match is None or version == "ff":
        return None
    trace_id, span_id, flags = int(match[2], 16), int(match[3], 16), int(match[4], 16)
    if trace_id == 0 or span_id == 0:
        return None
    return SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        is_remote=True,
        trace_flags=TraceFlags(flags & TraceFlags.SAMPLED),
    )


def is_valid_member(key: str, value: str) -> bool:
    """True when `key=value` is a valid tracestate list member."""
    return _KEY.fullmatch(key) is not None and _VALUE.fullmatch(value) is not None


def parse_tracestate(lines: Iterable[str]) -> TraceState:
    """The tracestate of all header lines combined; empty if any member is invalid."""
    pairs: list[tuple[str, str]] = []
    for member in ",".join(lines).split(","):
        member = member.strip(_OWS)
        if not member:
            continue
        key, sep, value = member.partition("=")
        if not sep or not is_valid_member(key, value):
            return TraceState()
        pairs.append((key, value))
    return trace_state_from_pairs(pairs)


def trace_state_from_pairs(pairs: Sequence[tuple[str, str]]) -> TraceState:
    """A TraceState of `pairs` in order, or an empty one if any pair is invalid, a key repeats
    or there are more than 32 pairs."""
    if len(pairs) > MAX_TRACESTATE_MEMBERS:
        return TraceState()
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        return TraceState()
    for key, value in pairs:
        if not (isinstance(key, str) and isinstance(value, str) and is_valid_member(key, value)):
            return TraceState()
    return TraceState(list(pairs))


def extract(headers: MultiHeaders | Mapping[str, str]) -> Context:
    """The context carrying the remote parent of `headers` (empty when there is none).

    `headers` is a multi-dict (`aiohttp`'s `CIMultiDictProxy`, names case-insensitive) or a
    plain mapping with lower-case names.
    """
    parents = _all(headers, TRACEPARENT)
    if len(parents) != 1:
        return Context()
    parent = parse_traceparent(parents[0])
    if parent is None:
        return Context()
    state = parse_tracestate(_all(headers, TRACESTATE))
    remote = SpanContext(
        trace_id=parent.trace_id,
        span_id=parent.span_id,
        is_remote=True,
        trace_flags=parent.trace_flags,
        trace_state=state,
    )
    return set_span_in_context(NonRecordingSpan(remote), Context())


def _all(headers: MultiHeaders | Mapping[str, str], name: str) -> list[str]:
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    value = headers.get(name) if isinstance(headers, Mapping) else None
    return [] if value is None else [value]


def format_traceparent(context: SpanContext) -> str:
    """`00-<trace-id>-<span-id>-<flags>` for a valid span context."""
    flags = int(context.trace_flags) & TraceFlags.SAMPLED
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"


def inject_headers(span: Span | SpanContext) -> list[tuple[str, str]]:
    """The `traceparent` (and non-empty `tracestate`) headers naming `span` as the parent.

    Empty for an invalid span context (no trace to continue).
    """
    context = span if isinstance(span, SpanContext) else span.get_span_context()
    if not context.is_valid:
        return []
    headers = [(TRACEPARENT, format_traceparent(context))]
    if context.trace_state:
        headers.append((TRACESTATE, context.trace_state.to_header()))
    return headers


class AllLinesGetter(Getter[MultiHeaders]):
    """An OTel `Getter` returning every line of a header (`headers.getall`), not just the first."""

    def get(self, carrier: MultiHeaders, key: str) -> list[str] | None:
        values = list(carrier.getall(key, []))
        return values or None

    def keys(self, carrier: MultiHeaders) -> list[str]:
        keys = getattr(carrier, "keys", None)
        return [] if keys is None else list(keys())


class W3CPropagator(TextMapPropagator):
    """The rules above as an OTel `TextMapPropagator` (for code that takes a propagator)."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,  # type: ignore[assignment]
    ) -> Context:
        parents = getter.get(carrier, TRACEPARENT) or []
        parent = parse_traceparent(parents[0]) if len(parents) == 1 else None
        base = context if context is not None else Context()
        if parent is None:
            return base
        state = parse_tracestate(getter.get(carrier, TRACESTATE) or [])
        remote = SpanContext(parent.trace_id, parent.span_id, True, parent.trace_flags, state)
        return set_span_in_context(NonRecordingSpan(remote), base)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,  # type: ignore[assignment]
    ) -> None:
        for name, value in inject_headers(get_current_span(context)):
            setter.set(carrier, name, value)

    @property
    def fields(self) -> set[str]:
        return {TRACEPARENT, TRACESTATE}
