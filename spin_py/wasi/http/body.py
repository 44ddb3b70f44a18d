"""Host objects behind `incoming-body`, `future-trailers` and `outgoing-body`.

Bodies are byte streams with once-only rules: `incoming-body.stream` and `outgoing-body.write`
hand out their stream once (later calls return `err`). An incoming body ends in a
`future-trailers`; an outgoing body ends with `finish` (optionally with trailers) or, when the
guest drops it unfinished, is treated as corrupted: the message is aborted.

Where outgoing bytes go is a `BodyTarget` (the response being sent to a client, later an
outbound request): it supplies the output stream and hears `finish` / `abort`. A declared
`content-length` is enforced here, as wasmtime does: writing past it fails the stream with
`HTTP-response-body-size` (or `-request-`), and finishing short of it returns that error and
aborts the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from spin_py.host.pollable import CallbackPollable, Pollable
from spin_py.host.streams import InputStream, OutputStream, StreamFailed
from spin_py.wasi.http.errors import ErrorCode, io_error
from spin_py.wasi.http.fields import Fields

__all__ = [
    "BodyTarget",
    "FutureTrailers",
    "IncomingBody",
    "LengthCheckedStream",
    "OutgoingBody",
    "TrailersOutcome",
]

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


class BodyTarget(Protocol):
    """Where an outgoing body's bytes go; implemented by whoever sends the message."""

    def open_stream(self) -> OutputStream:
        """The stream the guest writes the body to (asked for once)."""
        ...

    def finish(self, trailers: Fields | None) -> None:
        """Every byte has been written: complete the message, with trailers if given."""
        ...

    def abort(self, reason: ErrorCode) -> None:
        """The body is corrupt or incomplete: the message must not look complete."""
        ...


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
        total = self.written + len(data)
        if total > self._limit:
            code = self._on_overflow(total)
            raise StreamFailed(io_error(f"body exceeds its content-length of {self._limit}", code))
        self._inner.write(data)
        self.written = total

    def flush(self) -> None:
        self._inner.flush()

    def blocking_flush(self) -> None:
        self._inner.blocking_flush()

    def subscribe(self) -> Pollable:
        return self._inner.subscribe()


class OutgoingBody:
    """`outgoing-body`: `write` once, then `finish` (or a drop, which aborts)."""

    def __init__(
        self, target: BodyTarget, content_length: int | None, kind: BodyKind = "response"
    ) -> None:
        self._target = target
        self._length = content_length
        self._kind = kind
        self._stream_taken = False
        self._checked: LengthCheckedStream | None = None
        self.done = False

    def take_stream(self) -> OutputStream | None:
        """The body's output stream the first time; None afterwards."""
        if self._stream_taken:
            return None
        self._stream_taken = True
        stream = self._target.open_stream()
        if self._length is None:
            return stream
        self._checked = LengthCheckedStream(stream, self._length, self._overflow)
        return self._checked

    @property
    def target(self) -> BodyTarget:
        """Where this body's bytes go."""
        return self._target

    @property
    def written(self) -> int | None:
        """Bytes written so far when a content-length is enforced (else None)."""
        return None if self._checked is None else self._checked.written

    @property
    def complete(self) -> bool:
        """True unless a content-length is enforced and not yet reached."""
        return self._length is None or (self.written or 0) == self._length

    def finish(self, trailers: Fields | None) -> ErrorCode | None:
        """Complete the body; returns the error-code if its length is wrong (then aborted)."""
        if self._length is not None:
            written = self.written or 0
            if written != self._length:
                code = self._size_error(written)
                self._abort(code)
                return code
        self.done = True
        self._target.finish(trailers)
        return None

    def on_drop(self) -> None:
        """The guest dropped the body without `finish`: the body is corrupted."""
        self._abort(ErrorCode.protocol())

    def _overflow(self, total: int) -> ErrorCode:
        code = self._size_error(total)
        self._abort(code)
        return code

    def _abort(self, code: ErrorCode) -> None:
        if not self.done:
            self.done = True
            self._target.abort(code)

    def _size_error(self, written: int) -> ErrorCode:
        if self._kind == "request":
            return ErrorCode.request_body_size(written)
        return ErrorCode.response_body_size(written)
