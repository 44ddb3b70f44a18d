"""Trace and span ids as they cross the wasi:otel boundary (hex strings).

From guests: 1-32 (trace) or 1-16 (span) hex digits in either case, left-padded with zeros.
Anything else (signs, `0x`, `_`, spaces, non-ASCII digits, which Python's `int(x, 16)` would
accept) is invalid; so is an all-zero id. Invalid ids parse to 0 (`INVALID`), the value
OpenTelemetry uses for "no id". To guests: lower-case, zero-padded to 32 / 16 characters.
"""

from __future__ import annotations

import re

INVALID = 0
_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{1,16}")


def parse_trace_id(value: object) -> int:
    """The trace id in `value`, or 0 if it is not 1-32 hex digits (or is all zeros)."""
    return _parse(value, _TRACE_ID)


def parse_span_id(value: object) -> int:
    """The span id in `value`, or 0 if it is not 1-16 hex digits (or is all zeros)."""
    return _parse(value, _SPAN_ID)


def _parse(value: object, pattern: re.Pattern[str]) -> int:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        return INVALID
    return int(value, 16)


def format_trace_id(trace_id: int) -> str:
    """32 lower-case hex digits."""
    return f"{trace_id:032x}"


def format_span_id(span_id: int) -> str:
    """16 lower-case hex digits."""
    return f"{span_id:016x}"
