"""`instrumentation-scope` and `resource` records from a guest → SDK objects."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from spin_py.wasi_otel.attributes import decode_attributes
from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.records import field


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def instrumentation_scope(record: Any, issues: Issues) -> InstrumentationScope:
    """The SDK scope for a guest `instrumentation-scope` (name "" if the record is malformed)."""
    name = field(record, "name")
    attributes, _ = decode_attributes(field(record, "attributes"), issues, allow_bytes=False)
    return InstrumentationScope(
        name if isinstance(name, str) else "",
        _opt_str(field(record, "version")),
        _opt_str(field(record, "schema-url")),
        attributes or None,
    )


def guest_resource(record: Any, host: Resource, issues: Issues) -> Resource:
    """The guest's resource, with the host's attributes filling in keys the guest left out."""
    if record is None:
        return host
    attributes, _ = decode_attributes(field(record, "attributes"), issues, allow_bytes=False)
    guest = Resource(attributes, _opt_str(field(record, "schema-url")))
    return host.merge(guest)
