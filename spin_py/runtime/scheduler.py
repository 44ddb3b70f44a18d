"""Many guests in flight per process, few running: request slots, guest threads, run permits.

A process runs up to `limit` guest calls at once (`--max-concurrent-requests`), but only
`permits` of them (`--running-guests`, default 1) execute guest code at any moment. A guest
holds a permit while it runs wasm or host code and gives it up while it waits in the host (a
body read, a flush with no room, a sleep, an outbound response, a Redis round trip): guests
that compute keep the speed of one running thread (no GIL contention between guests), guests
that wait overlap, up to the slot count.

- `RequestSlots`: admission. `enter()` on the event loop takes a slot or returns None at once
  (the server then answers 503: nothing queues); the slot is freed when the guest thread is
  done with it (`Slot.leave`), not when the client goes, so a cancelled guest still running
  until its next epoch check keeps counting. A nested call (a self or service-chained request
  a guest of this process waits for) is not refused because client requests fill the slots,
  which could only fail its caller; nested calls have an allowance of their own instead, as
  many again as the limit, so that a guest fanning out requests to itself cannot start guests
  without bound (docs/security.md, "Nested requests"). `snapshot()` tells health how many
  slots are held and for how long.
- `GuestScheduler`: the guest threads and the permits. A submitted call waits in a run queue
  until a permit is free; it then runs on an idle guest thread (or a new one). A guest that
  blocks keeps its thread (its wasm stack lives there) but passes the permit on. A thread
  whose call ends keeps the permit and starts the next queued call itself, so back-to-back
  short requests cost no thread switch (what one guest thread per process did well).
  Guests resuming after a wait and queued calls get permits in one first-come, first-served
  line. `yield_turn()`, called at every epoch check-in, passes the permit on whenever anyone
  waits for it and goes to the back of that line: a guest spinning in pure wasm slows its
  process down, it never wedges it, and several of them cannot keep a new request waiting.
- `GuestTurn`: one call's hold on a permit, the `RunGate` its `RequestState` pauses and resumes
  around every blocking host wait (`RequestState.wait_until`, `RequestState.blocking`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_RUNNING_GUESTS",
    "DEFAULT_STUCK_AFTER",
    "GuestScheduler",
    "GuestTurn",
    "RequestSlots",
    "Slot",
    "SlotsSnapshot",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENT = 64
"""Guest calls in flight per process by default (`--max-concurrent-requests`); what one costs
in memory is in docs/performance.md."""

DEFAULT_RUNNING_GUESTS = 1
"""Guests running (not waiting) at once per process by default (`--running-guests`)."""

DEFAULT_STUCK_AFTER = 30.0
"""Seconds after which a guest call still running counts as stuck for the health check."""

Job = Callable[[], None]
"""A guest call; it runs on a guest thread holding a permit and must return holding it."""


def _held_lock() -> threading.Lock:
    """A lock already held: `acquire()` blocks until whoever grants a permit `release()`s it."""
    lock = threading.Lock()
    lock.acquire()
    return lock


class _Waiter:
    """A guest thread in line for a permit (it blocks on `lock` until granted one)."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = _held_lock()


class _Worker:
    """A guest thread: runs the jobs it is handed, one after another, holding a permit."""

    def __init__(self, scheduler: GuestScheduler, number: int) -> None:
        self._scheduler = scheduler
        self._wake = _held_lock()
        self.job: Job | None = None
        self.thread = threading.Thread(
            target=self._loop, name=f"spin-py-guest_{number}", daemon=True
        )

    def grant(self, job: Job | None) -> None:
        """Hand this idle worker `job` (and a permit); None stops it."""
        self.job = job
        self._wake.release()

    def _loop(self) -> None:
        while True:
            self._wake.acquire()
            job, self.job = self.job, None
            if job is None or not self._scheduler._run(self, job):
                return


class GuestScheduler:
    """`permits` running guests out of any number in flight (see the module docstring)."""

    def __init__(self, permits: int = 1) -> None:
        if permits < 1:
            raise ValueError("at least one running permit is needed")
        self.permits = permits
        self._lock = threading.Lock()
        self._free = permits
        self._line: deque[_Waiter | Job] = deque()
        """Who waits for a permit, first come first served: resuming guests and queued calls."""
        self._idle: list[_Worker] = []
        self._started = 0
        self._closed = False
        self._unfinished = 0
        self._all_done = threading.Condition(self._lock)

    @property
    def waiting(self) -> int:
        """Guests resuming after a wait, and queued calls, that wait for a permit now."""
        return len(self._line)

    @property
    def threads(self) -> int:
        """Guest threads started so far."""
        return self._started

    def submit(self, job: Job) -> None:
        """Run `job` on a guest thread once a permit is free (returns at once)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the guest scheduler is closed")
            self._unfinished += 1
            if self._free > 0:
                self._free -= 1
                self._dispatch_locked(job)
            else:
                self._line.append(job)

    def acquire(self) -> None:
        """Take a permit (a guest resuming after a wait, or a call on a thread of its own)."""
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return
            waiter = _Waiter()
            self._line.append(waiter)
        waiter.lock.acquire()  # released by whoever hands the permit over

    def release(self) -> None:
        """Give a permit back (a guest starting to wait, or a call on a thread of its own
        ending): to the first in line, if any."""
        with self._lock:
            self._pass_locked()

    def yield_turn(self) -> bool:
        """If anyone waits for a permit, pass this caller's on and wait for one again (behind
        everyone already waiting); True if the caller did wait."""
        with self._lock:
            if not self._line:
                return False
            self._pass_locked()
            waiter = _Waiter()
            self._line.append(waiter)
        waiter.lock.acquire()
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs, wait up to `timeout` seconds (None: no limit) for the submitted
        ones to finish, and stop the idle guest threads; False if jobs are still running."""
        with self._lock:
            self._closed = True
            finished = self._all_done.wait_for(lambda: self._unfinished == 0, timeout)
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.grant(None)
        return finished

    def _run(self, worker: _Worker, job: Job) -> bool:
        """In `worker`'s thread, holding a permit: run `job`, then the next queued call while
        one is first in line; then pass the permit on and go idle (False: stop the thread, the
        scheduler is closed)."""
        while True:
            try:
                job()
            except BaseException:  # a job reports its own failures; never lose the thread
                log.exception("guest job failed")
            with self._lock:
                self._unfinished -= 1
                if not self._unfinished:
                    self._all_done.notify_all()
                if self._line and not isinstance(self._line[0], _Waiter):
                    job = self._line.popleft()  # type: ignore[assignment]
                    continue
                self._pass_locked()
                if self._closed:
                    return False
                self._idle.append(worker)
                return True

    def _pass_locked(self) -> None:
        """A permit is being given up: to the first in line, else it is free."""
        if not self._line:
            self._free += 1
            return
        first = self._line.popleft()
        if isinstance(first, _Waiter):
            first.lock.release()
        else:
            self._dispatch_locked(first)

    def _dispatch_locked(self, job: Job) -> None:
        """Start `job` (its permit already counted) on an idle guest thread or a new one."""
        if self._idle:
            self._idle.pop().grant(job)
            return
        self._started += 1
        worker = _Worker(self, self._started)
        worker.thread.start()
        worker.grant(job)


class GuestTurn:
    """One guest call's hold on a permit (used from the guest's own thread only).

    `RequestState` calls `pause()` before a blocking host wait and `resume()` after it; the
    epoch check-in calls `check_in()`. Pauses nest (a wait inside a `blocking()` block). A call
    run by `GuestScheduler.submit` starts `held`; one on a thread of its own `take()`s a permit
    first and `give_back()`s it at the end.
    """

    def __init__(self, scheduler: GuestScheduler, *, held: bool = False) -> None:
        self._scheduler = scheduler
        self._held = held
        self._paused = 0
        self._thread = threading.get_ident()

    def running_here(self) -> bool:
        return self._held and threading.get_ident() == self._thread

    @property
    def held(self) -> bool:
        return self._held

    def take(self) -> None:
        """Take a permit before the guest starts running (if not held already)."""
        if not self._held:
            self._scheduler.acquire()
            self._held = True

    def give_back(self) -> None:
        """Release the permit for good (a call on a thread of its own is over)."""
        if self._held:
            self._held = False
            self._scheduler.release()

    def pause(self) -> None:
        self._paused += 1
        if self._paused == 1 and self._held:
            self._held = False
            self._scheduler.release()

    def resume(self) -> None:
        self._paused -= 1
        if self._paused == 0 and not self._held:
            self._scheduler.acquire()
            self._held = True

    def check_in(self) -> None:
        """At an epoch check: let waiting guests and queued calls run before this one goes on."""
        if self._held and self._scheduler.waiting:
            self._scheduler.yield_turn()


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

    __slots__ = ("_left", "_owner", "nested", "started")

    def __init__(self, owner: RequestSlots, started: float, nested: bool = False) -> None:
        self._owner = owner
        self.started = started
        self.nested = nested
        """Taken from the nested calls' allowance (`RequestSlots.enter(nested=True)`)."""
        self._left = False

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self._owner._leave(self)


class RequestSlots:
    """At most `limit` guest calls in flight, plus at most `nested_limit` (default: `limit`)
    nested calls (see the module docstring)."""

    def __init__(self, limit: int, nested_limit: int | None = None) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self.nested_limit = limit if nested_limit is None else nested_limit
        self._lock = threading.Lock()
        self._held: set[Slot] = set()
        self._nested = 0
        self.refused = 0
        """Calls refused since start (`enter` returned None), nested ones included."""

    @property
    def in_flight(self) -> int:
        return len(self._held)

    @property
    def nested_in_flight(self) -> int:
        return self._nested

    def enter(self, *, force: bool = False, nested: bool = False) -> Slot | None:
        """A slot, or None when all `limit` are held. `nested`: a call another guest call of
        this process waits for; it is admitted past `limit` (while it runs it counts as in
        flight for everyone else) up to `nested_limit` nested calls in flight, then None.
        `force`: take one in any case (a caller that cannot be refused)."""
        with self._lock:
            if nested and not force:
                if self._nested >= self.nested_limit:
                    self.refused += 1
                    return None
            elif len(self._held) >= self.limit and not force:
                self.refused += 1
                return None
            slot = Slot(self, time.monotonic(), nested)
            self._held.add(slot)
            if nested:
                self._nested += 1
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
            if slot in self._held:
                self._held.remove(slot)
                if slot.nested:
                    self._nested -= 1
