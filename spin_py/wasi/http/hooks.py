"""Per-request wiring between `wasi:http/types` and whoever serves the request.

Host functions reach it as `state.ext(HttpHooks)`. The request bridge installs
`response_body` before calling the guest, so that `outgoing-response.body` returns a body whose
bytes reach the client. Without a bridge (tests calling host functions directly, a guest
building a response it never sends) bodies go to `DiscardTarget`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spin_py.host.pollable import AlwaysReady, Pollable
from spin_py.host.streams import OutputStream
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields

if TYPE_CHECKING:
    from spin_py.wasi.http.body import BodyTarget
    from spin_py.wasi.http.response import OutgoingResponse

__all__ = ["DiscardStream", "DiscardTarget", "HttpHooks"]

DISCARD_PERMIT = 64 * 1024


class DiscardStream(OutputStream):
    """An output stream that accepts and drops every byte (never blocks)."""

    def check_write(self) -> int:
        return DISCARD_PERMIT

    def write(self, data: bytes) -> None:
        return None

    def flush(self) -> None:
        return None

    def blocking_flush(self) -> None:
        return None

    def subscribe(self) -> Pollable:
        return AlwaysReady()


class DiscardTarget:
    """A `BodyTarget` that goes nowhere."""

    def open_stream(self) -> OutputStream:
        return DiscardStream()

    def finish(self, trailers: Fields | None) -> None:
        return None

    def abort(self, reason: ErrorCode) -> None:
        return None


def _discard(response: OutgoingResponse) -> BodyTarget:
    return DiscardTarget()


@dataclass
class HttpHooks:
    """What `wasi:http/types` asks of the request being served."""

    response_body: Callable[[OutgoingResponse], BodyTarget] = field(default=_discard)
    """Makes the target of `outgoing-response.body` for one response."""
