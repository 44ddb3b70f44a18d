"""Host objects behind `incoming-body`, `future-trailers` and `outgoing-body`.

Bodies are byte streams with once-only rules: `incoming-body.stream` and `outgoing-body.write`
hand out their stream once (later calls return `err`). An incoming body ends in a
`future-trailers`; an outgoing body ends with `finish` (optionally with trailers) or, when the
guest drops it unfinished, is treated as corrupted: the message is aborted.

An `OutgoingBody` owns its bytes' channel (`spin_py.host.channels.ByteChannel`, bounded): the
guest writes into it from its thread, and whoever sends the message (the server for a response,
the outbound layer for a request, a calling component for a chained response) reads it on the
event loop through the body's `BodyReader`, the one object that crosses from the WASI layer to
its embedder. A declared `content-length` is enforced here, as wasmtime does: writing past it
fails the stream with `HTTP-response-body-size` (or `-request-`), and finishing short of it
returns that error and aborts the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from spin_py.host.channels import ByteChannel
from spin_py.host.pollable import CallbackPollable, Pollable
from spin_py.host.state import RequestState
from spin_py.host.streams import InputStream, OutputStream, StreamFailed
from spin_py.wasi.http.errors import ErrorCode, io_error
from spin_py.wasi.http.fields import Fields

__all__ = [
    "BODY_CAPACITY",
    "BodyAborted",
    "BodyReader",
    "FutureTrailers",
    "IncomingBody",
    "LengthCheckedStream",
    "OutgoingBody",
    "TrailersOutcome",
]

BODY_CAPACITY = 256 * 1024
"""Bytes of an outgoing body the guest may have written that its reader has not taken yet."""

BodyKind = Literal["request", "response"]


@dataclass(frozen=True)
class TrailersOutcome:
    """How a body ended: its trailers (None: there were none) or the error that ended it."""

    trailers: Fields | None = None
    error: ErrorCode | None = None


NO_TRAILERS = TrailersOutcome()


class FutureTrailers:
    """`future-trailers`: becomes ready with a `TrailersOutcome`, which `get` hands out once."""

    def __init__(self, poll: Callable[[], TrailersOutcome | None]) -> None:
        self._poll = poll
        self._taken = False

    @classmethod
    def ready(cls, outcome: TrailersOutcome = NO_TRAILERS) -> FutureTrailers:
        """A future that is already resolved (e.g. a body whose trailers cannot be seen)."""
        return cls(lambda: outcome)

    def subscribe(self) -> Pollable:
        """Ready once the outcome is known (or was already taken)."""
        return CallbackPollable(lambda: self._taken or self._poll() is not None)

    def get(self) -> TrailersOutcome | Literal["taken"] | None:
        """None while pending; the outcome the first time; `"taken"` afterwards."""
        if self._taken:
            return "taken"
        outcome = self._poll()
        if outcome is None:
            return None
        self._taken = True
        if outcome.trailers is not None:
            outcome.trailers.freeze()
        return outcome


class IncomingBody:
    """`incoming-body`: a stream handed out once, then `finish` -> `future-trailers`."""

    def __init__(self, stream: InputStream, trailers: Callable[[], FutureTrailers]) -> None:
        self._stream: InputStream | None = stream
        self._trailers = trailers

    def take_stream(self) -> InputStream | None:
        """The body's stream the first time; None afterwards."""
        stream, self._stream = self._stream, None
        return stream

    def finish(self) -> FutureTrailers:
        """The future for this body's trailers."""
        return self._trailers()


class LengthCheckedStream(OutputStream):
    """Passes writes through, failing the stream once more than `limit` bytes are written.

    `on_overflow(total)` is told the would-be total and returns the error-code to report.
    """

    def __init__(
        self, inner: OutputStream, limit: int, on_overflow: Callable[[int], ErrorCode]
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._on_overflow = on_overflow
        self.written = 0

    def check_write(self) -> int:
        return self._inner.check_write()

    def write(self, data: bytes) -> None:
        total = self._check(len(data))
        self._inner.write(data)
        self.written = total

    def blocking_write_and_flush(self, data: bytes) -> None:
        total = self._check(len(data))
        self._inner.blocking_write_and_flush(data)
        self.written = total

    def _check(self, size: int) -> int:
        total = self.written + size
        if total > self._limit:
            code = self._on_overflow(total)
            raise StreamFailed(io_error(f"body exceeds its content-length of {self._limit}", code))
        return total

    def flush(self) -> None:
        self._inner.flush()

    def blocking_flush(self) -> None:
        self._inner.blocking_flush()

    def subscribe(self) -> Pollable:
        return self._inner.subscribe()


class BodyAborted(Exception):
    """An outgoing body ended incomplete: `code` is the error-code that ended it."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class OutgoingBody:
    """`outgoing-body`: `write` once, then `finish` (or a drop, which aborts).

    Created by `outgoing-response.body` / `outgoing-request.body` in the guest thread, with its
    channel; `reader` is the end its message's sender reads.
    """

    def __init__(
        self,
        state: RequestState,
        content_length: int | None,
        kind: BodyKind = "response",
        capacity: int = BODY_CAPACITY,
    ) -> None:
        self._channel = ByteChannel(state, capacity)
        self._length = content_length
        self._kind = kind
        self._stream_taken = False
        self._checked: LengthCheckedStream | None = None
        self.trailers: Fields | None = None
        """The trailers `finish` was given (read by the reader once the body ended)."""
        self.done = False
        self.reader = BodyReader(self, self._channel)

    def take_stream(self) -> OutputStream | None:
        """The body's output stream the first time; None afterwards."""
        if self._stream_taken:
            return None
        self._stream_taken = True
        if self._length is None:
            return self._channel
        self._checked = LengthCheckedStream(self._channel, self._length, self._overflow)
        return self._checked

    @property
    def written(self) -> int | None:
        """Bytes written so far when a content-length is enforced (else None)."""
        return None if self._checked is None else self._checked.written

    @property
    def complete(self) -> bool:
        """True unless a content-length is enforced and not yet reached."""
        return self._length is None or (self.written or 0) == self._length

    def finish(self, trailers: Fields | None) -> ErrorCode | None:
        """Complete the body; returns the error-code if its length is wrong (then aborted).

        As in wasmtime, finishing ends the body's stream: later writes see `closed`.
        """
        if self._length is not None:
            written = self.written or 0
            if written != self._length:
                code = self.size_error(written)
                self.abort(code)
                return code
        if not self.done:
            self.done = True
            self.trailers = trailers
            self._channel.finish()
        return None

    def on_drop(self) -> None:
        """The guest dropped the body without `finish`: the body is corrupted."""
        self.abort(ErrorCode.protocol())

    def abort(self, code: ErrorCode, reason: str | None = None) -> None:
        """End the body as broken: its reader gets `BodyAborted` after the bytes written."""
        if not self.done:
            self.done = True
            self._channel.abort(BodyAborted(code, reason or f"the body was aborted ({code})"))

    def _overflow(self, total: int) -> ErrorCode:
        code = self.size_error(total)
        self.abort(code)
        return code

    def size_error(self, written: int) -> ErrorCode:
        if self._kind == "request":
            return ErrorCode.request_body_size(written)
        return ErrorCode.response_body_size(written)


class BodyReader:
    """The reader end of an `OutgoingBody`, used on the event loop by the message's sender."""

    def __init__(self, body: OutgoingBody, channel: ByteChannel) -> None:
        self._body = body
        self._channel = channel

    async def read(self) -> bytes | None:
        """Every byte written since the last read, at once (waits while there are none); None
        once the body finished. Raises `BodyAborted` once the body was aborted."""
        return await self._channel.read()

    def read_nowait(self) -> tuple[bytes, bool] | None:
        """`read` without waiting: (the bytes written so far, whether the body finished), or
        None when there is nothing yet. Raises `BodyAborted` like `read`."""
        return self._channel.read_nowait()

    @property
    def trailers(self) -> Fields | None:
        """The trailers the guest finished the body with (after `read` returned None)."""
        return self._body.trailers

    def close(self, failure: ErrorCode | None = None, *, discard_writes: bool = False) -> None:
        """Nobody reads the body any more (any thread). The guest's next write reports
        `failure` once (e.g. `connection-terminated`: the client went away), then `closed`;
        with `discard_writes` its writes are accepted and dropped instead."""
        error = (
            None if failure is None else io_error(f"the body's reader failed: {failure}", failure)
        )
        self._channel.close_reader(error, discard_writes=discard_writes)

    def call_ended(self, failure: str | None) -> None:
        """The guest call is over (event loop): end a body it left open. After a clean end
        (`failure` None) the body is complete, as in wasmtime when the store goes away, unless
        it is short of its content-length (then aborted with the size error); after a failed
        call it is aborted, `failure` saying why."""
        body = self._body
        if body.done:
            return
        if failure is not None:
            body.abort(ErrorCode.internal(failure), failure)
        elif body.complete:
            body.finish(None)
        else:
            body.abort(body.size_error(body.written or 0))
