"""Concrete input and output streams for the host side of `wasi:io/streams`.

Two threads meet here: the guest thread calls the stream methods (through `wasi:io/streams`),
and the event loop moves bytes in and out (aiohttp request bodies, response writes). Each
stream guards its state with a lock held only for a few statements, never while waiting; the
loop side calls `RequestState.notify()` after every change so blocked guest calls re-check.

- `BytesInputStream`, `EmptyInputStream`: fixed content.
- `PullInputStream`: pulls chunks from an async source on the loop when the guest wants data.
- `PushOutputStream`: hands written bytes to an async sink on the loop, with bounded buffering.
- `CallbackOutputStream`: a synchronous sink (e.g. stdout capture); `DiscardOutputStream`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from spin_py.host.pollable import AlwaysReady, CallbackPollable, Pollable
from spin_py.host.state import RequestState
from spin_py.host.streams import (
    InputStream,
    IoError,
    OutputStream,
    StreamClosed,
    StreamFailed,
)
from spin_py.host.table import HostTrap

DEFAULT_CAPACITY = 64 * 1024
"""Bytes a `PushOutputStream` accepts before the sink has taken them."""

DISCARD_PERMIT = 1024 * 1024


def describe(exc: BaseException) -> str:
    """A one-line description of `exc` for an `IoError` message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


ErrorDetail = Callable[[BaseException], object]
"""Turns a source's or sink's exception into the `IoError.detail` the guest can downcast."""


def _io_error(exc: BaseException, error_detail: ErrorDetail | None) -> IoError:
    return IoError(describe(exc), error_detail(exc) if error_detail is not None else exc)


def _cancelled_from_outside() -> bool:
    """Inside a task: whether the task itself is being cancelled (not just a callee)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _check_permit(size: int, permit: int) -> None:
    if size > permit:
        raise HostTrap(f"write of {size} bytes exceeds the {permit} bytes permitted by check-write")


# -- input streams ------------------------------------------------------------------------------


class BytesInputStream(InputStream):
    """Reads `data`, then reports the end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int) -> bytes:
        if self._pos >= len(self._data):
            raise StreamClosed
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def blocking_read(self, n: int) -> bytes:
        return self.read(n)

    def subscribe(self) -> Pollable:
        return AlwaysReady()


class EmptyInputStream(InputStream):
    """A stream that has already ended (e.g. stdin)."""

    def read(self, n: int) -> bytes:
        raise StreamClosed

    def blocking_read(self, n: int) -> bytes:
        raise StreamClosed

    def subscribe(self) -> Pollable:
        return AlwaysReady()


NextChunk = Callable[[], Awaitable[bytes | None]]
"""Returns the next chunk of a source on the event loop; None or b"" at the end."""


class PullInputStream(InputStream):
    """Reads chunks that `next_chunk()` produces on the event loop.

    `next_chunk()` returns None or b"" at the end (so `aiohttp`'s `content.readany` fits).
    A fetch starts when the guest asks for data (a read finding the buffer empty, or a check
    of the `subscribe` pollable) and, once the guest has drained the buffer, one chunk ahead:
    at most two chunks are held. `read` never waits: it returns b"" while a fetch is in
    flight. An exception from `next_chunk` is reported once as `StreamFailed` (its `IoError`
    detail is `error_detail(exc)`, else the exception); the stream is closed afterwards.
    `close()` (or the guest dropping the stream) cancels a fetch in flight.
    """

    def __init__(
        self,
        state: RequestState,
        next_chunk: NextChunk,
        *,
        error_detail: ErrorDetail | None = None,
    ) -> None:
        self._state = state
        self._next_chunk = next_chunk
        self._error_detail = error_detail
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self._error: IoError | None = None
        self._fetch: Future[None] | None = None
        self.bytes_read = 0

    def read(self, n: int) -> bytes:
        with self._lock:
            if self._buffer:
                chunk = bytes(self._buffer[:n])
                del self._buffer[:n]
                self.bytes_read += len(chunk)
                if not self._buffer:
                    self._start_fetch()
                return chunk
            self._raise_if_ended()
            self._start_fetch()
            return b""

    def blocking_read(self, n: int) -> bytes:
        while True:
            chunk = self.read(n)
            if chunk or n == 0:
                return chunk
            self._state.wait_until(self._readable)

    def subscribe(self) -> Pollable:
        return CallbackPollable(self._readable)

    def close(self) -> None:
        """End the stream for the guest and cancel any fetch in flight (any thread)."""
        with self._lock:
            self._closed = True
            fetch, self._fetch = self._fetch, None
        if fetch is not None:
            fetch.cancel()
        self._state.notify()

    def on_drop(self) -> None:
        self.close()

    def _readable(self) -> bool:
        with self._lock:
            if self._buffer or self._eof or self._closed or self._error is not None:
                return True
            self._start_fetch()
            return False

    def _raise_if_ended(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._closed = True
            raise StreamFailed(error)
        if self._eof or self._closed:
            raise StreamClosed

    def _start_fetch(self) -> None:
        """Start pulling the next chunk unless one is in flight or the source is done."""
        if self._fetch is not None or self._eof or self._closed or self._error is not None:
            return
        try:
            self._fetch = asyncio.run_coroutine_threadsafe(self._pull(), self._state.loop)
        except RuntimeError as err:  # the loop is closed: the server is going away
            self._error = IoError(f"input stream source unavailable: {describe(err)}", err)

    async def _pull(self) -> None:
        try:
            chunk = await self._next_chunk()
        except asyncio.CancelledError as exc:
            if _cancelled_from_outside():
                raise
            self._source_failed(exc)
        except Exception as exc:
            self._source_failed(exc)
        else:
            with self._lock:
                if not chunk:
                    self._eof = True
                else:
                    self._buffer += chunk
                self._fetch = None
        self._state.notify()

    def _source_failed(self, exc: BaseException) -> None:
        with self._lock:
            self._error = _io_error(exc, self._error_detail)
            self._fetch = None


# -- output streams -----------------------------------------------------------------------------

Sink = Callable[[bytes], Awaitable[None]]
"""Takes bytes on the event loop; returning means they were accepted (e.g. written)."""


class PushOutputStream(OutputStream):
    """Hands written bytes to `sink` on the event loop, holding at most `capacity` bytes.

    `check_write` permits `capacity` minus the bytes the sink has not yet accepted, so a slow
    sink (a slow client) slows the guest down. Written bytes go to the loop at once (a pump
    task hands everything queued to the sink in one call).

    Flushing: by default the buffer is the channel, as in wasmtime's HTTP body streams, and a
    flush is complete as soon as the bytes are queued; `sync_flush=True` makes a flush wait
    until the sink has accepted every byte written before it (one thread round trip per
    flush, which a guest writing 4 KiB `blocking-write-and-flush` chunks pays per chunk).
    A sink exception fails the stream: the next guest call reports it (`StreamFailed`),
    later calls report `closed`.

    The owner (e.g. the response body) calls `close()` to refuse further writes, then
    `drain()` on the loop (or `wait_drained()` in the guest thread) to wait until every
    accepted byte has reached the sink; or `abort()` to refuse writes and drop what is queued.
    A sink failure's `IoError` detail is `error_detail(exc)`, else the exception.
    """

    def __init__(
        self,
        state: RequestState,
        sink: Sink,
        capacity: int = DEFAULT_CAPACITY,
        *,
        sync_flush: bool = False,
        error_detail: ErrorDetail | None = None,
    ) -> None:
        self._state = state
        self._error_detail = error_detail
        self._sink = sink
        self._capacity = capacity
        self._sync_flush = sync_flush
        self._lock = threading.Lock()
        self._queue: deque[bytes] = deque()
        self._pending = 0
        self._flushing = False
        self._pumping = False
        self._pump_done: asyncio.Event | None = None
        self._closed = False
        self._error: IoError | None = None
        self._error_reported = False
        self.bytes_accepted = 0
        """Bytes the sink has taken so far."""

    @property
    def pending(self) -> int:
        """Bytes written by the guest that the sink has not taken yet."""
        return self._pending

    @property
    def error(self) -> IoError | None:
        """The sink's failure, if it failed."""
        return self._error

    def check_write(self) -> int:
        with self._lock:
            self._raise_if_unusable()
            return self._permit()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._raise_if_unusable()
            _check_permit(len(data), self._permit())
            if not data:
                return
            self._queue.append(data)
            self._pending += len(data)
            start = not self._pumping
            self._pumping = True
        if start:
            try:
                self._state.loop.call_soon_threadsafe(self._start_pump)
            except RuntimeError as err:  # the loop is closed: the server is going away
                self._fail(err)

    def flush(self) -> None:
        with self._lock:
            self._raise_if_unusable()
            self._flushing = self._sync_flush and self._pending > 0

    def blocking_flush(self) -> None:
        self.flush()
        if self._sync_flush:
            self._state.wait_until(self._flushed_or_failed)
        with self._lock:
            self._raise_if_unusable()

    def subscribe(self) -> Pollable:
        return CallbackPollable(self._writable)

    def close(self) -> None:
        """Refuse further writes (guest calls see `closed`); accepted bytes still go out.

        Callable from any thread.
        """
        with self._lock:
            self._closed = True
        self._state.notify()

    def abort(self) -> None:
        """Refuse further writes and drop the bytes not yet handed to the sink (any thread).

        A sink call already in progress completes; `drain()` then returns.
        """
        with self._lock:
            self._closed = True
            dropped = sum(len(chunk) for chunk in self._queue)
            self._queue.clear()
            self._pending -= dropped
        self._state.notify()

    async def drain(self) -> None:
        """On the loop: wait until the sink has taken every accepted byte.

        Raises `StreamFailed` if the sink failed.
        """
        while True:
            with self._lock:
                if self._error is not None:
                    raise StreamFailed(self._error)
                if not self._pumping:
                    return
                done = self._pump_done
            if done is None:  # the pump is scheduled but has not started yet
                await asyncio.sleep(0)
            else:
                await done.wait()

    def wait_drained(self) -> None:
        """In the guest thread: like `drain()`, blocking through the request state."""
        self._state.wait_until(self._flushed_or_failed)
        if self._error is not None:
            raise StreamFailed(self._error)

    def _permit(self) -> int:
        if self._flushing:
            if self._pending > 0:
                return 0
            self._flushing = False
        return max(0, self._capacity - self._pending)

    def _raise_if_unusable(self) -> None:
        if self._error is not None and not self._error_reported:
            self._error_reported = True
            raise StreamFailed(self._error)
        if self._closed or self._error is not None:
            raise StreamClosed

    def _flushed_or_failed(self) -> bool:
        return self._pending == 0 or self._error is not None

    def _writable(self) -> bool:
        with self._lock:
            if self._closed or self._error is not None:
                return True
            return self._pending < self._capacity and not (self._flushing and self._pending > 0)

    def _start_pump(self) -> None:
        self._pump_done = asyncio.Event()
        self._state.loop.create_task(self._pump(self._pump_done))

    async def _pump(self, done: asyncio.Event) -> None:
        try:
            while (data := self._take_queued()) is not None:
                try:
                    await self._sink(data)
                except BaseException as exc:
                    self._fail(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    return
                with self._lock:
                    self._pending -= len(data)
                    self.bytes_accepted += len(data)
                self._state.notify()
        finally:
            done.set()

    def _take_queued(self) -> bytes | None:
        with self._lock:
            if not self._queue:
                self._pumping = False
                return None
            data = self._queue[0] if len(self._queue) == 1 else b"".join(self._queue)
            self._queue.clear()
            return data

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._error = _io_error(exc, self._error_detail)
            self._queue.clear()
            self._pending = 0
            self._pumping = False
        self._state.notify()


class CallbackOutputStream(OutputStream):
    """Passes each write straight to `fn` in the guest thread (for fast local sinks).

    An exception from `fn` fails that write (`StreamFailed`); the stream is closed afterwards.
    """

    def __init__(self, fn: Callable[[bytes], None], permit: int = DEFAULT_CAPACITY) -> None:
        self._fn = fn
        self._permit = permit
        self._closed = False

    def check_write(self) -> int:
        self._raise_if_closed()
        return self._permit

    def write(self, data: bytes) -> None:
        self._raise_if_closed()
        _check_permit(len(data), self._permit)
        if not data:
            return
        try:
            self._fn(data)
        except Exception as exc:
            self._closed = True
            raise StreamFailed(IoError(describe(exc), exc)) from exc

    def flush(self) -> None:
        self._raise_if_closed()

    def blocking_flush(self) -> None:
        self._raise_if_closed()

    def subscribe(self) -> Pollable:
        return AlwaysReady()

    def close(self) -> None:
        """Refuse further writes."""
        self._closed = True

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise StreamClosed


class DiscardOutputStream(CallbackOutputStream):
    """Accepts and forgets every byte."""

    def __init__(self) -> None:
        super().__init__(lambda _data: None, DISCARD_PERMIT)
