"""Attribute names and span names spin-py emits (stable OpenTelemetry semantic conventions).

One place for every string that appears in exported telemetry, so the names used by the server
span, the execute span and the host-call spans cannot drift apart.
"""

from __future__ import annotations

# Resource
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
SERVICE_INSTANCE_ID = "service.instance.id"
PROCESS_PID = "process.pid"
SPIN_APP_NAME = "spin.app.name"
TELEMETRY_SDK_NAME = "telemetry.sdk.name"
TELEMETRY_SDK_LANGUAGE = "telemetry.sdk.language"
TELEMETRY_SDK_VERSION = "telemetry.sdk.version"

# HTTP (stable conventions)
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_REQUEST_METHOD_ORIGINAL = "http.request.method_original"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
HTTP_ROUTE = "http.route"
URL_PATH = "url.path"
URL_QUERY = "url.query"
URL_SCHEME = "url.scheme"
URL_FULL = "url.full"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
CLIENT_ADDRESS = "client.address"
NETWORK_PEER_ADDRESS = "network.peer.address"
NETWORK_PEER_PORT = "network.peer.port"
NETWORK_PROTOCOL_VERSION = "network.protocol.version"
USER_AGENT_ORIGINAL = "user_agent.original"
ERROR_TYPE = "error.type"
DB_SYSTEM_NAME = "db.system.name"
DB_OPERATION_NAME = "db.operation.name"

# Spin platform host calls (our names: the label a guest opened, never a key or a value)
SPIN_KEY_VALUE_STORE = "spin.key_value.store"
SPIN_SQLITE_DATABASE = "spin.sqlite.database"
SPIN_VARIABLE_NAME = "spin.variable.name"

OTHER_METHOD = "_OTHER"
"""`http.request.method` of a method outside `KNOWN_METHODS` (the original goes in
`http.request.method_original`)."""

KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)

OTHER_METHOD_SPAN_NAME = "HTTP"
"""What a span name uses instead of the method when the method is `_OTHER` (conventions)."""

EXECUTE_SPAN_PREFIX = "execute_wasm_component"
"""The execute span is named `execute_wasm_component <component-id>`."""


def span_method(method: str) -> str:
    """The method as it appears in span names: itself if known, else `HTTP`."""
    return method if method in KNOWN_METHODS else OTHER_METHOD_SPAN_NAME


def execute_span_name(component_id: str) -> str:
    """`execute_wasm_component <component-id>`."""
    return f"{EXECUTE_SPAN_PREFIX} {component_id}"
