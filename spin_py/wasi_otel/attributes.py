"""`list<key-value>` from a guest → an attribute dict, dropping (and counting) what is unusable.

Keys must be non-empty strings; values are decoded by `values.decode_attribute`. A later
duplicate key wins. At most `limit` attributes are kept; the rest count as dropped.
"""

from __future__ import annotations

from typing import Any

from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.records import field, str_list
from spin_py.wasi_otel.values import AttributeValue, BadValue, decode_attribute

DEFAULT_LIMIT = 128


def decode_attributes(
    pairs: Any, issues: Issues, limit: int = DEFAULT_LIMIT, *, allow_bytes: bool = True
) -> tuple[dict[str, AttributeValue], int]:
    """The usable attributes of `pairs` and how many were dropped.

    `allow_bytes=False` drops byte values (resources and scopes: the SDK cannot hold them).
    """
    out: dict[str, AttributeValue] = {}
    dropped = 0
    for pair in str_list(pairs):
        key = field(pair, "key")
        if not isinstance(key, str) or not key:
            issues.report("bad_attribute", "attribute with an empty or missing key")
            dropped += 1
            continue
        try:
            value = decode_attribute(field(pair, "value"))
        except BadValue as exc:
            issues.report("bad_value", f"attribute {key!r} dropped: {exc}")
            dropped += 1
            continue
        if isinstance(value, bytes) and not allow_bytes:
            issues.report("bad_value", f"attribute {key!r} dropped: bytes not allowed here")
            dropped += 1
            continue
        if key not in out and len(out) >= limit:
            dropped += 1
            continue
        out[key] = value
    return out, dropped
