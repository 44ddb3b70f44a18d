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
    ByteChannel,
    BytesInputStream,
    CallbackOutputStream,
    EmptyInputStream,
    PullInputStream,
)
from spin_py.host.state import RequestState, bind
from spin_py.host.streams import IoError, StreamClosed, StreamFailed
from spin_py.host.table import DeadlineExceeded, HostTrap
from tests.support.models import make_state
from tests.support.runtime_harness import LoopThread


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


# -- ByteChannel ---------------------------------------------------------------------------------


def read_all(lt: LoopThread, channel: ByteChannel) -> bytes:
    """Every byte until the end, read on the loop (one `read` per batch)."""

    async def collect() -> bytes:
        out = bytearray()
        while (batch := await channel.read()) is not None:
            out += batch
        return bytes(out)

    return lt.run(collect())


class CountingChannel(ByteChannel):
    """Counts the wake-ups the writer sends to a waiting reader."""

    wakes = 0

    def _wake(self, waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None:
            self.wakes += 1
        super()._wake(waiter)


def test_backpressure_holds_the_guest_to_the_capacity(lt: LoopThread, state: RequestState) -> None:
    channel = ByteChannel(state, capacity=8)
    assert channel.check_write() == 8
    channel.write(b"12345")
    assert channel.check_write() == 3
    channel.write(b"678")
    assert channel.check_write() == 0
    pollable = channel.subscribe()
    assert not pollable.ready()
    assert lt.run(channel.read()) == b"12345678"  # everything buffered, in one batch
    assert pollable.ready() and channel.check_write() == 8


def test_write_past_the_permit_traps(state: RequestState) -> None:
    channel = ByteChannel(state, capacity=4)
    with pytest.raises(HostTrap, match="exceeds"):
        channel.write(b"12345")
    channel.write(b"1234")
    with pytest.raises(HostTrap):
        channel.write(b"5")


def test_blocking_write_and_flush_waits_only_for_room(lt: LoopThread, state: RequestState) -> None:
    """No timing bound: a first write that waited for a reader would fail at the state's 10 s
    deadline (nobody reads until `go`); the second returns only once the reader made room."""
    channel = ByteChannel(state, capacity=4)
    go = threading.Event()

    async def reader() -> bytes:
        await asyncio.to_thread(go.wait)
        out = bytearray()
        while (batch := await channel.read()) is not None:
            out += batch
        return bytes(out)

    reading = asyncio.run_coroutine_threadsafe(reader(), lt.loop)
    channel.blocking_write_and_flush(b"0123")  # fits: returns with nobody reading
    assert channel.buffered == 4 and not go.is_set()
    threading.Timer(0.1, go.set).start()
    channel.blocking_write_and_flush(b"456789")  # the buffer is full: waits for the reader
    assert go.is_set()
    channel.finish()
    assert reading.result(5) == b"0123456789"


def test_flush_completes_once_buffered(state: RequestState) -> None:
    channel = ByteChannel(state, capacity=100)  # nobody reads
    channel.write(b"abc")
    channel.flush()
    channel.blocking_flush()  # "flushed" means accepted into the host's buffer
    assert channel.check_write() == 97 and channel.buffered == 3


def test_the_writer_wakes_only_a_waiting_reader(lt: LoopThread, state: RequestState) -> None:
    channel = CountingChannel(state, capacity=1000)
    for _ in range(100):
        channel.write(b"x")
    assert channel.wakes == 0  # nobody waits: no hand-off to the loop at all
    assert lt.run(channel.read()) == b"x" * 100
    reader = asyncio.run_coroutine_threadsafe(channel.read(), lt.loop)
    deadline = time.monotonic() + 5
    while channel._waiter is None:  # the reader found the buffer empty and waits
        assert time.monotonic() < deadline
        time.sleep(0.001)
    for _ in range(10):
        channel.write(b"y")
    assert channel.wakes == 1  # the empty -> non-empty transition, not every chunk
    assert reader.result(5).startswith(b"y")


def test_the_reader_wakes_a_writer_only_when_the_buffer_was_full(
    lt: LoopThread, state: RequestState
) -> None:
    notified = 0
    original = state.notify

    def counting_notify() -> None:
        nonlocal notified
        notified += 1
        original()

    state.notify = counting_notify  # type: ignore[method-assign]
    channel = ByteChannel(state, capacity=4)
    channel.write(b"12")
    assert lt.run(channel.read()) == b"12" and notified == 0
    channel.write(b"1234")
    assert lt.run(channel.read()) == b"1234" and notified == 1


def test_finish_keeps_buffered_bytes_then_ends(lt: LoopThread, state: RequestState) -> None:
    channel = ByteChannel(state, capacity=10)
    channel.write(b"abc")
    channel.finish()
    with pytest.raises(StreamClosed):
        channel.check_write()
    assert channel.subscribe().ready()
    assert read_all(lt, channel) == b"abc"
    assert lt.run(channel.read()) is None


def test_abort_reaches_the_reader_after_the_bytes_before_it(
    lt: LoopThread, state: RequestState
) -> None:
    channel = ByteChannel(state, capacity=10)
    channel.write(b"abc")
    channel.abort(ValueError("broken body"))
    assert lt.run(channel.read()) == b"abc"
    with pytest.raises(ValueError, match="broken body"):
        lt.run(channel.read())
    with pytest.raises(StreamClosed):
        channel.write(b"")


def test_reader_failure_fails_the_next_call_then_closed(state: RequestState) -> None:
    channel = ByteChannel(state, capacity=4)
    channel.write(b"1234")
    channel.close_reader(IoError("client left", "gone"))
    with pytest.raises(StreamFailed) as failed:
        channel.check_write()
    assert failed.value.error.message == "client left" and failed.value.error.detail == "gone"
    with pytest.raises(StreamClosed):
        channel.write(b"")
    assert channel.buffered == 0  # what the reader never took is dropped


def test_reader_failure_wakes_a_blocked_writer(lt: LoopThread, state: RequestState) -> None:
    channel = ByteChannel(state, capacity=2)
    timer = threading.Timer(0.1, channel.close_reader, (IoError("broken", None),))
    timer.start()
    with pytest.raises(StreamFailed):
        channel.blocking_write_and_flush(b"123456")
    timer.join()


def test_a_reader_gone_without_failure_closes_the_stream(state: RequestState) -> None:
    channel = ByteChannel(state, capacity=4)
    channel.close_reader()
    with pytest.raises(StreamClosed):
        channel.check_write()


def test_discarding_reader_accepts_and_drops_writes(lt: LoopThread, state: RequestState) -> None:
    channel = ByteChannel(state, capacity=4)
    channel.write(b"1234")
    channel.close_reader(discard_writes=True)
    assert channel.check_write() == 4
    channel.blocking_write_and_flush(b"0123456789")  # never blocks: nobody will read
    assert channel.buffered == 0 and lt.run(channel.read()) is None


def test_reading_in_batches_keeps_20_mib_byte_exact(lt: LoopThread, state: RequestState) -> None:
    data = bytes(range(256)) * (20 * 4096)
    channel = ByteChannel(state, capacity=64 * 1024)
    reader = asyncio.run_coroutine_threadsafe(asyncio.wait_for(_collect(channel), 30), lt.loop)
    for start in range(0, len(data), 4096):
        channel.blocking_write_and_flush(data[start : start + 4096])
    channel.finish()
    got, batches = reader.result(30)
    assert got == data
    assert batches < len(data) // 4096  # batched: fewer reads than guest writes


async def _collect(channel: ByteChannel) -> tuple[bytes, int]:
    out = bytearray()
    batches = 0
    while (batch := await channel.read()) is not None:
        out += batch
        batches += 1
    return bytes(out), batches


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


def test_buffered_bytes_are_charged_to_the_request_budget(
    lt: LoopThread, state: RequestState
) -> None:
    budget = state.table.budget
    first, second = ByteChannel(state, capacity=8), ByteChannel(state, capacity=8)
    first.write(b"12345")
    second.write(b"123")
    assert budget.used == 8
    assert lt.run(first.read()) == b"12345"  # the reader took them: refunded
    assert budget.used == 3
    second.close_reader()  # dropped unread: refunded
    assert budget.used == 0
    budget.limit = 6
    third = ByteChannel(state, capacity=8)
    third.write(b"123456")
    with pytest.raises(HostTrap, match=r"an outgoing body: .* over the host limit of 6 bytes"):
        third.write(b"7")
    assert third.read_nowait() == (b"123456", False) and budget.used == 0
    third.write(b"7")  # room in the budget again
