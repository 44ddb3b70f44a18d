"""Concrete streams across real threads: the guest side here, a real event loop in another thread.

Sources and sinks are real coroutines on that loop (with sleeps and events), so blocking,
wake-ups, backpressure and failures happen as they do in the server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from spin_py.host.channels import (
    BytesInputStream,
    CallbackOutputStream,
    DiscardOutputStream,
    EmptyInputStream,
    PullInputStream,
    PushOutputStream,
)
from spin_py.host.state import RequestState, bind
from spin_py.host.streams import StreamClosed, StreamFailed
from spin_py.host.table import DeadlineExceeded, HostTrap
from tests.support.runtime_harness import LoopThread, make_state


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    loop_thread = LoopThread()
    yield loop_thread
    loop_thread.close()


@pytest.fixture
def state(lt: LoopThread) -> Iterator[RequestState]:
    st = make_state(lt.loop, deadline=time.monotonic() + 10)
    with bind(st):
        yield st


class Source:
    """An async chunk source whose chunks the test releases one by one."""

    def __init__(self, chunks: list[bytes | Exception | None], gated: bool = False) -> None:
        self.chunks = list(chunks)
        self.calls = 0
        self.gated = gated
        self.gate = asyncio.Semaphore(0)
        self.cancelled = False

    async def __call__(self) -> bytes | None:
        self.calls += 1
        try:
            if self.gated:
                await self.gate.acquire()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        item = self.chunks.pop(0) if self.chunks else None
        if isinstance(item, Exception):
            raise item
        return item

    def release(self, lt: LoopThread, n: int = 1) -> None:
        for _ in range(n):
            lt.loop.call_soon_threadsafe(self.gate.release)


def test_bytes_input_stream_reads_then_reports_the_end() -> None:
    stream = BytesInputStream(b"hello world")
    assert stream.read(0) == b""  # open: an empty read succeeds
    assert stream.read(5) == b"hello"
    assert stream.skip(1) == 1
    assert stream.blocking_read(100) == b"world"
    with pytest.raises(StreamClosed):
        stream.read(0)  # at the end even an empty read is `closed`
    with pytest.raises(StreamClosed):
        stream.read(10)
    assert stream.subscribe().ready()


def test_empty_input_stream_is_closed() -> None:
    stream = EmptyInputStream()
    with pytest.raises(StreamClosed):
        stream.read(1)
    with pytest.raises(StreamClosed):
        stream.blocking_read(1)
    assert stream.subscribe().ready()


def test_pull_read_returns_nothing_until_the_chunk_arrives(
    lt: LoopThread, state: RequestState
) -> None:
    source = Source([b"abc", b"def"], gated=True)
    stream = PullInputStream(state, source)
    assert stream.read(10) == b""  # starts the fetch, does not wait
    pollable = stream.subscribe()
    assert not pollable.ready()
    source.release(lt)
    assert state.wait_until(pollable.ready, time.monotonic() + 5)
    assert stream.read(2) == b"ab"
    assert stream.read(10) == b"c"


def test_blocking_read_waits_for_bytes_still_arriving(lt: LoopThread, state: RequestState) -> None:
    source = Source([b"late"], gated=True)
    stream = PullInputStream(state, source)
    threading.Timer(0.1, source.release, (lt,)).start()
    started = time.monotonic()
    assert stream.blocking_read(100) == b"late"
    assert time.monotonic() - started >= 0.09


def test_end_of_source_is_closed_every_time_after(lt: LoopThread, state: RequestState) -> None:
    stream = PullInputStream(state, Source([b"x", b""]))  # b"" means the end, like readany
    assert stream.blocking_read(10) == b"x"
    with pytest.raises(StreamClosed):
        stream.blocking_read(10)
    with pytest.raises(StreamClosed):
        stream.read(10)
    assert stream.subscribe().ready()


def test_none_also_ends_the_source(lt: LoopThread, state: RequestState) -> None:
    stream = PullInputStream(state, Source([None]))
    with pytest.raises(StreamClosed):
        stream.blocking_read(10)


def test_source_failure_is_reported_once_then_closed(lt: LoopThread, state: RequestState) -> None:
    boom = ConnectionResetError("peer went away")
    stream = PullInputStream(state, Source([b"ok", boom]), error_detail=lambda e: ("detail", e))
    assert stream.blocking_read(10) == b"ok"
    with pytest.raises(StreamFailed) as failed:
        stream.blocking_read(10)
    assert "peer went away" in failed.value.error.message
    assert failed.value.error.detail == ("detail", boom)
    with pytest.raises(StreamClosed):
        stream.read(10)


def test_read_ahead_is_one_chunk_at_most(lt: LoopThread, state: RequestState) -> None:
    source = Source([b"1" * 10, b"2" * 10, b"3" * 10, b"4" * 10])
    stream = PullInputStream(state, source)
    assert stream.blocking_read(10) == b"1" * 10  # drained: the next chunk is fetched ahead
    time.sleep(0.05)
    assert source.calls == 2
    time.sleep(0.05)
    assert source.calls == 2  # nothing more until the guest reads again
    assert stream.read(10) == b"2" * 10


def test_close_cancels_a_fetch_in_flight(lt: LoopThread, state: RequestState) -> None:
    source = Source([b"never"], gated=True)
    stream = PullInputStream(state, source)
    stream.read(1)
    time.sleep(0.05)
    stream.close()
    deadline = time.monotonic() + 2
    while not source.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.cancelled
    with pytest.raises(StreamClosed):
        stream.read(1)


def test_blocking_read_ends_at_the_request_deadline(lt: LoopThread) -> None:
    state = make_state(lt.loop, deadline=time.monotonic() + 0.2)
    stream = PullInputStream(state, Source([b"never"], gated=True))
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        stream.blocking_read(1)
    assert 0.15 < time.monotonic() - started < 2


# -- PushOutputStream -----------------------------------------------------------------------------


class Sink:
    """An async sink that can be held closed, and can fail."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.calls = 0
        self.open = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self, data: bytes) -> None:
        self.calls += 1
        await self.open.wait()
        if self.fail is not None:
            raise self.fail
        self.data += data


def open_sink(lt: LoopThread, sink: Sink) -> None:
    lt.loop.call_soon_threadsafe(sink.open.set)


def test_backpressure_holds_the_guest_to_the_capacity(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=8)
    assert stream.check_write() == 8
    stream.write(b"12345")
    assert stream.check_write() == 3
    stream.write(b"678")
    assert stream.check_write() == 0
    pollable = stream.subscribe()
    assert not pollable.ready()
    open_sink(lt, sink)
    assert state.wait_until(pollable.ready, time.monotonic() + 5)
    assert stream.check_write() == 8
    assert bytes(sink.data) == b"12345678"


def test_write_past_the_permit_traps(lt: LoopThread, state: RequestState) -> None:
    stream = PushOutputStream(state, Sink(), capacity=4)
    with pytest.raises(HostTrap, match="exceeds"):
        stream.write(b"12345")
    stream.write(b"1234")
    with pytest.raises(HostTrap):
        stream.write(b"5")


def test_blocking_write_and_flush_waits_for_room(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=4)
    threading.Timer(0.1, open_sink, (lt, sink)).start()
    started = time.monotonic()
    stream.blocking_write_and_flush(b"0123456789")  # needs the sink to take bytes twice
    assert time.monotonic() - started >= 0.09
    lt.run(stream.drain())
    assert bytes(sink.data) == b"0123456789"


def test_sync_flush_waits_for_the_sink(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=100, sync_flush=True)
    stream.write(b"abc")
    stream.flush()
    assert stream.check_write() == 0  # flushing: no writes until the sink took the bytes
    threading.Timer(0.1, open_sink, (lt, sink)).start()
    stream.blocking_flush()
    assert bytes(sink.data) == b"abc"
    assert stream.check_write() == 100


def test_default_flush_completes_once_queued(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()  # never opened
    stream = PushOutputStream(state, sink, capacity=100)
    stream.write(b"abc")
    stream.blocking_flush()  # returns although the sink has not taken the bytes
    assert stream.check_write() == 97
    assert stream.pending == 3


def test_sink_failure_fails_the_next_call_then_closed(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    sink.fail = ConnectionResetError("client left")
    stream = PushOutputStream(state, sink, capacity=4, error_detail=lambda e: "gone")
    stream.write(b"1234")
    open_sink(lt, sink)
    pollable = stream.subscribe()
    assert state.wait_until(pollable.ready, time.monotonic() + 5)
    with pytest.raises(StreamFailed) as failed:
        stream.check_write()
    assert "client left" in failed.value.error.message and failed.value.error.detail == "gone"
    with pytest.raises(StreamClosed):
        stream.write(b"")
    with pytest.raises(StreamFailed):
        lt.run(stream.drain())


def test_sink_failure_wakes_a_blocked_writer(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    sink.fail = BrokenPipeError("broken")
    stream = PushOutputStream(state, sink, capacity=2)
    threading.Timer(0.1, open_sink, (lt, sink)).start()
    with pytest.raises(StreamFailed):
        stream.blocking_write_and_flush(b"123456")


def test_close_keeps_queued_bytes_and_drain_waits_for_them(
    lt: LoopThread, state: RequestState
) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=10)
    stream.write(b"abc")
    stream.close()
    with pytest.raises(StreamClosed):
        stream.check_write()
    threading.Timer(0.1, open_sink, (lt, sink)).start()
    lt.run(stream.drain())
    assert bytes(sink.data) == b"abc"


def test_abort_drops_queued_bytes(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=10)
    stream.write(b"abc")  # taken by the pump, stuck in the sink
    time.sleep(0.05)
    stream.write(b"def")  # queued behind it
    stream.abort()
    open_sink(lt, sink)
    lt.run(stream.drain())
    assert bytes(sink.data) == b"abc"
    assert stream.pending == 0
    with pytest.raises(StreamClosed):
        stream.write(b"")


def test_queued_writes_reach_the_sink_coalesced(lt: LoopThread, state: RequestState) -> None:
    sink = Sink()
    stream = PushOutputStream(state, sink, capacity=100)
    stream.write(b"a")
    time.sleep(0.05)  # the pump is now stuck in the sink with "a"
    for part in (b"b", b"c", b"d"):
        stream.write(part)
    open_sink(lt, sink)
    lt.run(stream.drain())
    assert bytes(sink.data) == b"abcd"
    assert sink.calls == 2
    assert stream.bytes_accepted == 4


# -- synchronous sinks ----------------------------------------------------------------------------


def test_callback_stream_passes_writes_through(state: RequestState) -> None:
    got: list[bytes] = []
    stream = CallbackOutputStream(got.append, permit=8)
    assert stream.check_write() == 8
    stream.blocking_write_and_flush(b"0123456789")
    assert b"".join(got) == b"0123456789"
    stream.write_zeroes(3)
    assert got[-1] == b"\0\0\0"
    with pytest.raises(HostTrap):
        stream.write(b"x" * 9)


def test_callback_failure_fails_the_write_then_closed(state: RequestState) -> None:
    def fail(_data: bytes) -> None:
        raise OSError("disk full")

    stream = CallbackOutputStream(fail)
    with pytest.raises(StreamFailed, match="disk full"):
        stream.write(b"x")
    with pytest.raises(StreamClosed):
        stream.check_write()


def test_discard_accepts_everything(state: RequestState) -> None:
    stream = DiscardOutputStream()
    stream.blocking_write_and_flush(b"x" * 4096)
    assert stream.check_write() > 0
    assert stream.subscribe().ready()


def test_splice_moves_what_the_source_has(state: RequestState) -> None:
    got: list[bytes] = []
    out = CallbackOutputStream(got.append, permit=4)
    src = BytesInputStream(b"abcdefgh")
    assert out.splice(src, 100) == 4  # limited by the permit
    assert out.blocking_splice(src, 3) == 3  # limited by len
    assert b"".join(got) == b"abcdefg"
    assert out.splice(src, 100) == 1
    with pytest.raises(StreamClosed):
        out.splice(src, 100)
