"""Many guests in flight per process, few running: request slots and running permits.

A process runs up to `limit` guest calls at once (`--max-concurrent-requests`), each in a
thread of its own, but only `permits` of them (`--running-guests`, default 1) execute guest
code at any moment. A guest holds a permit while it runs wasm or host code and gives it up
while it waits in the host (a body read, a flush with no room, a sleep, an outbound response,
a Redis round trip): so guests that compute keep the one-running-thread speed (no GIL
contention between guests), and guests that wait overlap without limit but the slot count.

- `RequestSlots`: admission. `enter()` on the event loop takes a slot or returns None at once
  (the server then answers 503: nothing queues); the slot is freed when the guest thread is
  done with it (`Slot.leave`), not when the client goes, so a cancelled guest still running
  until its next epoch check keeps counting. `snapshot()` tells health how many slots are held
  and for how long.
- `RunPermits`: a FIFO counting semaphore with direct hand-off. `yield_turn()` passes the
  permit to the longest waiter and queues behind it; the epoch check-in calls it (through
  `GuestTurn.check_in`), so a guest spinning in pure wasm cannot starve the others: a looping
  guest slows its process down, it never wedges it.
- `GuestTurn`: one request's hold on a permit, the `RunGate` its `RequestState` pauses and
  resumes around every blocking host wait (`RequestState.wait_until`, `RequestState.blocking`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_RUNNING_GUESTS",
    "DEFAULT_STUCK_AFTER",
    "GuestTurn",
    "RequestSlots",
    "RunPermits",
    "Slot",
    "SlotsSnapshot",
]

DEFAULT_MAX_CONCURRENT = 64
"""Guest calls in flight per process by default (`--max-concurrent-requests`); what one costs
in memory is in docs/performance.md."""

DEFAULT_RUNNING_GUESTS = 1
"""Guests running (not waiting) at once per process by default (`--running-guests`)."""

DEFAULT_STUCK_AFTER = 30.0
"""Seconds after which a guest call still running counts as stuck for the health check."""


class RunPermits:
    """`count` permits handed out in arrival order; a release passes the permit straight to
    the longest waiter (no barging), so every waiting guest gets its turn."""

    def __init__(self, count: int = 1) -> None:
        if count < 1:
            raise ValueError("at least one running permit is needed")
        self.count = count
        self._lock = threading.Lock()
        self._free = count
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Threads waiting for a permit right now."""
        return len(self._waiters)

    def acquire(self) -> None:
        """Take a permit, waiting in line behind earlier callers."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            waiter = _new_waiter()
            self._waiters.append(waiter)
        waiter.acquire()  # released by whoever hands the permit over

    def release(self) -> None:
        """Give a permit back: to the longest waiter if there is one."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1

    def yield_turn(self) -> bool:
        """If anyone waits, hand this caller's permit to the longest waiter and wait for it to
        come back (behind everyone already waiting); True if the caller did wait."""
        with self._lock:
            if not self._waiters:
                return False
            self._waiters.popleft().release()
            waiter = _new_waiter()
            self._waiters.append(waiter)
        waiter.acquire()
        return True


def _new_waiter() -> threading.Lock:
    """A lock already held: `acquire()` blocks until the permit's giver `release()`s it."""
    waiter = threading.Lock()
    waiter.acquire()
    return waiter


class GuestTurn:
    """One guest call's hold on a running permit (used from the guest's own thread only).

    `RequestState` calls `pause()` before a blocking host wait and `resume()` after it;
    the epoch check-in calls `check_in()`. Pauses nest (a wait inside a `blocking()` block)."""

    def __init__(self, permits: RunPermits) -> None:
        self._permits = permits
        self._held = False
        self._paused = 0

    @property
    def held(self) -> bool:
        return self._held

    def take(self) -> None:
        """Take the permit before the guest starts running."""
        if not self._held:
            self._permits.acquire()
            self._held = True

    def give_back(self) -> None:
        """Release the permit for good (the guest call is over)."""
        if self._held:
            self._held = False
            self._permits.release()

    def pause(self) -> None:
        self._paused += 1
        if self._paused == 1 and self._held:
            self._held = False
            self._permits.release()

    def resume(self) -> None:
        self._paused -= 1
        if self._paused == 0 and not self._held:
            self._permits.acquire()
            self._held = True

    def check_in(self) -> None:
        """At an epoch check: let waiting guests run before this one continues."""
        if self._held and self._permits.waiting:
            self._permits.yield_turn()


@dataclass(frozen=True)
class SlotsSnapshot:
    """What `RequestSlots.snapshot` saw."""

    limit: int
    in_flight: int
    """Slots held (guest calls admitted and not yet finished, nested calls included)."""
    oldest_s: float
    """Seconds the longest-running call has held its slot (0 when none)."""
    stuck: int
    """Calls that have held their slot longer than the `stuck_after` asked about."""

    @property
    def all_stuck(self) -> bool:
        """Every slot is held, each by a call running longer than `stuck_after`."""
        return self.in_flight >= self.limit and self.stuck >= self.limit


class Slot:
    """One admitted guest call; `leave()` frees it (any thread, idempotent)."""

    __slots__ = ("_left", "_owner", "started")

    def __init__(self, owner: RequestSlots, started: float) -> None:
        self._owner = owner
        self.started = started
        self._left = False

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self._owner._leave(self)


class RequestSlots:
    """At most `limit` guest calls in flight (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._held: set[Slot] = set()
        self.refused = 0
        """Requests refused since start (`enter` returned None)."""

    @property
    def in_flight(self) -> int:
        return len(self._held)

    def enter(self, *, force: bool = False) -> Slot | None:
        """A slot, or None when all `limit` are held. `force`: take one even past the limit
        (a nested call its caller waits for: refusing it could only fail the caller)."""
        with self._lock:
            if len(self._held) >= self.limit and not force:
                self.refused += 1
                return None
            slot = Slot(self, time.monotonic())
            self._held.add(slot)
            return slot

    def snapshot(self, stuck_after: float) -> SlotsSnapshot:
        """Counts for health: held slots, the oldest's age, and how many are older than
        `stuck_after` seconds."""
        now = time.monotonic()
        with self._lock:
            ages = [now - slot.started for slot in self._held]
        stuck = sum(1 for age in ages if age > stuck_after)
        return SlotsSnapshot(self.limit, len(ages), max(ages, default=0.0), stuck)

    def _leave(self, slot: Slot) -> None:
        with self._lock:
            self._held.discard(slot)
