"""Interruptible guest calls: every request Store checks in with the host once per epoch slice.

wasmtime calls a Store's epoch-deadline callback when the engine's epoch reaches the Store's
deadline; the callback either stops the guest (it returns an error, which traps the call) or
grants it more ticks. The Invoker arms every request Store with `Interrupter.arm`: a deadline
at most `SLICE_TICKS` ahead and this module's callback, so even a guest spinning in pure wasm
with no `--request-timeout` comes back to the host every `SLICE_TICKS * TICK_SECONDS` seconds.

At each check the guest is stopped when
- its `Interrupter` was interrupted (the server is shutting down): the call traps with
  `INTERRUPTED_MESSAGE`;
- the request's deadline passed (`RequestState.deadline`: the request timeout, or now once
  `RequestState.cancel()` ran): the call traps with `DEADLINE_MESSAGE` (`CANCELLED_MESSAGE`
  when the request was cancelled, e.g. its client went away);
otherwise it hands its running permit to the guests waiting for one, if any (FIFO, see
`spin_py.runtime.scheduler`: a guest spinning in pure wasm cannot starve the others of its
process), then runs for another slice, never past the deadline. The request reached by the
callback is the one bound in the calling thread (`spin_py.host.state.current`): the
callback runs in the guest's own thread, in the middle of its wasm code.

`interrupt()` also cancels every request the Invoker runs inside `track(state)`, so guests
blocked in a host call (a body read, a sleep) end at once rather than at their next check.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Iterator

import wasmtime
from wasmtime import _ffi as ffi

from spin_py.host.state import RequestState, current
from spin_py.host.table import HostTrap
from spin_py.runtime.engine import TICK_SECONDS, deadline_ticks

SLICE_TICKS = 10
"""Epoch ticks a guest runs between two checks (10 ticks of `TICK_SECONDS`: 100 ms)."""

SLICE_SECONDS = SLICE_TICKS * TICK_SECONDS

DEADLINE_MESSAGE = "spin-py: the guest ran past its request deadline"
CANCELLED_MESSAGE = "spin-py: the guest was stopped because its request was cancelled"
INTERRUPTED_MESSAGE = "spin-py: the guest was interrupted because the server is shutting down"

_CONTINUE = 0
"""`WASMTIME_UPDATE_DEADLINE_CONTINUE`: keep running with the new deadline (no async yield)."""

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint8),
)
_Finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_NO_FINALIZER = _Finalizer()  # a NULL function pointer: nothing to free


class Interrupter:
    """Arms Stores with the slice callback and stops their guests on `interrupt()`.

    One per Invoker; it must outlive every Store it armed (the Invoker closes its Stores at the
    end of each call).
    """

    def __init__(self) -> None:
        self._interrupted = threading.Event()
        self._callback = _Callback(self._on_deadline)
        self._running: dict[int, RequestState] = {}
        self._lock = threading.Lock()

    @property
    def interrupted(self) -> bool:
        """True once `interrupt()` was called."""
        return self._interrupted.is_set()

    def interrupt(self) -> None:
        """Stop every armed guest at its next check (within one slice) and cancel the tracked
        requests (their blocked host calls end at once); any thread, idempotent, permanent."""
        self._interrupted.set()
        with self._lock:
            running = list(self._running.values())
        for state in running:
            state.cancel()

    @contextlib.contextmanager
    def track(self, state: RequestState) -> Iterator[None]:
        """Count `state` as running for the block, so `interrupt()` cancels it. Check
        `interrupted` inside the block, not before it, to leave no gap."""
        with self._lock:
            self._running[id(state)] = state
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(id(state), None)

    def arm(self, store: wasmtime.Store, deadline: float | None) -> None:
        """Give `store` the slice callback and its first deadline (`deadline` is the request's
        `time.monotonic()` deadline, None for none). Call before running wasm in `store`."""
        ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), self._callback, None, _NO_FINALIZER)
        store.set_epoch_deadline(next_slice(deadline))

    def _on_deadline(
        self,
        _context: object,
        _data: object,
        delta: ctypes._Pointer[ctypes.c_uint64],
        kind: ctypes._Pointer[ctypes.c_uint8],
    ) -> int:
        """The wasmtime callback: 0 to continue (`delta`, `kind` set), or an error to trap."""
        try:
            stop, ticks = self._verdict()
        except BaseException as err:  # never let an exception escape into wasmtime
            stop, ticks = f"spin-py: epoch check failed: {type(err).__name__}: {err}", 0
        if stop is not None:
            error = ffi.wasmtime_error_new(stop.encode())
            return ctypes.cast(error, ctypes.c_void_p).value or 0
        delta[0] = ticks
        kind[0] = _CONTINUE
        return 0

    def _verdict(self) -> tuple[str | None, int]:
        state = _current_state()
        stop = self._stop_reason(state)
        if stop is None and state is not None and state.gate is not None:
            state.flush_posts()  # what the guest handed the loop so far goes out now
            state.gate.check_in()  # may wait while the other guests take their turns
            stop = self._stop_reason(state)
        if stop is not None:
            return stop, 0
        return None, next_slice(state.deadline if state is not None else None)

    def _stop_reason(self, state: RequestState | None) -> str | None:
        if self._interrupted.is_set():
            return INTERRUPTED_MESSAGE
        deadline = state.deadline if state is not None else None
        if deadline is not None and time.monotonic() >= deadline:
            return CANCELLED_MESSAGE if state is not None and state.cancelled else DEADLINE_MESSAGE
        return None


def next_slice(deadline: float | None) -> int:
    """Ticks until the next check: one slice, or fewer when the deadline comes sooner."""
    if deadline is None:
        return SLICE_TICKS
    return min(SLICE_TICKS, deadline_ticks(max(0.0, deadline - time.monotonic())))


def _current_state() -> RequestState | None:
    try:
        return current()
    except HostTrap:  # a Store armed outside a request: no deadline of its own
        return None
