"""Reading and building the WIT records wasmtime-py hands to and takes from host functions.

wasmtime-py lifts a WIT record into a `wasmtime.component.Record` whose attributes are the WIT
field names as written, hyphens included (`getattr(rec, "trace-id")`), and lowers any object
with those attributes. Flags are a `set` of flag names, enums a `str`, an `option<T>` is `None`
or the value (these payloads are never ambiguous), and variants whose cases overlap in Python
type (`status`, `metric-data`, `metric-number`) are tagged `Variant(tag, payload)`.
`wasi:clocks/wall-clock.datetime` is a record `{seconds: u64, nanoseconds: u32}`.
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import Record, Variant

MAX_U64 = 2**64 - 1
_NANOS = 1_000_000_000


def field(record: Any, name: str, default: Any = None) -> Any:
    """Field `name` (WIT spelling) of a lifted record, or `default` if it is missing."""
    return getattr(record, name, default)


def make_record(fields: dict[str, Any]) -> Record:
    """A record to lower, with WIT field names as keys."""
    record = Record()
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def datetime_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch of a `datetime` record; None if malformed or out of range."""
    seconds = field(value, "seconds")
    nanos = field(value, "nanoseconds")
    if not isinstance(seconds, int) or not isinstance(nanos, int):
        return None
    total = seconds * _NANOS + nanos
    return total if 0 <= total <= MAX_U64 else None


def variant_parts(value: Any) -> tuple[str, Any]:
    """`(tag, payload)` of a tagged variant value; `("", None)` for anything else."""
    if isinstance(value, Variant):
        return value.tag, value.payload
    return "", None


def str_list(value: Any) -> list[Any]:
    """`value` if it is a list (lifted `list<T>`), else an empty list."""
    return value if isinstance(value, list) else []
