"""The resource kinds `wasi:http/types` defines, plus the `wasi:io` kinds it hands out.

Kinds are shared by tag (see `spin_py.host.table.resource_kind`): a stream pushed here as
`INPUT_STREAM` is the same resource type `wasi:io/streams` accepts.
"""

from __future__ import annotations

from spin_py.host.table import ResourceKind, resource_kind

TYPES = "wasi:http/types"

FIELDS = resource_kind(TYPES, "fields")
INCOMING_REQUEST = resource_kind(TYPES, "incoming-request")
OUTGOING_REQUEST = resource_kind(TYPES, "outgoing-request")
REQUEST_OPTIONS = resource_kind(TYPES, "request-options")
RESPONSE_OUTPARAM = resource_kind(TYPES, "response-outparam")
INCOMING_RESPONSE = resource_kind(TYPES, "incoming-response")
INCOMING_BODY = resource_kind(TYPES, "incoming-body")
FUTURE_TRAILERS = resource_kind(TYPES, "future-trailers")
OUTGOING_RESPONSE = resource_kind(TYPES, "outgoing-response")
OUTGOING_BODY = resource_kind(TYPES, "outgoing-body")
FUTURE_INCOMING_RESPONSE = resource_kind(TYPES, "future-incoming-response")

HTTP_KINDS: tuple[ResourceKind, ...] = (
    FIELDS,
    INCOMING_REQUEST,
    OUTGOING_REQUEST,
    REQUEST_OPTIONS,
    RESPONSE_OUTPARAM,
    INCOMING_RESPONSE,
    INCOMING_BODY,
    FUTURE_TRAILERS,
    OUTGOING_RESPONSE,
    OUTGOING_BODY,
    FUTURE_INCOMING_RESPONSE,
)
"""Every resource `wasi:http/types` defines, in WIT order."""

INPUT_STREAM = resource_kind("wasi:io/streams", "input-stream")
OUTPUT_STREAM = resource_kind("wasi:io/streams", "output-stream")
POLLABLE = resource_kind("wasi:io/poll", "pollable")
IO_ERROR = resource_kind("wasi:io/error", "error")
