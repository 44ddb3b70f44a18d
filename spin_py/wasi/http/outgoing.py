"""`wasi:http/outgoing-handler`: the guest's outbound HTTP requests.

`handle(request, options)` returns a `future-incoming-response`. What happens to the request is
decided by an `Outbound`, made per request by the installed factory. The default is
`outbound_impl.outbound_for_request` (allowed_outbound_hosts, the HTTP client, self requests and
service chaining; see `spin_py.outbound.send`); `use_outbound` replaces it (tests), and
`DenyAll` resolves every future to `HTTP-request-denied` with Spin's log line
`Outbound network destination not allowed: <scheme>://<authority>`.

An `Outbound` also supplies where an outgoing request's body goes (`request_body`), because a
guest writes the body before (or while) the request is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance

from spin_py.host.linking import add_funcs, wasi
from spin_py.host.state import RequestState, current
from spin_py.host.table import Store
from spin_py.outbound.send import outbound_for_request
from spin_py.wasi.http import shapes
from spin_py.wasi.http.body import BodyTarget
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.hooks import DiscardTarget
from spin_py.wasi.http.kinds import FUTURE_INCOMING_RESPONSE
from spin_py.wasi.http.request import OutgoingRequest, RequestOptions
from spin_py.wasi.http.response import FutureIncomingResponse

__all__ = [
    "DenyAll",
    "Outbound",
    "OutboundFactory",
    "add_to_linker",
    "outbound_for",
    "use_outbound",
]

INTERFACE = "wasi:http/outgoing-handler"

log = logging.getLogger("spin_py.wasi.http.outgoing")


class Outbound(Protocol):
    """How one request's outbound HTTP calls are carried out."""

    def request_body(self, request: OutgoingRequest) -> BodyTarget:
        """Where the body the guest writes for `request` goes."""
        ...

    def send(
        self, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        """Start sending `request` (never blocks); the future resolves to the outcome."""
        ...


OutboundFactory = Callable[[RequestState], Outbound]


class DenyAll:
    """Denies every outbound request with `HTTP-request-denied` (and logs it)."""

    def __init__(self, component_id: str) -> None:
        self._component_id = component_id

    def request_body(self, request: OutgoingRequest) -> BodyTarget:
        return DiscardTarget()

    def send(
        self, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        log.error(
            "Outbound network destination not allowed: %s://%s (component %s)",
            request.scheme or "http",
            request.authority or "",
            self._component_id,
        )
        return FutureIncomingResponse.resolved(ErrorCode.denied())


_factory: OutboundFactory = outbound_for_request


def use_outbound(factory: OutboundFactory | None) -> None:
    """Install the process-wide outbound factory (None: back to the default)."""
    global _factory
    _factory = factory if factory is not None else outbound_for_request


@dataclass
class _OutboundSlot:
    outbound: Outbound


def outbound_for(state: RequestState) -> Outbound:
    """This request's `Outbound`, made by the installed factory on first use."""
    return state.ext(_OutboundSlot, lambda: _OutboundSlot(_factory(state))).outbound


def _handle(store: Store, request: Any, options: Any) -> Any:
    state = current()
    outgoing = state.table.take(store, request, OutgoingRequest)
    opts = None if options is None else state.table.take(store, options, RequestOptions)
    future = outbound_for(state).send(outgoing, opts)
    return shapes.HANDLE_RESULT.ok(state.table.push(future, FUTURE_INCOMING_RESPONSE))


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:http/outgoing-handler` (`handle`) at WASI_VERSION."""
    with root.add_instance(wasi(INTERFACE)) as instance:
        add_funcs(instance, {"handle": _handle})
