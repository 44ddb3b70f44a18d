"""Attribute values as wasi:otel ``value`` strings: JSON-encoded OpenTelemetry AnyValue.

wasi:otel carries every attribute value as JSON text. Strings, booleans, integers, floats and
arrays map to their JSON forms; bytes become ``data:application/octet-stream;base64,...``
(RFC 2397, as the interface documents) because JSON cannot tell bytes from a list of numbers;
mappings become objects (for log bodies). JSON has no NaN or infinities, so those floats are
sent as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (the protobuf JSON spelling).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence

BYTES_PREFIX = "data:application/octet-stream;base64,"

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def encode_value(value: object) -> str:
    """The JSON text of one attribute value, as ``types.value`` expects it."""
    return json.dumps(to_json(value), allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def to_json(value: object) -> JsonValue:
    """``value`` as plain JSON data; anything unknown becomes its ``str()``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return BYTES_PREFIX + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [to_json(item) for item in value]
    return str(value)


def _non_finite(value: float) -> str:
    """The protobuf JSON spelling of NaN and the infinities."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
