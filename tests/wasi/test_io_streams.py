"""`wasi:io/streams` host functions, called as a guest call would, with real value lowering.

Every returned value is lowered through the function's real WIT result type (from a code-less
component importing wasi:io@0.2.0) and lifted back, so a wrong shape fails here as it would
fail the guest. A real event loop runs in another thread for the streaming cases.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from wasmtime.component import ResourceAny, ResourceHost, Variant

from spin_py.host.channels import (
    ByteChannel,
    BytesInputStream,
    CallbackOutputStream,
    PullInputStream,
)
from spin_py.host.pollable import Pollable
from spin_py.host.streams import IoError
from spin_py.host.table import HostTrap
from spin_py.wasi.io import error, streams
from spin_py.wasi.io.streams import INPUT_STREAM, OUTPUT_STREAM
from tests.support.runtime_harness import DirectHost, LoopThread

S = "wasi:io/streams"


def push(host: DirectHost, obj: Any, kind: Any) -> ResourceHost:
    return host.state.table.push(obj, kind)


def error_message(host: DirectHost, handle: ResourceAny) -> str:
    return str(
        host.lowered(
            "wasi:io/error", "[method]error.to-debug-string", error.to_debug_string, handle
        )
    )


def test_read_blocking_read_and_closed(host: DirectHost) -> None:
    src = push(host, BytesInputStream(b"hello"), INPUT_STREAM)
    assert host.lowered(S, "[method]input-stream.read", streams.read, src, 2) == b"he"
    assert host.lowered(S, "[method]input-stream.read", streams.read, src, 0) == b""
    got = host.lowered(S, "[method]input-stream.blocking-read", streams.blocking_read, src, 99)
    assert got == b"llo"
    # `closed` lowers as err(closed): untagged, so None
    assert host.lowered(S, "[method]input-stream.read", streams.read, src, 1) is None
    assert (
        host.lowered(S, "[method]input-stream.blocking-read", streams.blocking_read, src, 0) is None
    )


def test_read_length_is_capped(host: DirectHost) -> None:
    src = push(host, BytesInputStream(b"x" * (streams.MAX_READ + 10)), INPUT_STREAM)
    got = host.lowered(S, "[method]input-stream.read", streams.read, src, 2**64 - 1)
    assert len(got) == streams.MAX_READ


def test_skip_and_blocking_skip_count_bytes(host: DirectHost) -> None:
    src = push(host, BytesInputStream(b"abcdef"), INPUT_STREAM)
    assert host.lowered(S, "[method]input-stream.skip", streams.skip, src, 2) == 2
    assert host.lowered(S, "[method]input-stream.blocking-skip", streams.blocking_skip, src, 9) == 4
    assert host.lowered(S, "[method]input-stream.skip", streams.skip, src, 1) is None


def test_failed_read_returns_an_error_resource(lt: LoopThread, host: DirectHost) -> None:
    async def failing() -> bytes | None:
        raise ConnectionResetError("upload interrupted")

    src = push(host, PullInputStream(host.state, failing), INPUT_STREAM)
    failed = host.lowered(S, "[method]input-stream.blocking-read", streams.blocking_read, src, 9)
    assert isinstance(failed, ResourceAny)  # last-operation-failed(error)
    assert "upload interrupted" in error_message(host, failed)
    assert host.lowered(S, "[method]input-stream.read", streams.read, src, 1) is None  # closed


def test_blocking_read_across_threads(lt: LoopThread, host: DirectHost) -> None:
    arrived = asyncio.Event()

    async def slow() -> bytes | None:
        if arrived.is_set():
            return None
        await asyncio.sleep(0.1)
        arrived.set()
        return b"late bytes"

    src = push(host, PullInputStream(host.state, slow), INPUT_STREAM)
    assert host.lowered(S, "[method]input-stream.read", streams.read, src, 99) == b""
    got = host.lowered(S, "[method]input-stream.blocking-read", streams.blocking_read, src, 99)
    assert got == b"late bytes"


def test_subscribe_returns_a_pollable(host: DirectHost) -> None:
    src = push(host, BytesInputStream(b"x"), INPUT_STREAM)
    handle = host.lowered(S, "[method]input-stream.subscribe", streams.input_subscribe, src)
    pollable = host.obj(handle)  # (converting a handle back to the host ends it: once only)
    assert isinstance(pollable, Pollable) and pollable.ready()
    out = push(host, CallbackOutputStream(lambda _d: None), OUTPUT_STREAM)
    handle = host.lowered(S, "[method]output-stream.subscribe", streams.output_subscribe, out)
    assert host.obj(handle).ready()


def test_write_check_write_and_flush(lt: LoopThread, host: DirectHost) -> None:
    channel = ByteChannel(host.state, capacity=16)
    out = push(host, channel, OUTPUT_STREAM)
    assert host.lowered(S, "[method]output-stream.check-write", streams.check_write, out) == 16
    ok = host.lowered(S, "[method]output-stream.write", streams.write, out, b"abc")
    assert ok == Variant("ok")  # result<_, stream-error> is tagged
    assert host.lowered(S, "[method]output-stream.flush", streams.flush, out) == Variant("ok")
    blocking = host.lowered(S, "[method]output-stream.blocking-flush", streams.blocking_flush, out)
    assert blocking == Variant("ok")
    assert lt.run(channel.read()) == b"abc"


def test_write_beyond_the_permit_traps(host: DirectHost) -> None:
    out = push(host, CallbackOutputStream(lambda _d: None, permit=4), OUTPUT_STREAM)
    with pytest.raises(HostTrap):
        host.call(streams.write, out, b"12345")


def test_blocking_write_and_flush_at_most_4096(host: DirectHost) -> None:
    got: list[bytes] = []
    out = push(host, CallbackOutputStream(got.append, permit=1000), OUTPUT_STREAM)
    name = "[method]output-stream.blocking-write-and-flush"
    ok = host.lowered(S, name, streams.blocking_write_and_flush, out, b"y" * 4096)
    assert ok == Variant("ok") and b"".join(got) == b"y" * 4096  # split by the 1000 permit
    with pytest.raises(HostTrap, match="4096"):
        host.call(streams.blocking_write_and_flush, out, b"y" * 4097)


def test_write_zeroes(host: DirectHost) -> None:
    got: list[bytes] = []
    out = push(host, CallbackOutputStream(got.append, permit=10), OUTPUT_STREAM)
    assert host.lowered(S, "[method]output-stream.write-zeroes", streams.write_zeroes, out, 3) == (
        Variant("ok")
    )
    name = "[method]output-stream.blocking-write-zeroes-and-flush"
    assert host.lowered(S, name, streams.blocking_write_zeroes_and_flush, out, 25) == Variant("ok")
    assert b"".join(got) == bytes(28)
    with pytest.raises(HostTrap):
        host.call(streams.write_zeroes, out, 11)  # beyond the permit
    with pytest.raises(HostTrap):
        host.call(streams.blocking_write_zeroes_and_flush, out, 4097)
    with pytest.raises(HostTrap):
        host.call(streams.write_zeroes, out, 2**64 - 1)  # must not allocate first


def test_closed_and_failed_output_lower_as_stream_errors(host: DirectHost) -> None:
    def fail(_data: bytes) -> None:
        raise OSError("disk full")

    out = push(host, CallbackOutputStream(fail), OUTPUT_STREAM)
    failed = host.lowered(S, "[method]output-stream.write", streams.write, out, b"x")
    assert failed.tag == "err" and isinstance(failed.payload, ResourceAny)
    assert "disk full" in error_message(host, failed.payload)
    closed = host.lowered(S, "[method]output-stream.check-write", streams.check_write, out)
    assert closed is None
    assert host.lowered(S, "[method]output-stream.write", streams.write, out, b"") == (
        Variant("err", None)
    )


def test_splice_and_blocking_splice(host: DirectHost) -> None:
    got: list[bytes] = []
    out = push(host, CallbackOutputStream(got.append, permit=3), OUTPUT_STREAM)
    src = push(host, BytesInputStream(b"abcdefg"), INPUT_STREAM)
    assert host.lowered(S, "[method]output-stream.splice", streams.splice, out, src, 10) == 3
    name = "[method]output-stream.blocking-splice"
    assert host.lowered(S, name, streams.blocking_splice, out, src, 2) == 2
    assert host.lowered(S, name, streams.blocking_splice, out, src, 10) == 2
    assert b"".join(got) == b"abcdefg"
    assert host.lowered(S, "[method]output-stream.splice", streams.splice, out, src, 1) is None


def test_blocking_splice_waits_for_the_source(lt: LoopThread, host: DirectHost) -> None:
    chunks = [b"spliced"]

    async def slow() -> bytes | None:
        await asyncio.sleep(0.05)
        return chunks.pop() if chunks else None

    got: list[bytes] = []
    out = push(host, CallbackOutputStream(got.append), OUTPUT_STREAM)
    src = push(host, PullInputStream(host.state, slow), INPUT_STREAM)
    name = "[method]output-stream.blocking-splice"
    assert host.lowered(S, name, streams.blocking_splice, out, src, 100) == 7
    assert got == [b"spliced"]


def test_wrong_handle_kind_traps(host: DirectHost) -> None:
    src = push(host, BytesInputStream(b"x"), INPUT_STREAM)
    with pytest.raises(HostTrap):
        host.call(streams.write, src, b"x")  # an input-stream where an output-stream belongs
    with pytest.raises(HostTrap):
        host.call(streams.read, ResourceHost.own(9999, INPUT_STREAM.tag), 1)


def test_error_resource_to_debug_string(host: DirectHost) -> None:
    handle = push(host, IoError("something broke"), error.ERROR)
    name = "[method]error.to-debug-string"
    assert host.lowered("wasi:io/error", name, error.to_debug_string, handle) == "something broke"


def test_guest_drop_of_a_pull_stream_cancels_its_fetch(lt: LoopThread, host: DirectHost) -> None:
    cancelled = threading.Event()

    async def never() -> bytes | None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return None

    src = push(host, PullInputStream(host.state, never), INPUT_STREAM)
    host.call(streams.read, src, 1)
    time.sleep(0.05)
    host.state.table.drop(src.rep)  # what the resource destructor does on a guest drop
    assert cancelled.wait(2)
