"""What a guest gets back from `outgoing-handler.handle`: the future, the response, its body.

- `PendingResponse` is a `future-incoming-response` resolved by a task on the event loop. It is
  a real pollable: the task's completion wakes the guest's `poll`. Dropping it before it is
  resolved cancels the task (the request is abandoned); a response nobody took is closed.
- `incoming_response(...)` builds the `incoming-response` from a status, the headers off the
  wire and a `next_chunk` source: headers become immutable fields without the names wasmtime
  forbids (hop-by-hop and `host`), and the body streams on demand through a `PullInputStream`
  (its failures reach the guest as `last-operation-failed` carrying the error-code).
  `future-trailers` resolves to "no trailers" (aiohttp's client discards them).
  `release` (closing the upstream response, returning its connection to the pool or closing
  it) runs once the guest drops the response, its body or the body's stream unread, or at the
  end of the request.
- `error_code_from(OutboundError)` lowers an outbound failure to the WIT `error-code`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable

from wasmtime.component import Record

from spin_py.host.channels import NextChunk, PullInputStream, describe
from spin_py.host.state import RequestState
from spin_py.outbound.errors import DnsErrorPayload, OutboundError, TlsAlertPayload
from spin_py.wasi.http.body import FutureTrailers, IncomingBody
from spin_py.wasi.http.errors import ERROR_CODE_CASES, ErrorCode
from spin_py.wasi.http.fields import FORBIDDEN_HEADERS, Fields
from spin_py.wasi.http.response import FutureIncomingResponse, IncomingResponse, ResponseOutcome

__all__ = [
    "OutboundIncomingResponse",
    "PendingResponse",
    "error_code_from",
    "incoming_response",
]

Release = Callable[[], None]
"""Closes the upstream response behind an incoming-response (any thread, idempotent)."""


def error_code_from(error: OutboundError) -> ErrorCode:
    """The `error-code` for an outbound failure, payload lowered to wasmtime values."""
    if error.code not in ERROR_CODE_CASES:
        return ErrorCode.internal(f"{error.code}: {error}")
    payload = error.payload
    if isinstance(payload, DnsErrorPayload):
        return ErrorCode(error.code, _record(rcode=payload.rcode, info_code=payload.info_code))
    if isinstance(payload, TlsAlertPayload):
        record = _record(alert_id=payload.alert_id, alert_message=payload.alert_message)
        return ErrorCode(error.code, record)
    return ErrorCode(error.code, payload)


def _record(**fields: object) -> Record:
    record = Record()
    for name, value in fields.items():
        setattr(record, name.replace("_", "-"), value)
    return record


def read_error(exc: BaseException) -> ErrorCode:
    """The error-code behind a failed read of an outbound response body."""
    if isinstance(exc, OutboundError):
        return error_code_from(exc)
    return ErrorCode("HTTP-response-incomplete")


class _ResponseStream(PullInputStream):
    """The body stream of an outbound response; closing it releases the response."""

    def __init__(self, state: RequestState, next_chunk: NextChunk, release: Release) -> None:
        super().__init__(state, next_chunk, error_detail=read_error)
        self._release = release

    def close(self) -> None:
        super().close()
        self._release()


class _ResponseBody(IncomingBody):
    """`incoming-body` of an outbound response: releases it if its stream is never taken."""

    def __init__(self, stream: _ResponseStream, release: Release) -> None:
        super().__init__(stream, FutureTrailers.ready)
        self._release = release
        self._stream_taken = False

    def take_stream(self) -> _ResponseStream | None:
        stream = super().take_stream()
        if stream is not None:
            self._stream_taken = True
        return stream  # type: ignore[return-value]

    def finish(self) -> FutureTrailers:
        self.on_drop()
        return super().finish()

    def on_drop(self) -> None:
        if not self._stream_taken:
            self._release()

    def close(self) -> None:
        self.on_drop()


class OutboundIncomingResponse(IncomingResponse):
    """`incoming-response` of an outbound request; releases it if its body is never taken."""

    def __init__(self, status: int, headers: Fields, body: IncomingBody, release: Release) -> None:
        super().__init__(status, headers, body)
        self._release = release

    def on_drop(self) -> None:
        if self.body is not None:
            self._release()

    def close(self) -> None:
        self.on_drop()


def incoming_response(
    state: RequestState,
    status: int,
    headers: Iterable[tuple[str, bytes]],
    next_chunk: NextChunk,
    release: Release,
) -> OutboundIncomingResponse:
    """The guest's view of a response whose head arrived (see the module docstring)."""
    kept = [(name, value) for name, value in headers if name.lower() not in FORBIDDEN_HEADERS]
    stream = _ResponseStream(state, next_chunk, release)
    body = _ResponseBody(stream, release)
    return OutboundIncomingResponse(status, Fields.trusted(kept), body, release)


class PendingResponse(FutureIncomingResponse):
    """A `future-incoming-response` settled by `future` (a task on the event loop)."""

    def __init__(
        self, state: RequestState, future: concurrent.futures.Future[ResponseOutcome]
    ) -> None:
        super().__init__(self._outcome)
        self._state = state
        self._future = future
        self._dropped = False
        future.add_done_callback(self._settled)

    def _outcome(self) -> ResponseOutcome | None:
        future = self._future
        if not future.done():
            return None
        if future.cancelled():
            return ErrorCode.internal("the outbound request was cancelled")
        error = future.exception()
        if error is not None:
            return ErrorCode.internal(describe(error))
        return future.result()

    def _settled(self, _future: object) -> None:
        self._state.notify()
        if self._dropped:
            self._release_untaken()

    def on_drop(self) -> None:
        """The guest dropped the future: abandon the request, close an untaken response."""
        self._dropped = True
        self._future.cancel()
        self._release_untaken()

    def close(self) -> None:
        self.on_drop()

    def _release_untaken(self) -> None:
        if self._taken or not self._future.done() or self._future.cancelled():
            return
        if self._future.exception() is None:
            outcome = self._future.result()
            if isinstance(outcome, OutboundIncomingResponse):
                outcome.close()
