"""Host objects behind `outgoing-response`, `incoming-response` and `response-outparam`.

`response-outparam.set` is how a guest answers: the `ResponseOutparam` passes the
`OutgoingResponse` (or the guest's `error-code`) to a `ResponseSink`, which the request bridge
implements by handing status and headers to the event loop. The outparam is owned by the
guest and consumed by `set`, so a second `set` is impossible; a guest that never calls it is
detected by the bridge when `handle` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from spin_py.host.pollable import CallbackPollable, Pollable
from spin_py.wasi.http.body import BodyTarget, IncomingBody, OutgoingBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields

__all__ = [
    "FutureIncomingResponse",
    "IncomingResponse",
    "InvalidContentLength",
    "OutgoingResponse",
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

    def take_body(self, target: BodyTarget) -> OutgoingBody | None:
        """The body writing to `target` the first time; None afterwards.

        Raises InvalidContentLength when the headers declare an unusable length.
        """
        if self.body_taken:
            return None
        length = content_length(self.headers)
        self.body_taken = True
        self.body = OutgoingBody(target, length, "response")
        return self.body


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


class ResponseSink(Protocol):
    """Receives the guest's answer (implemented by the request bridge)."""

    def respond(self, response: OutgoingResponse) -> None:
        """The guest set a response: send its status and headers now."""
        ...

    def fail(self, error: ErrorCode) -> None:
        """The guest set an error instead of a response."""
        ...


class ResponseOutparam:
    """`response-outparam`: forwards the one `set` to its sink."""

    def __init__(self, sink: ResponseSink) -> None:
        self._sink = sink
        self.used = False

    def set(self, outcome: OutgoingResponse | ErrorCode) -> None:
        """Deliver the guest's response (or error) to the sink."""
        self.used = True
        if isinstance(outcome, ErrorCode):
            self._sink.fail(outcome)
        else:
            self._sink.respond(outcome)


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
