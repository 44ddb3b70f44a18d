"""The `incoming-request` a component sees for an aiohttp request
(docs/compatibility.md#the-request-a-component-sees).

Method, `path-with-query` (the raw request target: path and query exactly as sent; of an
absolute-form target, its path and query), scheme (the listener's), authority (the Host header,
or an absolute-form target's authority: `spin_py.server.request_target`), and headers: the
client's (minus the forbidden names such as `host` and `transfer-encoding`, and any
client-sent `spin-*`) plus Spin's `spin-*` set. The body streams from aiohttp on demand
(`request.content.readany()` per guest read), so an upload is never buffered whole.

aiohttp's HTTP parsers drop request trailers, so the body's `future-trailers` always resolves
to "no trailers", at once (docs/compatibility.md#request-trailers).

`chained_incoming_request` is the same view of a service-chained request
(`http://<id>.spin.internal/...` from another component): the caller's headers,
the `spin-*` set of a `/...` match with client address `0.0.0.0:0`, and the body the caller
writes.
"""

from __future__ import annotations

from aiohttp import web

from spin_py.host.channels import EmptyInputStream, PullInputStream
from spin_py.host.state import RequestState
from spin_py.host.streams import InputStream
from spin_py.outbound.host import ChainedRequest
from spin_py.outbound.response import read_error
from spin_py.routing import RouteMatch
from spin_py.server.headers import CHAINED_CLIENT_ADDR, request_headers_for_guest, spin_headers
from spin_py.server.request_target import request_target
from spin_py.wasi.http.body import FutureTrailers, IncomingBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.request import IncomingRequest

__all__ = ["chained_incoming_request", "client_addr", "incoming_request"]


def client_addr(request: web.BaseRequest) -> str:
    """The peer as `ip:port` (`[v6]:port` for IPv6), `0.0.0.0:0` when unknown."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not isinstance(peer, tuple) or len(peer) < 2:
        return "0.0.0.0:0"
    host, port = str(peer[0]), int(peer[1])
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def incoming_request(
    request: web.BaseRequest, match: RouteMatch, state: RequestState
) -> IncomingRequest:
    """The guest's view of `request`, whose body is read through `state`'s event loop."""
    target = request_target(request.raw_path, request.headers.get("Host"))
    spin = spin_headers(
        match,
        scheme=request.scheme,
        host=target.authority,
        path_and_query=target.path_with_query,
        client_addr=client_addr(request),
    )
    client = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
    headers = request_headers_for_guest(client, spin)
    fields = Fields.trusted([(name, value.encode("latin-1")) for name, value in headers])
    stream = PullInputStream(state, request.content.readany, error_detail=_terminated)
    return IncomingRequest(
        method=request.method,
        path_with_query=target.path_with_query,
        scheme=request.scheme,
        authority=target.authority,
        headers=fields,
        body=IncomingBody(stream, FutureTrailers.ready),
    )


def _terminated(exc: BaseException) -> ErrorCode:
    """The wasi:http error behind a failed request-body read: the client went away."""
    return ErrorCode.connection_terminated()


def chained_incoming_request(
    request: ChainedRequest, match: RouteMatch, state: RequestState
) -> IncomingRequest:
    """The chained component's view of `request` (see the module docstring)."""
    spin = spin_headers(
        match,
        scheme=request.scheme,
        host=request.authority,
        path_and_query=request.path_with_query,
        client_addr=CHAINED_CLIENT_ADDR,
    )
    caller = [(name, value.decode("latin-1")) for name, value in request.headers]
    headers = request_headers_for_guest(caller, spin)
    fields = Fields.trusted([(name, value.encode("latin-1")) for name, value in headers])
    stream: InputStream = EmptyInputStream()
    if request.next_chunk is not None:
        stream = PullInputStream(state, request.next_chunk, error_detail=read_error)
    return IncomingRequest(
        method=request.method,
        path_with_query=request.path_with_query,
        scheme=request.scheme,
        authority=request.authority,
        headers=fields,
        body=IncomingBody(stream, FutureTrailers.ready),
    )
