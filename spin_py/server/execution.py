"""One guest call serving one request: the execution path shared by HTTP and chained requests.

`Execution.start` installs the request's `Exchange` (where `response-outparam.set` and the
response body go) and runs the component's `handle` through the `Invoker`. Whoever serves the
request then awaits `head()` (the response head, or None for the empty `500` a failed call
gets) and, once it attached the body to its writer, `body_end()`. An aiohttp request writes
the body to the client (`bridge`); a service-chained request hands it to the calling guest
(`chaining`). `close()` ends the exchange: a guest still writing sees its stream closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from spin_py.host.state import RequestState
from spin_py.host.streams import StreamFailed
from spin_py.runtime.invoke import Invoker, Outcome
from spin_py.runtime.loader import LoadedComponent
from spin_py.runtime.scheduler import Slot
from spin_py.server.exchange import BodyEnd, Exchange, Head, ResponseBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.hooks import HttpHooks
from spin_py.wasi.http.kinds import INCOMING_REQUEST, RESPONSE_OUTPARAM
from spin_py.wasi.http.request import IncomingRequest
from spin_py.wasi.http.response import ResponseOutparam

__all__ = ["NO_RESPONSE", "Execution", "body_forbidden", "drain", "first_of"]

log = logging.getLogger("spin_py.server.bridge")

NO_RESPONSE = "guest failed to produce a response prior to returning"


class Execution:
    """A running guest call and the exchange its response comes through."""

    def __init__(self, component_id: str, exchange: Exchange, call: asyncio.Task[Outcome]) -> None:
        self.component_id = component_id
        self.exchange = exchange
        self.call = call

    @classmethod
    def start(
        cls,
        invoker: Invoker,
        loaded: LoadedComponent,
        state: RequestState,
        guest_request: IncomingRequest,
        *,
        nested: bool = False,
        slot: Slot | None = None,
    ) -> Execution:
        """Start `loaded`'s handler for `guest_request` (on the loop; returns at once), in
        the request `slot` the caller took (see `Invoker.invoke`)."""
        exchange = Exchange(state)
        state.ext(HttpHooks).response_body = exchange.body_for

        def make_args(st: RequestState) -> tuple[Any, ...]:
            return (
                st.table.push(guest_request, INCOMING_REQUEST),
                st.table.push(ResponseOutparam(exchange), RESPONSE_OUTPARAM),
            )

        call = asyncio.ensure_future(
            invoker.invoke(loaded, state, make_args, nested=nested, slot=slot)
        )
        if slot is not None:  # a call cancelled before it started never reaches the Invoker
            call.add_done_callback(lambda _call: slot.leave())
        return cls(loaded.id, exchange, call)

    def track(self, calls: set[asyncio.Task[Outcome]]) -> Execution:
        """Keep the call in `calls` while it runs (for shutdown)."""
        calls.add(self.call)
        self.call.add_done_callback(calls.discard)
        return self

    async def head(self) -> Head | None:
        """The response head; None when the call ended without one or the guest set an
        error (logged here, unless the Invoker already logged the failure)."""
        await first_of(self.exchange.head, self.call)
        if not self.exchange.head.done():
            if self.call.result().clean_exit:
                log.error('component "%s": %s', self.component_id, NO_RESPONSE)
            return None
        head = self.exchange.head.result()
        if isinstance(head, ErrorCode):
            log.error('component "%s" responded with an error: %s', self.component_id, head)
            return None
        return head

    async def body_end(self, head: Head, body: ResponseBody) -> BodyEnd | None:
        """How the body ended: finished/aborted by the guest, or left open by a call that ended
        (a clean end finishes it, a failure leaves it unfinished: None)."""
        ended = asyncio.wrap_future(body.ended)
        await first_of(ended, self.call)
        if ended.done():
            return ended.result()
        ended.cancel()
        if not self.call.result().clean_exit:
            return None
        outgoing = head.outgoing
        if outgoing is not None and not outgoing.complete:
            return BodyEnd(aborted=ErrorCode.response_body_size(outgoing.written or 0))
        return BodyEnd()

    def cut_reason(self, end: BodyEnd | None) -> str:
        """Why a response body is incomplete, for the log."""
        if end is not None and end.aborted is not None:
            return f"the body was aborted ({end.aborted})"
        outcome = self.call.result() if self.call.done() else None
        return f"the guest call ended: {outcome.kind.value}" if outcome else "the guest failed"

    def cancel(self) -> None:
        """Nobody waits for the response any more: end the guest's blocking host calls."""
        self.call.cancel()

    def close(self) -> None:
        """The request is over: no response body can take more bytes."""
        self.exchange.close()


async def drain(body: ResponseBody) -> bool:
    """Wait until the guest's bytes have reached the writer; False if writing failed."""
    try:
        await body.drain()
    except StreamFailed:
        return False
    return True


async def first_of(*futures: asyncio.Future[Any]) -> None:
    """Wait until at least one of `futures` is done (none is cancelled)."""
    await asyncio.wait(set(futures), return_when=asyncio.FIRST_COMPLETED)


def body_forbidden(method: str, status: int) -> bool:
    """HEAD responses and 1xx/204/304 carry no body on the wire."""
    return method == "HEAD" or status < 200 or status in (204, 304)
