"""Server-span attributes of an incoming aiohttp request (stable HTTP semantic conventions).

Pure helpers over `web.BaseRequest`: method (with `_OTHER`), `url.*`, `server.*` from the Host
header, `client.address` from X-Forwarded-For / Forwarded (else the peer), `network.*`,
`user_agent.original`.
"""

from __future__ import annotations

from aiohttp import web
from opentelemetry.util.types import AttributeValue

from spin_py.telemetry import semconv as sc


def request_attributes(request: web.BaseRequest) -> dict[str, AttributeValue]:
    """Every request-side attribute of the server span."""
    attrs: dict[str, AttributeValue] = {}
    attrs.update(method_attributes(request.method))
    path, sep, query = request.raw_path.partition("?")
    attrs[sc.URL_PATH] = path
    if sep and query:
        attrs[sc.URL_QUERY] = query
    attrs[sc.URL_SCHEME] = request.scheme
    host, port = split_host(request.headers.get("Host", ""))
    if host:
        attrs[sc.SERVER_ADDRESS] = host
    if port is not None:
        attrs[sc.SERVER_PORT] = port
    peer_host, peer_port = _peer(request)
    client = forwarded_client(request) or peer_host
    if client:
        attrs[sc.CLIENT_ADDRESS] = client
    if peer_host:
        attrs[sc.NETWORK_PEER_ADDRESS] = peer_host
    if peer_port is not None:
        attrs[sc.NETWORK_PEER_PORT] = peer_port
    attrs[sc.NETWORK_PROTOCOL_VERSION] = f"{request.version.major}.{request.version.minor}"
    user_agent = request.headers.get("User-Agent")
    if user_agent is not None:
        attrs[sc.USER_AGENT_ORIGINAL] = user_agent
    return attrs


def method_attributes(method: str) -> dict[str, AttributeValue]:
    """`http.request.method`, or `_OTHER` plus `http.request.method_original`."""
    if method in sc.KNOWN_METHODS:
        return {sc.HTTP_REQUEST_METHOD: method}
    return {sc.HTTP_REQUEST_METHOD: sc.OTHER_METHOD, sc.HTTP_REQUEST_METHOD_ORIGINAL: method}


def split_host(value: str) -> tuple[str, int | None]:
    """`("example.com", 8080)` from a Host value; IPv6 brackets removed; bad port → None."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, _port(port)


def _port(raw: str) -> int | None:
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    return None


def forwarded_client(request: web.BaseRequest) -> str | None:
    """The original client from X-Forwarded-For (first entry), else Forwarded `for=`."""
    xff = request.headers.get("X-Forwarded-For", "")
    first = xff.split(",")[0].strip()
    if first:
        return first
    forwarded = request.headers.get("Forwarded", "")
    for pair in forwarded.split(",")[0].split(";"):
        name, _, value = pair.strip().partition("=")
        if name.lower() == "for" and value:
            return _forwarded_node(value.strip('"'))
    return None


def _forwarded_node(node: str) -> str | None:
    if node.startswith("["):
        return node[1:].partition("]")[0] or None
    host = node.partition(":")[0]
    return host or None


def _peer(request: web.BaseRequest) -> tuple[str | None, int | None]:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None, None
