"""Where a guest's outbound request goes: the network, the server itself, or another component.

`route_outbound` takes the three URL parts a `wasi:http` `outgoing-request` carries (scheme,
authority, path-with-query) and, before anything is connected, decides:

1. the scheme: `http`, `https`, or none (meaning `https`, as wasmtime-wasi-http does); any
   other scheme is `HTTP-protocol-error`;
2. self request (no authority, or host `self.alt`): allowed only by a `self`/`self.alt`/`*`
   entry, then sent to the bound address (`SelfOrigin`); no origin known is
   `HTTP-request-URI-invalid`;
3. otherwise the URL is checked against `allowed_outbound_hosts`; denied is
   `HTTP-request-denied` plus the log line
   `Outbound network destination not allowed: <scheme>://<authority>`;
4. an allowed `<id>.spin.internal` URL becomes a `ChainTarget` (in-process dispatch); any
   other becomes a `NetworkTarget`.

User info in the authority (`user:pass@host`) is dropped from the URL that is sent: aiohttp would
otherwise add an `Authorization` header the guest never set.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import yarl

from spin_py.outbound.chaining import ChainTarget, SelfOrigin, chain_target
from spin_py.outbound.errors import OutboundError
from spin_py.outbound.policy import OutboundPolicy, describe, is_self_request

__all__ = ["DENIED_MESSAGE", "NetworkTarget", "build_url", "route_outbound"]

DENIED_MESSAGE = "Outbound network destination not allowed: %s"
ALLOW_HINT = 'To allow it, add to %s in the manifest: allowed_outbound_hosts = ["%s"]'

log = logging.getLogger(__name__)

_SCHEMES = ("http", "https")
_BAD_AUTHORITY_CHARS = frozenset("/?#\\ \t\r\n")


@dataclass(frozen=True)
class NetworkTarget:
    """Send over the network to `url` (absolute, no user info); `self_request` if to ourselves."""

    url: yarl.URL
    self_request: bool = False


def build_url(scheme: str | None, authority: str | None, path_with_query: str | None) -> yarl.URL:
    """The URL of an outgoing request; relative (no host) when there is no authority.

    The path and query are kept byte for byte (not re-quoted). Raises `OutboundError` with
    `HTTP-protocol-error` for a scheme other than http/https and `HTTP-request-URI-invalid`
    for an authority that is not one.
    """
    scheme = (scheme or "https").lower()
    if scheme not in _SCHEMES:
        raise OutboundError("HTTP-protocol-error", None, f"unsupported scheme {scheme!r}")
    path = path_with_query or "/"
    if not path.startswith("/"):
        path = "/" + path
    if not authority:
        return yarl.URL(path, encoded=True)
    if _BAD_AUTHORITY_CHARS.intersection(authority):
        raise OutboundError.uri_invalid(f"invalid authority {authority!r}")
    try:
        url = yarl.URL(f"{scheme}://{authority}{path}", encoded=True)
        host, _ = url.raw_host, url.explicit_port  # yarl splits (and checks) lazily
    except ValueError as error:
        raise OutboundError.uri_invalid(f"invalid authority {authority!r}: {error}") from error
    if not host:
        raise OutboundError.uri_invalid(f"invalid authority {authority!r}: no host")
    port = _port_text(authority)
    if port and not (port.isascii() and port.isdigit()):
        # yarl reads `+80`, `8_0` and non-ASCII digits as numbers; an authority does not
        raise OutboundError.uri_invalid(f"invalid authority {authority!r}: port {port!r}")
    return url.with_user(None) if url.raw_user is not None else url


def _port_text(authority: str) -> str | None:
    """The port part of `[userinfo@]host[:port]` as written (None: no port)."""
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        _, bracket, rest = host_port.partition("]")
        return rest[1:] if bracket and rest.startswith(":") else None
    _, colon, port = host_port.rpartition(":")
    return port if colon else None


def route_outbound(
    scheme: str | None,
    authority: str | None,
    path_with_query: str | None,
    *,
    policy: OutboundPolicy,
    origin: SelfOrigin | None,
    component_ids: Collection[str],
    component_id: str | None = None,
) -> NetworkTarget | ChainTarget:
    """Check and place one outbound request (see the module docstring); raises `OutboundError`.

    `component_id` (the caller) only appears in the denial log line.
    """
    url = build_url(scheme, authority, path_with_query)
    if not policy.allows(url):
        _log_denied(url, component_id)
        raise OutboundError.denied(describe(url))
    if is_self_request(url):
        if origin is None:
            raise OutboundError.uri_invalid("self request, but the server address is unknown")
        return NetworkTarget(origin.url(url.raw_path_qs), self_request=True)
    chained = chain_target(url, component_ids)
    return chained if chained is not None else NetworkTarget(url)


def _log_denied(url: yarl.URL, component_id: str | None) -> None:
    """The denial, and the manifest line that would allow it (as Spin prints it)."""
    destination = describe(url)
    if component_id is None:
        log.error(DENIED_MESSAGE + ". " + ALLOW_HINT, destination, "the component", destination)
    else:
        log.error(
            DENIED_MESSAGE + " (component %s). " + ALLOW_HINT,
            destination,
            component_id,
            f"[component.{component_id}]",
            destination,
        )
