"""Host objects behind `outgoing-response`, `incoming-response` and `response-outparam`.

`response-outparam.set` is how a guest answers, and the one place the response crosses from the
WASI layer to the embedder (as wasmtime's `new_response_outparam` does it): whoever serves the
request creates the `ResponseOutparam` with a one-shot future (`ResponseSink`), hands the guest
its handle, and awaits the future on the event loop. `set` delivers exactly one message: a
`ResponseHead` (status, headers, and the reader end of the body's channel, if the guest asked
for a body) or the guest's `error-code`. The outparam is owned by the guest and consumed by
`set`, so a second `set` is impossible; a guest that never calls it is detected by the server
when `handle` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from spin_py.host.pollable import CallbackPollable, Pollable
from spin_py.host.state import RequestState, current
from spin_py.wasi.http.body import BodyReader, IncomingBody, OutgoingBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields

__all__ = [
    "FutureIncomingResponse",
    "IncomingResponse",
    "InvalidContentLength",
    "OutgoingResponse",
    "ResponseHead",
    "ResponseMessage",
    "ResponseOutparam",
    "ResponseSink",
    "content_length",
    "valid_status",
]


class InvalidContentLength(ValueError):
    """The `content-length` header is present but not one non-negative integer."""


def valid_status(code: int) -> bool:
    """True for a status code the `http` crate accepts (100 ..= 999)."""
    return 100 <= code <= 999


def content_length(headers: Fields) -> int | None:
    """The declared `content-length` (None when absent); raises InvalidContentLength."""
    values = {v.strip() for v in headers.get("content-length")}
    if not values:
        return None
    if len(values) != 1:
        raise InvalidContentLength("conflicting content-length values")
    text = values.pop()
    if not text.isdigit():
        raise InvalidContentLength(f"invalid content-length {text!r}")
    return int(text)


@dataclass
class OutgoingResponse:
    """The response a guest builds; status 200 until `set-status-code` changes it."""

    headers: Fields
    status: int = 200
    body: OutgoingBody | None = None
    body_taken: bool = field(default=False)

    def __post_init__(self) -> None:
        self.headers.freeze()

    def set_status(self, code: int) -> bool:
        """Set the status; False (unchanged) when it is not a valid status code."""
        if not valid_status(code):
            return False
        self.status = code
        return True

    def take_body(self, state: RequestState) -> OutgoingBody | None:
        """The response's body (with its channel) the first time; None afterwards.

        Raises InvalidContentLength when the headers declare an unusable length.
        """
        if self.body_taken:
            return None
        length = content_length(self.headers)
        self.body_taken = True
        self.body = OutgoingBody(state, length, "response")
        return self.body

    def head(self) -> ResponseHead:
        """What `response-outparam.set` delivers for this response."""
        reader = None if self.body is None else self.body.reader
        return ResponseHead(self.status, self.headers.entries(), reader)


@dataclass
class IncomingResponse:
    """A response to an outbound request, as the guest reads it."""

    status: int
    headers: Fields
    body: IncomingBody | None

    def __post_init__(self) -> None:
        self.headers.freeze()

    def consume(self) -> IncomingBody | None:
        """The body the first time; None afterwards."""
        body, self.body = self.body, None
        return body


@dataclass(frozen=True)
class ResponseHead:
    """The guest's response as `response-outparam.set` delivers it."""

    status: int
    headers: list[tuple[str, bytes]]
    body: BodyReader | None
    """Where the body's bytes are read (None: the guest never asked for a body)."""


ResponseMessage: TypeAlias = ResponseHead | ErrorCode
"""The one message `response-outparam.set` delivers: the response, or the guest's error."""

ResponseSink: TypeAlias = "asyncio.Future[ResponseMessage]"
"""The one-shot future the server creates per request and awaits on its event loop."""


def _settle(sink: ResponseSink, message: ResponseMessage) -> None:
    if not sink.done():
        sink.set_result(message)


class ResponseOutparam:
    """`response-outparam`: delivers the guest's one `set` to its sink (from the guest thread,
    with one hand-off to the sink's event loop)."""

    def __init__(self, sink: ResponseSink) -> None:
        self._sink = sink

    def set(self, outcome: OutgoingResponse | ErrorCode) -> None:
        """Deliver the guest's response (or error) to the sink."""
        message = outcome if isinstance(outcome, ErrorCode) else outcome.head()
        current().post(_settle, self._sink, message)  # with the guest's other hand-offs


ResponseOutcome = IncomingResponse | ErrorCode
"""How an outbound request ended: the response, or the error-code that ended it."""


class FutureIncomingResponse:
    """`future-incoming-response`: resolves to a `ResponseOutcome`, handed out once."""

    def __init__(self, poll: Callable[[], ResponseOutcome | None]) -> None:
        self._poll = poll
        self._taken = False

    @classmethod
    def resolved(cls, outcome: ResponseOutcome) -> FutureIncomingResponse:
        """A future that is already resolved (e.g. a denied request)."""
        return cls(lambda: outcome)

    def subscribe(self) -> Pollable:
        """Ready once the outcome is known (or was already taken)."""
        return CallbackPollable(lambda: self._taken or self._poll() is not None)

    def get(self) -> ResponseOutcome | Literal["taken"] | None:
        """None while pending; the outcome the first time; `"taken"` afterwards."""
        if self._taken:
            return "taken"
        outcome = self._poll()
        if outcome is not None:
            self._taken = True
        return outcome
