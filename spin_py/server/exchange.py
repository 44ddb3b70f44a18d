"""The hand-off between one guest call (worker thread) and its aiohttp request (event loop).

The guest answers through `wasi:http/types`: `outgoing-response.body` asks `Exchange.body_for`
for a `ResponseBody` (the guest may write before it sets the response), and
`response-outparam.set` calls `Exchange.respond` / `Exchange.fail`. Those run in the guest
thread; they only hand values to the loop (`call_soon_threadsafe`, concurrent futures), never
touch aiohttp.

On the loop, the bridge awaits `Exchange.head` (or the end of the call), prepares the aiohttp
response, `attach`es it to the `ResponseBody`, and awaits `ResponseBody.ended`. Body bytes go
out through a `PushOutputStream` whose sink waits until a writer is attached, then writes:
bounded buffering, backpressure from the client to the guest. The writer is any `BodyWriter`:
the aiohttp response, or the channel to a guest that called this one (service chaining).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass
from typing import Protocol

from spin_py.host.channels import PushOutputStream
from spin_py.host.state import RequestState
from spin_py.host.streams import OutputStream, StreamClosed
from spin_py.wasi.http.body import OutgoingBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.response import OutgoingResponse

__all__ = ["BODY_CAPACITY", "BodyEnd", "BodyWriter", "Exchange", "Head", "ResponseBody"]

BODY_CAPACITY = 256 * 1024
"""Bytes of response body the guest may have written that the client has not taken yet."""


class BodyWriter(Protocol):
    """Where a response body goes (`aiohttp.web.StreamResponse` is one)."""

    async def write(self, data: bytes) -> None:
        """Send `data`; returning means it was taken."""
        ...


@dataclass(frozen=True)
class Head:
    """What `response-outparam.set` delivered: status, headers, and the body (if any)."""

    status: int
    headers: list[tuple[str, bytes]]
    body: ResponseBody | None
    """Where the guest's body bytes arrive (None: `outgoing-response.body` was never called)."""
    outgoing: OutgoingBody | None
    """The guest's `outgoing-body` (knows the declared length and the bytes written)."""


@dataclass(frozen=True)
class BodyEnd:
    """How the guest ended a response body: finished (with trailers) or aborted."""

    trailers: Fields | None = None
    aborted: ErrorCode | None = None


class ResponseBody:
    """A `BodyTarget` for one outgoing response: guest writes reach the attached response."""

    def __init__(self, state: RequestState, capacity: int = BODY_CAPACITY) -> None:
        self._state = state
        self._capacity = capacity
        self._attached: concurrent.futures.Future[BodyWriter | None] = concurrent.futures.Future()
        self.ended: concurrent.futures.Future[BodyEnd] = concurrent.futures.Future()
        self.stream: PushOutputStream | None = None

    # BodyTarget, called in the guest thread.

    def open_stream(self) -> OutputStream:
        self.stream = PushOutputStream(
            self._state, self._sink, self._capacity, error_detail=_terminated
        )
        return self.stream

    def finish(self, trailers: Fields | None) -> None:
        self._end(BodyEnd(trailers=trailers))
        if self.stream is not None:
            self.stream.close()  # as in wasmtime, finishing ends the body's stream

    def abort(self, reason: ErrorCode) -> None:
        self._end(BodyEnd(aborted=reason))
        if self.stream is not None:
            self.stream.close()  # bytes written before the abort still go out, then the cut

    # The loop side.

    def attach(self, writer: BodyWriter | None) -> None:
        """Start delivering bytes to `writer` (None: drop them, e.g. for HEAD)."""
        if not self._attached.done():
            self._attached.set_result(writer)

    def detach(self) -> None:
        """No more bytes will be delivered: guest writes fail from now on (queued ones are
        dropped; a body that was never attached never will be)."""
        if not self._attached.done():
            self._attached.set_exception(StreamClosed())
        if self.stream is not None:
            self.stream.abort()

    async def drain(self) -> None:
        """Wait until every byte the guest wrote has gone to the response."""
        if self.stream is not None:
            await self.stream.drain()

    def _end(self, end: BodyEnd) -> None:
        if not self.ended.done():
            self.ended.set_result(end)

    async def _sink(self, data: bytes) -> None:
        writer = await asyncio.wrap_future(self._attached)
        if writer is not None:
            await writer.write(data)


def _terminated(exc: BaseException) -> ErrorCode:
    """The wasi:http error behind a failed response write: the client went away."""
    return ErrorCode.connection_terminated()


class Exchange:
    """One request's `ResponseSink` and response-body factory."""

    def __init__(self, state: RequestState) -> None:
        self._state = state
        self._loop = state.loop
        self.head: asyncio.Future[Head | ErrorCode] = self._loop.create_future()
        self._bodies: list[ResponseBody] = []
        self._lock = threading.Lock()
        self._closed = False

    def body_for(self, response: OutgoingResponse) -> ResponseBody:
        """`HttpHooks.response_body`: a new body target for `response` (guest thread).

        After `close` the body can never be sent: it is detached at once.
        """
        body = ResponseBody(self._state)
        with self._lock:
            closed = self._closed
            self._bodies.append(body)
        if closed:
            body.detach()
        return body

    def respond(self, response: OutgoingResponse) -> None:
        """`response-outparam.set(ok(response))`, from the guest thread."""
        outgoing = response.body
        target = outgoing.target if outgoing is not None else None
        body = target if isinstance(target, ResponseBody) else None
        head = Head(response.status, response.headers.entries(), body, outgoing)
        self._deliver(head)

    def fail(self, error: ErrorCode) -> None:
        """`response-outparam.set(err(error))`, from the guest thread."""
        self._deliver(error)

    def close(self) -> None:
        """The request is over (the response, if any, is complete or cut): no body can take
        more bytes; a guest still writing sees its stream closed instead of blocking."""
        with self._lock:
            self._closed = True
            bodies = list(self._bodies)
        for body in bodies:
            body.detach()

    def _deliver(self, value: Head | ErrorCode) -> None:
        def settle() -> None:
            if not self.head.done():
                self.head.set_result(value)

        self._loop.call_soon_threadsafe(settle)
