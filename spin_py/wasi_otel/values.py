"""Decoding `wasi:otel/types.value`: a JSON-encoded OpenTelemetry AnyValue.

Attributes accept strings, booleans, integers in the int64 range, floats and homogeneous arrays
of those. Go encodes the float 1.0 as `1`, so an array mixing integers and floats is an array of
floats. A string starting with `data:application/octet-stream;base64,` (or the older
`{base64}:`) is bytes. `null`, objects (how JS typed arrays serialize), nested or mixed arrays
are not attribute values: `decode_attribute` raises `BadValue` and the caller drops the attribute
(counting it). Log bodies (`decode_body`) may also be maps and heterogeneous lists.

Nothing here raises anything but `BadValue`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

BYTES_PREFIXES = ("data:application/octet-stream;base64,", "{base64}:")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32

Scalar = str | bool | int | float | bytes
AttributeValue = Scalar | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]


class BadValue(ValueError):
    """A value the host cannot use (bad JSON or an unsupported shape)."""


def _reject_constant(name: str) -> Any:
    raise BadValue(f"{name} is not JSON")


def parse_json(raw: object) -> Any:
    """The JSON document in `raw` (NaN/Infinity literals are rejected)."""
    if not isinstance(raw, str):
        raise BadValue("value is not a string")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadValue(f"invalid JSON: {exc}") from None


def decode_attribute(raw: object) -> AttributeValue:
    """The attribute value encoded in `raw`; raises `BadValue` if it is not one."""
    value = parse_json(raw)
    if isinstance(value, list):
        return _array(value)
    return _scalar(value)


def _scalar(value: Any) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _int64(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return _maybe_bytes(value)
    if value is None:
        raise BadValue("null")
    raise BadValue(f"unsupported {type(value).__name__}")


def _int64(value: int) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise BadValue("integer outside the int64 range")
    return value


def _maybe_bytes(value: str) -> str | bytes:
    for prefix in BYTES_PREFIXES:
        if value.startswith(prefix):
            try:
                return base64.b64decode(value[len(prefix) :], validate=True)
            except (binascii.Error, ValueError):
                raise BadValue("invalid base64 bytes") from None
    return value


def _array(items: list[Any]) -> AttributeValue:
    kinds = {_kind(item) for item in items}
    if not kinds:
        return ()
    if kinds == {"str"}:
        return tuple(items)
    if kinds == {"bool"}:
        return tuple(items)
    if kinds == {"int"}:
        return tuple(_int64(i) for i in items)
    if kinds <= {"int", "float"}:
        return tuple(float(i) for i in items)
    raise BadValue("array elements are not all of one type")


def _kind(item: Any) -> str:
    if isinstance(item, bool):
        return "bool"
    if isinstance(item, int):
        return "int"
    if isinstance(item, float):
        return "float"
    if isinstance(item, str):
        return "str"
    return "other"


def decode_body(raw: object) -> Any:
    """A log body: any AnyValue, including maps and heterogeneous lists; raises `BadValue`."""
    return _any(parse_json(raw), 0)


def _any(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise BadValue("value nested too deeply")
    if isinstance(value, list):
        return [_any(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _any(v, depth + 1) for k, v in value.items()}
    if value is None:
        return None
    return _scalar(value)
