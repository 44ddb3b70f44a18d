"""`metric-number` values and exemplars, coerced to the number kind a metric declares.

The kind comes from the `metric-data` tag (`f64-…`, `s64-…`, `u64-…`). A number of another
kind is coerced when that is exact (any integer to f64; an integral float, or a u64 within the
int64 range, to an integer kind) and skipped otherwise. OTLP carries integers as int64, so a u64
above 2^63-1 is skipped too.
"""

from __future__ import annotations

import math
from typing import Any

from opentelemetry.sdk.metrics import Exemplar

from spin_py.wasi_otel.attributes import decode_attributes
from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.ids import parse_span_id, parse_trace_id
from spin_py.wasi_otel.records import datetime_ns, field, str_list, variant_parts

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_KINDS = ("f64", "s64", "u64")


def number(value: Any, kind: str) -> int | float | None:
    """The number in a `metric-number` variant as `kind` ("f64", "s64", "u64"), or None."""
    tag, payload = variant_parts(value)
    if tag not in _KINDS or isinstance(payload, bool) or not isinstance(payload, int | float):
        return None
    if kind == "f64":
        return float(payload)
    if isinstance(payload, float):
        if not (math.isfinite(payload) and payload.is_integer()):
            return None
        payload = int(payload)
    low = 0 if kind == "u64" else _INT64_MIN
    return payload if low <= payload <= _INT64_MAX else None


def exemplars(items: Any, kind: str, issues: Issues) -> list[Exemplar]:
    """The usable exemplars of a data point (bad values skipped and counted)."""
    out = []
    for item in str_list(items):
        value = number(field(item, "value"), kind)
        when = datetime_ns(field(item, "time"))
        if value is None or when is None:
            issues.report("bad_metric_value", "exemplar with an unusable value or time skipped")
            continue
        attributes, _ = decode_attributes(field(item, "filtered-attributes"), issues)
        span_id = exemplar_id(field(item, "span-id"), 8)
        trace_id = exemplar_id(field(item, "trace-id"), 16)
        if span_id is None or trace_id is None:
            span_id = trace_id = None
        out.append(Exemplar(attributes, value, when, span_id, trace_id))
    return out


def exemplar_id(raw: Any, size: int) -> int | None:
    """An exemplar's trace/span id: hex, or `size` raw bytes in a string, or None (empty)."""
    if not isinstance(raw, str) or not raw:
        return None
    parse = parse_span_id if size == 8 else parse_trace_id
    parsed = parse(raw)
    if parsed:
        return parsed
    if len(raw) == size and all(ord(c) < 256 for c in raw):
        return int.from_bytes(raw.encode("latin-1"), "big") or None
    return None
