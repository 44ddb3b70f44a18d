"""Outgoing request bodies: the guest writes them, the HTTP client (or a chained component) reads.

`RequestBody` is the `BodyTarget` behind `outgoing-request.body`. The guest's output stream is a
`PushOutputStream` whose sink hands each batch of bytes to a `ByteChannel`; the consumer (the
aiohttp client's async-iterator body, or a chained component's request stream) takes them with
`chunks()`. The channel holds one batch and a sink call returns only once there is room, so a
slow upstream slows the guest down (backpressure) and at most the stream's capacity plus one
batch is buffered.

`finish` ends the body once every accepted byte went through; `abort` (a content-length
mismatch, a body dropped unfinished) makes the consumer fail with that error-code, so the
request never looks complete upstream. `detach` (the request was denied or failed) closes the
channel: guest writes are then dropped instead of blocking forever, and the failure reaches the
guest through the response future only. Request trailers are dropped: aiohttp's
client cannot send them.

`ByteChannel` is also how a service-chained component's response body reaches its caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable

from spin_py.host.channels import PushOutputStream
from spin_py.host.state import RequestState
from spin_py.host.streams import OutputStream, StreamFailed
from spin_py.outbound.errors import OutboundError
from spin_py.outbound.response import error_code_from
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields

__all__ = ["REQUEST_BODY_CAPACITY", "ByteChannel", "ChannelClosed", "RequestBody"]

log = logging.getLogger("spin_py.wasi.http.outbound")

REQUEST_BODY_CAPACITY = 256 * 1024
"""Bytes of request body the guest may have written that the consumer has not taken yet."""


class ChannelClosed(Exception):
    """The reader of a `ByteChannel` has gone: nothing more can be written."""


class ByteChannel:
    """A one-slot hand-off of byte chunks between two tasks of the event loop.

    The writer `put`s (waiting while the slot is full) and `end`s the stream, with an exception
    for the reader if it failed; the reader `get`s (None at the end) and may `close` early, after
    which `put` raises `ChannelClosed`. Only use it on the loop.
    """

    def __init__(self, *, discard_after_close: bool = False) -> None:
        self._discard_after_close = discard_after_close
        self._items: deque[bytes] = deque()
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False
        self._event: asyncio.Event | None = None

    @property
    def ended(self) -> bool:
        """True once the writer ended the stream (normally or with an error)."""
        return self._ended

    @property
    def reader_gone(self) -> bool:
        """True once the reader closed the channel."""
        return self._closed

    async def put(self, data: bytes) -> None:
        """Hand over `data`; waits until the reader took the previous chunk."""
        while self._items and not self._closed:
            await self._wait()
        if self._closed and self._discard_after_close:
            return
        if self._closed or self._ended:
            raise ChannelClosed("the body's reader has gone")
        self._items.append(data)
        self._wake()

    def end(self, error: BaseException | None = None) -> None:
        """No more chunks: the reader sees the end, or `error` once the queue is empty."""
        if not self._ended:
            self._ended, self._error = True, error
            self._wake()

    async def get(self) -> bytes | None:
        """The next chunk; None at the end (or after `close`); raises the writer's error."""
        while not self._items:
            if self._error is not None:
                raise self._error
            if self._ended or self._closed:
                return None
            await self._wait()
        data = self._items.popleft()
        self._wake()
        return data

    def close(self) -> None:
        """The reader has gone: queued chunks are dropped and further `put`s fail."""
        self._closed = True
        self._items.clear()
        self._wake()

    def _wake(self) -> None:
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def _wait(self) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        await self._event.wait()


class RequestBody:
    """A `BodyTarget` for one outgoing request (see the module docstring)."""

    def __init__(self, state: RequestState, capacity: int = REQUEST_BODY_CAPACITY) -> None:
        self._state = state
        self._capacity = capacity
        # Once the request failed, the guest's writes are dropped rather than failed: the
        # failure reaches the guest once, through the response future (guests such as the Spin
        # SDK write the body and await the response concurrently).
        self.channel = ByteChannel(discard_after_close=True)
        self.stream: PushOutputStream | None = None

    # BodyTarget, called in the guest thread.

    def open_stream(self) -> OutputStream:
        self.stream = PushOutputStream(
            self._state, self.channel.put, self._capacity, error_detail=_write_error
        )
        return self.stream

    def finish(self, trailers: Fields | None) -> None:
        if trailers is not None and len(trailers):
            log.debug("dropping %d outgoing request trailer(s): not supported", len(trailers))
        if self.stream is not None:
            self.stream.close()
        self._on_loop(self._end_after_drain)

    def abort(self, reason: ErrorCode) -> None:
        if self.stream is not None:
            self.stream.abort()
        error = OutboundError(reason.case, reason.payload, f"request body aborted: {reason}")
        self._on_loop(lambda: self.channel.end(error))

    # The consumer side, on the loop.

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as the guest writes it; raises `OutboundError` if the guest aborted it."""
        try:
            while (data := await self.channel.get()) is not None:
                yield data
        finally:
            self.channel.close()

    def detach(self) -> None:
        """Nobody will read this body (the request was denied or failed); any thread. Further
        guest writes are accepted and dropped."""
        self._on_loop(self.channel.close)

    def _end_after_drain(self) -> None:
        self._state.loop.create_task(self._drain_then_end())

    async def _drain_then_end(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(StreamFailed):
                await self.stream.drain()
        self.channel.end()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        try:
            self._state.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is closed: the server is going away
            log.debug("event loop closed; outgoing request body dropped")


def _write_error(exc: BaseException) -> ErrorCode:
    """The wasi:http error behind a failed request-body write: the request is gone."""
    if isinstance(exc, OutboundError):
        return error_code_from(exc)
    return ErrorCode.connection_terminated()
