"""`wasi:http/outgoing-handler`: the guest's outbound HTTP requests.

`handle(request, options)` returns a `future-incoming-response`. What happens to the request is
up to the component's `OutgoingHandler`, the one hook this layer asks of its embedder (the way
wasmtime's `WasiHttpHooks::send_request` does): the server installs one per component with
`use_outgoing_handler` (spin-py's is `spin_py.outbound.send.OutboundHandler`: allowed hosts,
the HTTP client, self requests, service chaining). A component without one gets `DenyAll`,
which resolves every future to `HTTP-request-denied` with Spin's log line
`Outbound network destination not allowed: <scheme>://<authority>`.

The request's body, if the guest asked for one, is already an `OutgoingBody` owning its channel;
the handler reads it through `request.body.reader`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance

from spin_py.host.context import ComponentContext
from spin_py.host.linking import add_funcs, wasi
from spin_py.host.state import RequestState, current
from spin_py.host.table import Store
from spin_py.wasi.http import shapes
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.kinds import FUTURE_INCOMING_RESPONSE
from spin_py.wasi.http.request import OutgoingRequest, RequestOptions
from spin_py.wasi.http.response import FutureIncomingResponse

__all__ = [
    "DenyAll",
    "OutgoingHandler",
    "add_to_linker",
    "outgoing_handler",
    "use_outgoing_handler",
]

INTERFACE = "wasi:http/outgoing-handler"

log = logging.getLogger(__name__)


class OutgoingHandler(Protocol):
    """How one component's outbound HTTP requests are carried out."""

    def send_request(
        self, state: RequestState, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        """Start sending `request` for the request `state` serves; never blocks, never traps:
        the future resolves to the response or an error-code."""
        ...


class DenyAll:
    """Denies every outbound request with `HTTP-request-denied` (and logs it)."""

    def send_request(
        self, state: RequestState, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        log.error(
            "Outbound network destination not allowed: %s://%s (component %s)",
            request.scheme or "http",
            request.authority or "",
            state.component_id,
        )
        if request.body is not None:
            request.body.reader.close(discard_writes=True)
        return FutureIncomingResponse.resolved(ErrorCode.denied())


@dataclass
class _Handler:
    handler: OutgoingHandler


def _deny_all(_ctx: ComponentContext) -> _Handler:
    return _Handler(DenyAll())


def use_outgoing_handler(ctx: ComponentContext, handler: OutgoingHandler) -> None:
    """Carry out `ctx`'s component's outbound requests with `handler` (at startup)."""
    ctx.ext(_Handler, _deny_all).handler = handler


def outgoing_handler(ctx: ComponentContext) -> OutgoingHandler:
    """The component's handler (`DenyAll` unless one was installed)."""
    return ctx.ext(_Handler, _deny_all).handler


def _handle(store: Store, request: Any, options: Any) -> Any:
    state = current()
    outgoing = state.table.take(store, request, OutgoingRequest)
    opts = None if options is None else state.table.take(store, options, RequestOptions)
    future = outgoing_handler(state.component).send_request(state, outgoing, opts)
    return shapes.HANDLE_RESULT.ok(state.table.push(future, FUTURE_INCOMING_RESPONSE))


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:http/outgoing-handler` (`handle`) at WASI_VERSION."""
    with root.add_instance(wasi(INTERFACE)) as instance:
        add_funcs(instance, {"handle": _handle})
