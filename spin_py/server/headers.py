"""The request headers a component sees: the client's headers plus Spin's `spin-*` set.

Spin tells a component how it was reached through headers (`spin-full-url`, `spin-path-info`,
`spin-matched-route`, ...). A client must not be able to forge them, so any `spin-*` header the
client sent is dropped before the real set is added. The hop-by-hop and host-controlled names
wasmtime removes from every incoming request (`FORBIDDEN_HEADERS`: `host`, `connection`,
`transfer-encoding`, ...) are dropped too; the Host value still reaches the guest as the
request's authority and in `spin-full-url`. See docs/compatibility.md#request-headers.
Pure functions, no aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable

from spin_py.routing import RouteMatch
from spin_py.wasi.http.fields import FORBIDDEN_HEADERS

__all__ = [
    "CHAINED_CLIENT_ADDR",
    "SPIN_HEADER_PREFIX",
    "request_headers_for_guest",
    "spin_headers",
]

SPIN_HEADER_PREFIX = "spin-"
CHAINED_CLIENT_ADDR = "0.0.0.0:0"
"""The `spin-client-addr` of a service-chained request (it has no network peer)."""


def spin_headers(
    match: RouteMatch,
    *,
    scheme: str,
    host: str | None,
    path_and_query: str,
    client_addr: str,
) -> list[tuple[str, str]]:
    """Build the `spin-*` headers for one routed request, in a fixed order.

    `host` is the request's Host header (None when absent: the URL then says `localhost`);
    `path_and_query` is the original request target; `client_addr` is `ip:port`.
    """
    headers = [
        ("spin-full-url", f"{scheme}://{host or 'localhost'}{path_and_query}"),
        ("spin-path-info", match.path_info),
        ("spin-matched-route", match.route),
        ("spin-raw-component-route", match.raw_route),
        ("spin-component-route", match.component_route),
        ("spin-base-path", "/"),
        ("spin-client-addr", client_addr),
    ]
    headers.extend((f"spin-path-match-{name}", value) for name, value in match.params)
    return headers


def request_headers_for_guest(
    client_headers: Iterable[tuple[str, str]],
    spin: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """The full header list handed to the guest, names lower-cased (as Spin's hyper does).

    Drops the forbidden names (`FORBIDDEN_HEADERS`, as wasmtime does for incoming requests)
    and any client-sent `spin-*` header; then appends `spin`.
    """
    kept: list[tuple[str, str]] = []
    for name, value in client_headers:
        lower = name.lower()
        if lower in FORBIDDEN_HEADERS or lower.startswith(SPIN_HEADER_PREFIX):
            continue
        kept.append((lower, value))
    kept.extend(spin)
    return kept
