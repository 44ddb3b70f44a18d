"""`RequestState.post`: what a running guest hands the event loop is held and delivered in one
loop wake-up, in order, when the guest next waits or its call ends (docs/performance.md,
"Concurrency": one hand-off each way). A real event loop; its `call_soon_threadsafe` is
counted to see the wake-ups.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from spin_py.host.state import RequestState
from tests.support.models import make_state


class Gate:
    """A running permit held by the test's thread (the guest's thread here)."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.paused = 0

    def pause(self) -> None:
        self.paused += 1

    def resume(self) -> None:
        pass

    def check_in(self) -> None:
        pass

    def running_here(self) -> bool:
        return threading.get_ident() == self.owner


class CountingLoop:
    """A real event loop whose thread-safe wake-ups are counted."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.wakeups = 0
        original = self.loop.call_soon_threadsafe

        def counting(callback: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
            self.wakeups += 1
            return original(callback, *args, **kwargs)

        self.loop.call_soon_threadsafe = counting  # type: ignore[method-assign]

    def run_pending(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0))


@pytest.fixture
def loop() -> Iterator[CountingLoop]:
    counting = CountingLoop()
    yield counting
    counting.loop.close()


@pytest.fixture
def state(loop: CountingLoop) -> RequestState:
    st = make_state(loop.loop)
    st.gate = Gate()
    return st


def test_posts_of_the_running_guest_go_in_one_wake_up_in_order(
    loop: CountingLoop, state: RequestState
) -> None:
    ran: list[str] = []
    for name in ("head", "body", "end"):
        state.post(ran.append, name)
    assert loop.wakeups == 0  # held while the guest runs
    state.flush_posts(lambda: ran.append("outcome"))
    assert loop.wakeups == 1
    loop.run_pending()
    assert ran == ["head", "body", "end", "outcome"]
    state.flush_posts()  # nothing left: no wake-up
    assert loop.wakeups == 1


def test_a_wait_delivers_the_held_posts_before_it_blocks(
    loop: CountingLoop, state: RequestState
) -> None:
    """The loop may be what ends the wait (it reads the body the guest posted), so the posts go
    out before the guest gives up its permit; a wait that need not block keeps holding them."""
    ran: list[str] = []
    state.post(ran.append, "head")
    assert state.wait_until(lambda: True)
    assert loop.wakeups == 0
    assert not state.wait_until(lambda: False, until=0.0)
    assert loop.wakeups == 1
    assert isinstance(state.gate, Gate) and state.gate.paused == 1  # the permit went after
    loop.run_pending()
    assert ran == ["head"]


def test_posts_from_another_thread_go_at_once(loop: CountingLoop, state: RequestState) -> None:
    ran: list[str] = []
    other = threading.Thread(target=state.post, args=(ran.append, "from the loop's side"))
    other.start()
    other.join(5)
    assert loop.wakeups == 1
    loop.run_pending()
    assert ran == ["from the loop's side"]
