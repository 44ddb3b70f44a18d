"""Nested requests: how deep a request is below its client's request, and the tree it ends with.

A guest's self requests (back to this server) and service-chained requests
(`http://<id>.spin.internal/...`) run more guests, which may do the same: without a bound one
small request grows into thousands of guests and threads (docs/security.md, "Nested
requests"). So every request knows its `Nesting`:

- `depth`: 0 for a request from a client, one more for each nested hop. A guest running at
  depth `max_depth` (`--max-request-depth`, default `DEFAULT_MAX_REQUEST_DEPTH`) that sends one
  more self or chained request gets the wasi:http error `loop-detected` at once, and a warning
  is logged;
- `tree`: the `RequestTree` of its client's request. The server ends the tree when the client's
  request ends (answered, failed or abandoned): every nested request still running is then
  cancelled, so none outlives the request it was made for. Nested requests also keep the root's
  deadline.

Chained requests carry both in-process. Self requests go over the network (possibly to another
worker process), so they carry the depth and the time left before the deadline in
`DEPTH_HEADER` and `BUDGET_HEADER`, which the server trusts only next to a valid self-request
token (anyone else's values are ignored, and a guest's own copies are removed before sending).
A self request's guest is cancelled when its caller's connection closes, and when its own
response has been delivered (the caller has what it asked for; it gets no time for work after
the response). The headers start with `spin-`, so no guest sees them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from spin_py.host.state import RequestState

__all__ = [
    "BUDGET_HEADER",
    "DEFAULT_MAX_REQUEST_DEPTH",
    "DEPTH_HEADER",
    "Nesting",
    "RequestTree",
    "child_nesting",
    "inbound_nesting",
    "nesting_of",
    "self_request_headers",
]

DEFAULT_MAX_REQUEST_DEPTH = 10
"""Nested requests allowed below a client's request (`--max-request-depth`)."""

DEPTH_HEADER = "spin-py-request-depth"
BUDGET_HEADER = "spin-py-request-budget"
"""Seconds the root request has left (a decimal number), on a self request."""

HOST_HEADERS = frozenset({DEPTH_HEADER, BUDGET_HEADER})


class RequestTree:
    """The nested requests made on behalf of one client request. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: list[RequestState] = []
        self._ended = False

    def add(self, state: RequestState) -> None:
        """Count `state` in the tree (cancelled at once if the tree already ended)."""
        with self._lock:
            ended = self._ended
            if not ended:
                self._states.append(state)
        if ended:
            state.cancel()

    def end(self) -> None:
        """The client's request is over: cancel every nested request still running."""
        with self._lock:
            self._ended, states, self._states = True, self._states, []
        for state in states:
            state.cancel()


@dataclass(frozen=True)
class Nesting:
    """Where a request sits: its depth below the client's request and that request's tree."""

    depth: int = 0
    tree: RequestTree = field(default_factory=RequestTree)


def nesting_of(state: RequestState) -> Nesting:
    """The nesting of `state` (a client's request, depth 0, unless set when it started)."""
    return state.ext(Nesting)


def child_nesting(parent: RequestState) -> Nesting:
    """The nesting of a request `parent`'s guest makes."""
    nesting = nesting_of(parent)
    return Nesting(nesting.depth + 1, nesting.tree)


def inbound_nesting(state: RequestState, depth: str | None, budget: str | None) -> Nesting:
    """Start `state` (a trusted self request) at the depth and with the time left its headers
    carry; unusable values count as a client's request."""
    nesting = state.ext(Nesting, lambda: Nesting(_non_negative_int(depth)))
    seconds = _non_negative_float(budget)
    if seconds is not None:
        until = time.monotonic() + seconds
        state.deadline = until if state.deadline is None else min(state.deadline, until)
    return nesting


def self_request_headers(
    headers: Iterable[tuple[str, bytes]], state: RequestState
) -> list[tuple[str, bytes]]:
    """`headers` of a self request `state`'s guest sends: the guest's own copies of the
    nesting headers removed, the request's depth + 1 and time left added."""
    out = [(n, v) for n, v in headers if n.lower() not in HOST_HEADERS]
    out.append((DEPTH_HEADER, str(nesting_of(state).depth + 1).encode()))
    if state.deadline is not None:
        left = max(0.0, state.deadline - time.monotonic())
        out.append((BUDGET_HEADER, f"{left:.3f}".encode()))
    return out


def _non_negative_int(text: str | None) -> int:
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 6:
        return 0
    return int(text)


def _non_negative_float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None and text.isascii() else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return value
