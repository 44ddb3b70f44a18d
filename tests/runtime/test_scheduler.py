"""The guest scheduler and request slots, with plain Python jobs standing in for guest calls."""

from __future__ import annotations

import threading
import time

import pytest

from spin_py.runtime.scheduler import GuestScheduler, GuestTurn, RequestSlots

WAIT = 10.0


class Running:
    """Counts how many jobs hold a permit at once (they only run while holding one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.order: list[str] = []
        self.threads: dict[str, str] = {}

    def enter(self, name: str) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.order.append(name)
            self.threads[name] = threading.current_thread().name

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_short_jobs_run_back_to_back_on_one_thread() -> None:
    scheduler = GuestScheduler(1)
    running = Running()
    gate = threading.Event()
    done = threading.Semaphore(0)

    def job(name: str) -> None:
        gate.wait(WAIT)  # the first job holds the permit until all are queued
        running.enter(name)
        running.leave()
        done.release()

    for i in range(20):
        scheduler.submit(lambda i=i: job(f"j{i}"))
    gate.set()
    for _ in range(20):
        assert done.acquire(timeout=WAIT)
    assert running.order == [f"j{i}" for i in range(20)]  # in submission order
    assert len(set(running.threads.values())) == 1
    assert scheduler.threads == 1
    assert scheduler.close(WAIT)


def test_a_waiting_guest_lets_queued_calls_run_and_resumes_in_its_turn() -> None:
    scheduler = GuestScheduler(1)
    running = Running()
    order: list[str] = []
    waited = threading.Event()
    finished = threading.Semaphore(0)

    def waiter() -> None:
        turn = GuestTurn(scheduler, held=True)
        order.append("waiter starts")
        turn.pause()  # a host wait: the permit goes to the queued calls
        waited.wait(WAIT)
        turn.resume()
        order.append("waiter resumes")
        finished.release()

    def short(name: str) -> None:
        running.enter(name)
        order.append(name)
        if name == "b":
            waited.set()  # the waiter's event arrives while b runs
            time.sleep(0.05)
        running.leave()
        finished.release()

    scheduler.submit(waiter)
    for name in ("a", "b", "c"):
        scheduler.submit(lambda name=name: short(name))
    for _ in range(4):
        assert finished.acquire(timeout=WAIT)
    # First come, first served: c was queued before the waiter asked for its permit back.
    assert order == ["waiter starts", "a", "b", "c", "waiter resumes"]
    assert running.most == 1
    assert scheduler.close(WAIT)


@pytest.mark.parametrize("permits", [1, 2])
def test_never_more_running_than_permits(permits: int) -> None:
    scheduler = GuestScheduler(permits)
    running = Running()
    done = threading.Semaphore(0)

    def job(name: str) -> None:
        turn = GuestTurn(scheduler, held=True)
        for step in range(3):
            running.enter(f"{name}.{step}")
            time.sleep(0.002)
            running.leave()
            turn.pause()
            time.sleep(0.002)
            turn.resume()
        done.release()

    for i in range(12):
        scheduler.submit(lambda i=i: job(f"j{i}"))
    for _ in range(12):
        assert done.acquire(timeout=WAIT)
    assert running.most == permits
    assert scheduler.close(WAIT)


def test_a_spinning_guest_yields_at_its_check_ins() -> None:
    """A job that never waits still lets queued calls run whenever it checks in."""
    scheduler = GuestScheduler(1)
    stop = threading.Event()
    others_ran = threading.Event()
    check_ins = 0

    def spinner() -> None:
        nonlocal check_ins
        turn = GuestTurn(scheduler, held=True)
        while not stop.is_set():
            time.sleep(0.001)  # "wasm" until the next epoch check
            turn.check_in()
            check_ins += 1

    scheduler.submit(spinner)
    scheduler.submit(others_ran.set)
    assert others_ran.wait(WAIT)
    stop.set()
    assert scheduler.close(WAIT)
    assert check_ins >= 1


def test_two_spinning_guests_cannot_keep_a_queued_call_waiting() -> None:
    """Two guests that only ever check in pass the permit between them; a call queued behind
    them still gets its turn (each yield goes to the back of the line)."""
    scheduler = GuestScheduler(1)
    stop = threading.Event()
    queued_ran = threading.Event()
    spinning = threading.Semaphore(0)

    def spinner() -> None:
        turn = GuestTurn(scheduler, held=True)
        spinning.release()
        while not stop.is_set():
            time.sleep(0.001)
            turn.check_in()

    scheduler.submit(spinner)
    scheduler.submit(spinner)
    assert spinning.acquire(timeout=WAIT) and spinning.acquire(timeout=WAIT)  # both running
    scheduler.submit(queued_ran.set)
    try:
        assert queued_ran.wait(WAIT)
    finally:
        stop.set()
    assert scheduler.close(WAIT)


def test_a_thread_of_its_own_takes_and_gives_back_a_permit() -> None:
    scheduler = GuestScheduler(1)
    queued_ran = threading.Event()
    turn = GuestTurn(scheduler)
    turn.take()
    scheduler.submit(queued_ran.set)
    assert not queued_ran.wait(0.1)  # the permit is taken
    turn.give_back()
    assert queued_ran.wait(WAIT)
    assert scheduler.close(WAIT)


def test_close_waits_for_running_jobs_then_refuses_new_ones() -> None:
    scheduler = GuestScheduler(1)
    release = threading.Event()
    scheduler.submit(lambda: release.wait(WAIT))
    assert not scheduler.close(0.05)
    release.set()
    assert scheduler.close(WAIT)
    with pytest.raises(RuntimeError):
        scheduler.submit(lambda: None)


def test_request_slots_refuse_past_the_limit_and_report_stuck_calls() -> None:
    slots = RequestSlots(2)
    first, second = slots.enter(), slots.enter()
    assert first is not None and second is not None
    assert slots.enter() is None and slots.refused == 1
    forced = slots.enter(force=True)
    assert forced is not None and slots.in_flight == 3
    forced.leave()
    forced.leave()  # idempotent
    assert slots.in_flight == 2
    assert not slots.snapshot(stuck_after=60).all_stuck
    time.sleep(0.05)
    seen = slots.snapshot(stuck_after=0.01)
    assert seen.all_stuck and seen.stuck == 2 and seen.oldest_s >= 0.05
    first.leave()
    assert not slots.snapshot(stuck_after=0.01).all_stuck
    assert slots.enter() is not None


def test_nested_calls_have_an_allowance_of_their_own() -> None:
    slots = RequestSlots(2, nested_limit=3)
    clients = [slots.enter(), slots.enter()]
    assert all(clients) and slots.enter() is None  # the client slots are full ...
    nested = [slots.enter(nested=True) for _ in range(3)]
    assert all(nested) and slots.nested_in_flight == 3  # ... nested calls still get theirs
    assert slots.enter(nested=True) is None and slots.refused == 2
    assert slots.in_flight == 5  # nested calls count as in flight for client requests
    for slot in nested:
        assert slot is not None
        slot.leave()
        slot.leave()  # idempotent: frees the allowance once
    assert slots.nested_in_flight == 0 and slots.in_flight == 2
    assert slots.enter() is None  # the clients' two slots are still held
    assert RequestSlots(5).nested_limit == 5  # as many as the limit by default
