"""Per-request state, reached by host functions through a context variable.

The executor creates one `RequestState` per request (per Store), sets it with `bind()` in the
worker thread that runs the guest, and every host function reads it with `current()`. Interfaces
keep their own per-request data as typed extensions: `state.ext(HttpState)` creates the
extension on first use. No module-level dicts keyed by request.

Blocking host calls wait on `state.wakeup` (a condition variable): whatever may make a pollable
ready (the event loop delivering body bytes, a timer) calls `state.notify()`. Waits end at the
request deadline (or on `cancel()`) with `DeadlineExceeded`, a `HostTrap`.

While a guest waits it gives up its running permit: `state.gate` (a `RunGate`, set by the
Invoker; see `spin_py.runtime.scheduler`) is paused for every wait that blocks, and for host
calls that block outside `wait_until` (`with state.blocking():`, e.g. a Redis round trip).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from spin_py.host.context import ComponentContext
from spin_py.host.table import DeadlineExceeded, HostTrap, ResourceTable

E = TypeVar("E")

_CURRENT: ContextVar[RequestState] = ContextVar("spin_py_request_state")

MAX_WAIT = 3600.0
"""Longest single condition wait (a guest may poll a timer centuries away); waits re-check."""


class RunGate(Protocol):
    """A guest call's hold on a running permit (`spin_py.runtime.scheduler.GuestTurn`)."""

    def pause(self) -> None:
        """The guest starts waiting: let another guest run."""

    def resume(self) -> None:
        """The wait is over: block until this guest may run again."""

    def check_in(self) -> None:
        """A periodic check from running wasm: yield to waiting guests, if any."""


@dataclass
class RequestState:
    """Everything host functions need to know about the request their guest is serving."""

    component: ComponentContext
    loop: asyncio.AbstractEventLoop
    deadline: float | None = None
    """`time.monotonic()` value after which blocking host calls give up (None: never)."""
    table: ResourceTable = field(default_factory=ResourceTable)
    wakeup: threading.Condition = field(default_factory=threading.Condition)
    cancelled: bool = False
    """Set by `cancel()`: nobody waits for this request any more (e.g. the client left)."""
    gate: RunGate | None = None
    """The running permit, paused while blocked (None: run without one)."""
    _ext: dict[type, Any] = field(default_factory=dict)

    def ext(self, cls: type[E], factory: Callable[[], E] | None = None) -> E:
        """This request's extension of type `cls`, created with `factory` (or `cls()`) once."""
        value = self._ext.get(cls)
        if value is None:
            value = factory() if factory is not None else cls()
            self._ext[cls] = value
        return value  # type: ignore[no-any-return]

    @property
    def component_id(self) -> str:
        return self.component.id

    def has_ext(self, cls: type) -> bool:
        return cls in self._ext

    def get_ext(self, cls: type[E]) -> E | None:
        """This request's extension of type `cls` if one was created, else None."""
        return self._ext.get(cls)

    def cancel(self) -> None:
        """End every current and future blocking host call of this request (any thread)."""
        self.cancelled = True
        self.deadline = time.monotonic()
        self.notify()

    def notify(self) -> None:
        """Wake every host call blocked in `wait_until` (callable from any thread)."""
        with self.wakeup:
            self.wakeup.notify_all()

    def wait_until(self, ready: Callable[[], bool], until: float | None = None) -> bool:
        """Block the guest thread until `ready()` is true or `until` (monotonic) passes.

        Returns `ready()`'s last value. Raises `DeadlineExceeded` (a `HostTrap`) when the
        request deadline passes or the request is cancelled. The running permit is given up
        for the wait (only if it has to wait) and taken back before returning.
        """
        gate = self.gate
        with self.wakeup:
            if ready():
                return True
            if gate is None:
                return self._wait_locked(ready, until)
        gate.pause()
        try:
            with self.wakeup:
                return self._wait_locked(ready, until)
        finally:
            gate.resume()  # outside the condition's lock: `notify` callers never wait on it

    def _wait_locked(self, ready: Callable[[], bool], until: float | None) -> bool:
        while True:
            if ready():
                return True
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                if self.cancelled:
                    raise DeadlineExceeded("request cancelled while blocked in a host call")
                raise DeadlineExceeded("request deadline exceeded while blocked in a host call")
            if until is not None and now >= until:
                return False
            limits = [t for t in (until, self.deadline) if t is not None]
            timeout = min(min(limits) - now, MAX_WAIT) if limits else None
            self.wakeup.wait(timeout)

    @contextlib.contextmanager
    def blocking(self) -> Iterator[None]:
        """For a host call that blocks outside `wait_until` (network I/O, a lock another
        process holds): the running permit is given up for the block."""
        gate = self.gate
        if gate is None:
            yield
            return
        gate.pause()
        try:
            yield
        finally:
            gate.resume()


def current() -> RequestState:
    """The state of the request whose guest is running in this thread."""
    try:
        return _CURRENT.get()
    except LookupError:
        raise HostTrap("host function called outside of a request") from None


@contextlib.contextmanager
def bind(state: RequestState) -> Iterator[RequestState]:
    """Make `state` current for the duration of the block (in the guest's thread)."""
    token = _CURRENT.set(state)
    try:
        yield state
    finally:
        _CURRENT.reset(token)
