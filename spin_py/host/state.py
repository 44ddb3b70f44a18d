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

Hand-offs to the event loop go through `state.post(callback, *args)`. Posted from the guest's
own thread while it runs, callbacks are held and delivered together, in order, in one wake-up
of the loop (`flush_posts`): when the guest next waits, at its next epoch check-in, or when its
call ends (the Invoker adds the call's outcome to that last batch). A fast guest's response
head, body bytes and end thus reach the loop at once; a guest that computes for long delivers
what it posted within one epoch slice.
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

    def running_here(self) -> bool:
        """True in the guest's own thread while it holds its permit."""


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
    _posted: list[tuple[Callable[..., object], tuple[Any, ...]]] = field(default_factory=list)

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

    def post(self, callback: Callable[..., object], *args: Any) -> None:
        """Run `callback(*args)` on the event loop (any thread; see the module docstring: held
        and batched while posted by the running guest). Dropped if the loop is closed."""
        gate = self.gate
        if gate is not None and gate.running_here():
            self._posted.append((callback, args))
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is going away
            self.loop.call_soon_threadsafe(callback, *args)

    def flush_posts(self, last: Callable[[], object] | None = None) -> None:
        """Deliver the held posts, then `last` (if any), in one wake-up of the loop."""
        batch, self._posted = self._posted, []
        if last is not None:
            batch.append((last, ()))
        if not batch:
            return
        with contextlib.suppress(RuntimeError):
            if len(batch) == 1:
                self.loop.call_soon_threadsafe(batch[0][0], *batch[0][1])
            else:
                self.loop.call_soon_threadsafe(_run_posts, batch)

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
        self.flush_posts()  # whatever the loop must do before this wait can end
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
        self.flush_posts()
        gate.pause()
        try:
            yield
        finally:
            gate.resume()


def _run_posts(batch: list[tuple[Callable[..., object], tuple[Any, ...]]]) -> None:
    """On the loop: run a batch of posted callbacks in order (one failing does not stop the
    others; the loop's exception handler reports it)."""
    loop = asyncio.get_running_loop()
    for callback, args in batch:
        try:
            callback(*args)
        except Exception as exc:
            loop.call_exception_handler(
                {"message": "posted callback failed", "exception": exc, "callback": callback}
            )


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
