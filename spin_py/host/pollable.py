"""Pollables: host objects behind `wasi:io/poll` `pollable` handles.

A pollable answers `ready()` without blocking. Time-based pollables also report `deadline()`
so `block_on` can sleep exactly until then. Anything event-driven (body bytes arriving, an
outbound response) becomes ready on another thread and calls `RequestState.notify()`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from spin_py.host.state import RequestState


class Pollable(ABC):
    """Something a guest can wait on."""

    @abstractmethod
    def ready(self) -> bool:
        """True once the event has happened (never blocks)."""

    def deadline(self) -> float | None:
        """`time.monotonic()` at which this becomes ready by itself, if time-based."""
        return None


class AlwaysReady(Pollable):
    """Ready immediately (e.g. a stream that is closed or has data)."""

    def ready(self) -> bool:
        return True


class DeadlinePollable(Pollable):
    """Ready at a monotonic time (`subscribe-instant`, `subscribe-duration`)."""

    def __init__(self, at: float) -> None:
        self._at = at

    def ready(self) -> bool:
        return time.monotonic() >= self._at

    def deadline(self) -> float | None:
        return self._at


class CallbackPollable(Pollable):
    """Ready when `check()` says so; used by streams and futures to expose their state."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self._check = check

    def ready(self) -> bool:
        return self._check()


def block_on(state: RequestState, pollables: Sequence[Pollable]) -> list[int]:
    """Block until at least one pollable is ready; return the indexes of the ready ones."""
    if not pollables:
        raise ValueError("poll needs at least one pollable")
    while True:
        ready = [i for i, p in enumerate(pollables) if p.ready()]
        if ready:
            return ready
        deadlines = [d for d in (p.deadline() for p in pollables) if d is not None]
        until = min(deadlines) if deadlines else None
        state.wait_until(lambda: any(p.ready() for p in pollables), until)
