"""Outbound networking: `allowed_outbound_hosts`, the HTTP client, chaining and self requests.

Pure/backend half of outbound HTTP; the `wasi:http/outgoing-handler` glue in
`spin_py.wasi.http` calls it:

- `policy`: `OutboundPolicy` (parsed `allowed_outbound_hosts`), `describe` for the log line;
- `destination`: `route_outbound` decides network / self / service-chained, denies, logs;
- `chaining`: `<id>.spin.internal` targets and the `SelfOrigin` bound address;
- `client`: the pooled aiohttp client (`OutboundClient.send` -> `OutboundResponse`);
- `errors`: `OutboundError(code, payload)` with wasi:http `error-code` case names.
"""

from spin_py.outbound.chaining import ChainTarget, SelfOrigin
from spin_py.outbound.client import (
    DEFAULT_TIMEOUT,
    OutboundClient,
    OutboundResponse,
    Timeouts,
    close_default_client,
    default_client,
)
from spin_py.outbound.destination import NetworkTarget, build_url, route_outbound
from spin_py.outbound.errors import DnsErrorPayload, OutboundError, TlsAlertPayload
from spin_py.outbound.policy import OutboundPolicy, describe, is_self_request

__all__ = [
    "DEFAULT_TIMEOUT",
    "ChainTarget",
    "DnsErrorPayload",
    "NetworkTarget",
    "OutboundClient",
    "OutboundError",
    "OutboundPolicy",
    "OutboundResponse",
    "SelfOrigin",
    "Timeouts",
    "TlsAlertPayload",
    "build_url",
    "close_default_client",
    "default_client",
    "describe",
    "is_self_request",
    "route_outbound",
]
