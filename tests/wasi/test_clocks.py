"""`wasi:clocks`: wall and monotonic clocks, timer pollables, and injected clocks."""

from __future__ import annotations

import time

import pytest
from wasmtime.component import Record

from spin_py.host.pollable import CallbackPollable, Pollable
from spin_py.wasi import clocks
from spin_py.wasi.clocks import Clocks
from tests.support.runtime_harness import DirectHost

W = "wasi:clocks/wall-clock"
M = "wasi:clocks/monotonic-clock"


def test_wall_clock_now_is_the_unix_time(host: DirectHost) -> None:
    before = time.time()
    now = host.lowered(W, "now", clocks.wall_now)
    assert isinstance(now, Record)
    assert 0 <= now.nanoseconds < 1_000_000_000
    assert before - 1 <= now.seconds + now.nanoseconds / 1e9 <= time.time() + 1


def test_wall_clock_resolution(host: DirectHost) -> None:
    res = host.lowered(W, "resolution", clocks.wall_resolution)
    assert res.seconds == 0 and 0 < res.nanoseconds < 1_000_000_000


def test_monotonic_clock_does_not_go_back(host: DirectHost) -> None:
    first = host.lowered(M, "now", clocks.monotonic_now)
    time.sleep(0.01)
    second = host.lowered(M, "now", clocks.monotonic_now)
    assert second - first >= 9_000_000
    assert host.lowered(M, "resolution", clocks.monotonic_resolution) >= 1


def test_subscribe_duration_and_instant(host: DirectHost) -> None:
    soon = host.lowered(M, "subscribe-duration", clocks.subscribe_duration, 30_000_000)
    at = host.call(clocks.monotonic_now) + 5_000_000_000
    later = host.lowered(M, "subscribe-instant", clocks.subscribe_instant, at)
    past = host.lowered(M, "subscribe-instant", clocks.subscribe_instant, 0)
    soon_p, later_p, past_p = host.obj(soon), host.obj(later), host.obj(past)
    assert past_p.ready() and not soon_p.ready() and not later_p.ready()
    assert later_p.deadline() == pytest.approx(at / 1e9, abs=1e-6)  # time.monotonic() scale
    time.sleep(0.035)
    assert soon_p.ready() and not later_p.ready()


class FakeWall:
    def now(self) -> tuple[int, int]:
        return (1_700_000_000, 5)

    def resolution(self) -> tuple[int, int]:
        return (0, 1000)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1_000

    def now(self) -> int:
        return self.t

    def resolution(self) -> int:
        return 7

    def pollable_at(self, instant: int) -> Pollable:
        return CallbackPollable(lambda: self.t >= instant)


def test_injected_clocks_are_what_the_guest_sees(host: DirectHost) -> None:
    fake = FakeMonotonic()
    host.state.ext(Clocks, lambda: Clocks(wall=FakeWall(), monotonic=fake))
    now = host.lowered(W, "now", clocks.wall_now)
    assert (now.seconds, now.nanoseconds) == (1_700_000_000, 5)
    assert host.lowered(M, "now", clocks.monotonic_now) == 1_000
    assert host.lowered(M, "resolution", clocks.monotonic_resolution) == 7
    timer = host.obj(host.call(clocks.subscribe_duration, 500))
    assert not timer.ready()
    fake.t = 1_500
    assert timer.ready()
