"""Opt-in instance reuse (`--reuse-instances N`): one instance serves up to N requests in turn.

spin-py, like Spin, gives every request a fresh instance of its component by default: nothing
one request does (globals, caches, a corrupted heap, handles it kept) can reach the next. With
`--reuse-instances N` (N > 1) an instance that served a request cleanly goes back to an idle
pool of its component and serves the next request instead of a new one, until it has served N;
so a request can skip instantiation (and the guest's own start-up work, e.g. a language
runtime's first-call setup). An instance is never used by two requests at once, and one whose
call did not end cleanly (trap, timeout, cancellation, exit with an error) is dropped, never
reused. What reuse gives up is the isolation between the requests an instance serves: state a
guest keeps in its memory is seen by the next request (docs/performance.md, "Instance reuse").

The Store (the instance's memory, tables and handle table) lives as long as the instance; each
request still gets its own `RequestState` (resource table, deadline, spans), its own epoch
deadline and the Store's memory and table caps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import wasmtime
from wasmtime.component import Func

__all__ = ["MAX_IDLE_PER_COMPONENT", "InstancePool", "WarmInstance"]

MAX_IDLE_PER_COMPONENT = 4
"""Idle instances kept per component; more are dropped as they come back."""


@dataclass(eq=False)
class WarmInstance:
    """An instantiated component, its Store and its handler function."""

    store: wasmtime.Store
    handle: Func
    served: int = 0
    """Requests this instance has served."""

    def close(self) -> None:
        self.store.close()


class InstancePool:
    """Idle instances per component, each serving at most `max_uses` requests (thread-safe)."""

    def __init__(self, max_uses: int, max_idle: int = MAX_IDLE_PER_COMPONENT) -> None:
        if max_uses < 2:
            raise ValueError("instance reuse needs at least 2 requests per instance")
        self.max_uses = max_uses
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: dict[str, list[WarmInstance]] = {}
        self._closed = False
        self.reused = 0
        """Requests served by an instance that had served another one before."""

    def take(self, component_id: str) -> WarmInstance | None:
        """An idle instance of `component_id`, now exclusively the caller's (None: make one)."""
        with self._lock:
            idle = self._idle.get(component_id)
            if not idle:
                return None
            self.reused += 1
            return idle.pop()

    def give_back(self, component_id: str, warm: WarmInstance) -> None:
        """`warm` served one more request cleanly: keep it for the next one, unless it has
        served `max_uses` or enough are idle already (then it is closed)."""
        warm.served += 1
        with self._lock:
            idle = self._idle.setdefault(component_id, [])
            keep = not self._closed and warm.served < self.max_uses and len(idle) < self._max_idle
            if keep:
                idle.append(warm)
        if not keep:
            warm.close()

    def close(self) -> None:
        """Drop every idle instance; later ones are closed as they come back."""
        with self._lock:
            self._closed = True
            idle = [warm for warms in self._idle.values() for warm in warms]
            self._idle.clear()
        for warm in idle:
            warm.close()
