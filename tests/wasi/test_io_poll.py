"""`wasi:io/poll`: `ready`, `block` and `poll` over mixed pollables, with a real event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from spin_py.host.channels import BytesInputStream, PullInputStream
from spin_py.host.pollable import AlwaysReady, CallbackPollable, DeadlinePollable
from spin_py.host.table import DeadlineExceeded, HostTrap
from spin_py.wasi import clocks
from spin_py.wasi.io import poll, streams
from spin_py.wasi.io.poll import POLLABLE
from spin_py.wasi.io.streams import INPUT_STREAM
from tests.support.runtime_harness import DirectHost, LoopThread

P = "wasi:io/poll"
MS = 1_000_000


def test_ready_never_blocks(host: DirectHost) -> None:
    later = host.state.table.push(DeadlinePollable(time.monotonic() + 60), POLLABLE)
    now = host.state.table.push(AlwaysReady(), POLLABLE)
    assert host.lowered(P, "[method]pollable.ready", poll.ready, later) is False
    assert host.lowered(P, "[method]pollable.ready", poll.ready, now) is True


def test_block_waits_for_a_timer(host: DirectHost) -> None:
    timer = host.call(clocks.subscribe_duration, 50 * MS)
    started = time.monotonic()
    assert host.lowered(P, "[method]pollable.block", poll.block, timer) is None
    assert time.monotonic() - started >= 0.045


def test_poll_returns_only_the_ready_indexes(host: DirectHost) -> None:
    table = host.state.table
    handles = [
        table.push(DeadlinePollable(time.monotonic() + 60), POLLABLE),
        table.push(AlwaysReady(), POLLABLE),
        table.push(CallbackPollable(lambda: False), POLLABLE),
        table.push(AlwaysReady(), POLLABLE),
    ]
    assert host.lowered(P, "poll", poll.poll, handles) == [1, 3]


def test_poll_over_a_stream_and_timers(lt: LoopThread, host: DirectHost) -> None:
    async def slow_body() -> bytes | None:
        await asyncio.sleep(0.3)
        return b"body"

    stream = host.state.table.push(PullInputStream(host.state, slow_body), INPUT_STREAM)
    readable = host.call(streams.input_subscribe, stream)
    short = host.call(clocks.subscribe_duration, 40 * MS)
    long = host.call(clocks.subscribe_duration, 5000 * MS)
    started = time.monotonic()
    assert host.lowered(P, "poll", poll.poll, [readable, long, short]) == [2]
    assert time.monotonic() - started > 0.035
    readable_again = host.call(streams.input_subscribe, stream)
    long_again = host.call(clocks.subscribe_duration, 5000 * MS)
    assert host.lowered(P, "poll", poll.poll, [long_again, readable_again]) == [1]
    assert time.monotonic() - started >= 0.29
    assert host.call(streams.read, stream, 10) == b"body"


def test_poll_wakes_on_notify_not_on_a_timer(lt: LoopThread, host: DirectHost) -> None:
    flag = {"set": False}

    def set_flag() -> None:
        flag["set"] = True
        host.state.notify()

    lt.loop.call_soon_threadsafe(lt.loop.call_later, 0.05, set_flag)
    waiting = host.state.table.push(CallbackPollable(lambda: flag["set"]), POLLABLE)
    started = time.monotonic()
    assert host.call(poll.poll, [waiting]) == [0]
    assert time.monotonic() - started < 1


def test_poll_ends_at_the_request_deadline(lt: LoopThread) -> None:
    host = DirectHost(lt.loop, deadline=time.monotonic() + 0.1)
    never = host.state.table.push(CallbackPollable(lambda: False), POLLABLE)
    with pytest.raises(DeadlineExceeded):
        host.call(poll.poll, [never])


def test_poll_of_nothing_traps(host: DirectHost) -> None:
    with pytest.raises(HostTrap):
        host.call(poll.poll, [])


def test_poll_with_a_non_pollable_traps(host: DirectHost) -> None:
    stream = host.state.table.push(BytesInputStream(b""), INPUT_STREAM)
    with pytest.raises(HostTrap):
        host.call(poll.poll, [stream])


def test_a_timer_far_in_the_future_does_not_break_poll(lt: LoopThread) -> None:
    host = DirectHost(lt.loop, deadline=None)  # no request deadline either
    flag = {"set": False}

    def set_flag() -> None:
        flag["set"] = True
        host.state.notify()

    never = host.call(clocks.subscribe_duration, 2**64 - 1)
    woken = host.state.table.push(CallbackPollable(lambda: flag["set"]), POLLABLE)
    lt.loop.call_soon_threadsafe(lt.loop.call_later, 0.05, set_flag)
    assert host.call(poll.poll, [never, woken]) == [1]
