"""One guest call serving one request: the execution path shared by HTTP and chained requests.

`Execution.start` creates the request's response sink (a one-shot future on the event loop),
hands the guest the `incoming-request` and a `response-outparam` delivering to that sink, and
runs the component's `handle` through the `Invoker`. Whoever serves the request awaits `head()`
(the `ResponseHead` the guest set, or None for the empty `500` a failed call gets) and reads the
body through `head.body` (a `BodyReader`) until it ends: an aiohttp request writes it to the
client (`bridge`), a service-chained request hands it to the calling guest (`chaining`).

When the call ends, a body the guest left open is ended for it (`BodyReader.call_ended`): a
clean return completes it (unless it is short of its content-length), a failure aborts it.
`close()` says nobody reads the body any more: a guest still writing sees its stream closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from spin_py.host.state import RequestState
from spin_py.runtime.invoke import Invoker, Outcome
from spin_py.runtime.loader import LoadedComponent
from spin_py.runtime.scheduler import Slot
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.kinds import INCOMING_REQUEST, RESPONSE_OUTPARAM
from spin_py.wasi.http.request import IncomingRequest
from spin_py.wasi.http.response import ResponseHead, ResponseOutparam, ResponseSink

__all__ = ["NO_RESPONSE", "Execution", "body_forbidden", "first_of"]

log = logging.getLogger(__name__)

NO_RESPONSE = "guest failed to produce a response prior to returning"


class Execution:
    """A running guest call and the sink its response arrives in."""

    def __init__(
        self,
        component_id: str,
        sink: ResponseSink,
        call: asyncio.Future[Outcome],
        state: RequestState | None = None,
    ) -> None:
        self.component_id = component_id
        self.call = call
        self._sink = sink
        self._state = state
        call.add_done_callback(self._call_done)

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
        sink: ResponseSink = asyncio.get_running_loop().create_future()

        def make_args(st: RequestState) -> tuple[Any, ...]:
            return (
                st.table.push(guest_request, INCOMING_REQUEST),
                st.table.push(ResponseOutparam(sink), RESPONSE_OUTPARAM),
            )

        call = invoker.start(loaded, state, make_args, nested=nested, slot=slot)
        return cls(loaded.id, sink, call, state)

    def track(self, calls: set[asyncio.Future[Outcome]]) -> Execution:
        """Keep the call in `calls` while it runs (for shutdown)."""
        calls.add(self.call)
        self.call.add_done_callback(calls.discard)
        return self

    async def head(self) -> ResponseHead | None:
        """The response head; None when the call ended without one or the guest set an
        error (logged here, unless the Invoker already logged the failure)."""
        if not self._sink.done():
            await first_of(self._sink, self.call)
        if not self._sink.done():
            if self.call.result().clean_exit:
                log.error('component "%s": %s', self.component_id, NO_RESPONSE)
            return None
        message = self._sink.result()
        if isinstance(message, ErrorCode):
            log.error('component "%s" responded with an error: %s', self.component_id, message)
            return None
        if message.status < 200:  # informational: never a final response (docs/security.md)
            log.error(
                'component "%s" set the informational status %d as its final response; '
                "answering 500",
                self.component_id,
                message.status,
            )
            return None
        return message

    def cancel(self) -> None:
        """Nobody waits for the response any more: end the guest's blocking host calls now
        (its wasm at the next epoch check); the call ends CANCELLED."""
        if self._state is not None:
            self._state.cancel()  # at once: the guest may fail on a closed stream next
        self.call.cancel()

    def close(self) -> None:
        """The request is over: nobody reads the response body (now or once it arrives)."""
        self._sink.add_done_callback(_close_body)

    def _call_done(self, call: asyncio.Future[Outcome]) -> None:
        """End a body the guest left open (the response was delivered before the call ended:
        both hand-offs go through the loop in order)."""
        if not self._sink.done() or self._sink.cancelled():
            return
        message = self._sink.result()
        if isinstance(message, ResponseHead) and message.body is not None:
            message.body.call_ended(_failure(call))


def _failure(call: asyncio.Future[Outcome]) -> str | None:
    """Why the call failed (None: it returned or exited 0)."""
    if call.cancelled():
        return "the guest call was cancelled"
    if call.exception() is not None:
        return f"the guest call failed: {call.exception()!r}"
    outcome = call.result()
    return None if outcome.clean_exit else f"the guest call ended: {outcome.kind.value}"


def _close_body(sink: ResponseSink) -> None:
    if sink.cancelled():
        return
    message = sink.result()
    if isinstance(message, ResponseHead) and message.body is not None:
        message.body.close()


async def first_of(*futures: asyncio.Future[Any]) -> None:
    """Wait until at least one of `futures` is done (none is cancelled)."""
    await asyncio.wait(set(futures), return_when=asyncio.FIRST_COMPLETED)


def body_forbidden(method: str, status: int) -> bool:
    """HEAD responses and 1xx/204/304 carry no body on the wire."""
    return method == "HEAD" or status < 200 or status in (204, 304)
