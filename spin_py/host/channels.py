"""Concrete input and output streams for the host side of `wasi:io/streams`, and the channels
that carry bytes between the guest's thread and the event loop.

Two threads meet here: the guest thread calls the stream methods (through `wasi:io/streams`),
and the event loop moves bytes in and out (aiohttp request bodies, response writes). Each
stream guards its state with a lock held only for a few statements, never while waiting; a
change that may unblock a waiting guest call ends with `RequestState.notify()`.

- `BytesInputStream`, `EmptyInputStream`: fixed content.
- `PullInputStream`: pulls chunks from an async source on the loop when the guest wants data.
- `ByteChannel`: the guest writes, the loop reads in batches; bounded (every outgoing body,
  HTTP response or request, owns one).
- `CallbackOutputStream`: a synchronous sink in the guest thread (stdout/stderr capture).
"""

from __future__ import annotations

import asyncio
import threading
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
"""Bytes a `ByteChannel` holds before the reader has taken them (and a `CallbackOutputStream`'s
permit)."""


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


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ByteChannel(OutputStream):
    """A bounded, thread-safe byte channel: the guest writes, the event loop reads.

    The writer end is this object, an `OutputStream` the guest writes to from its thread: a
    write appends to the buffer under a lock and returns at once while there is room
    (`check_write` reports the room left of `capacity`); `blocking_write_and_flush` waits only
    while the buffer is full. A flush is complete once the bytes are in the buffer ("flushed"
    means accepted by the host, as in wasmtime's HTTP body streams). The owner ends the writer
    side with `finish()` or `abort(reason)`; writes are refused (`closed`) afterwards.

    The reader end is `read()`, awaited on the request's event loop: it takes everything buffered
    in one call (one batch per wake-up), waits while the buffer is empty, returns None once the
    writer finished and every byte was read, and raises the abort reason after the bytes written
    before the abort. The writer wakes the loop only when the reader is waiting (the buffer went
    from empty to non-empty, or the writer side ended), never per chunk; the reader wakes a
    guest only when it frees room in a full buffer. At most `capacity` bytes are buffered, plus
    the one batch the reader holds. Buffered bytes are charged to the request's `HostBudget`
    (a guest may own many bodies that nobody reads yet) and refunded when the reader takes them
    or they are dropped.

    `close_reader()` says nobody will read any more (the client went away, the request is over):
    buffered bytes are dropped and the guest's next call reports `failure` once (as
    `last-operation-failed`), then `closed`; with `discard_writes=True` writes are accepted and
    dropped instead (a failed outbound request, whose failure reaches the guest elsewhere).
    """

    def __init__(self, state: RequestState, capacity: int = DEFAULT_CAPACITY) -> None:
        self._state = state
        self._budget = state.table.budget
        self._capacity = capacity
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._finished = False
        self._aborted: BaseException | None = None
        self._reader_gone = False
        self._discard = False
        self._failure: IoError | None = None
        self._failure_reported = False
        self._waiter: asyncio.Future[None] | None = None
        self.bytes_written = 0
        """Bytes the channel accepted from the guest (dropped ones excluded)."""

    @property
    def buffered(self) -> int:
        """Bytes written that the reader has not taken yet."""
        return len(self._buffer)

    @property
    def ended(self) -> bool:
        """True once the writer side finished or aborted."""
        return self._finished or self._aborted is not None

    # -- the writer end (guest thread) ----------------------------------------------------------

    def check_write(self) -> int:
        with self._lock:
            self._raise_if_unusable()
            return self._room()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._raise_if_unusable()
            _check_permit(len(data), self._room())
            waiter = self._append(data)
        self._wake(waiter)

    def flush(self) -> None:
        with self._lock:
            self._raise_if_unusable()

    def blocking_flush(self) -> None:
        self.flush()

    def subscribe(self) -> Pollable:
        return CallbackPollable(self._writable)

    def blocking_write_and_flush(self, data: bytes) -> None:
        """Append `data` as room allows, waiting only while the buffer is full."""
        view = memoryview(data)
        while True:
            with self._lock:
                self._raise_if_unusable()
                room = self._room()
                taken = min(room, len(view))
                waiter = self._append(view[:taken])
            view = view[taken:]
            self._wake(waiter)
            if not view:
                return
            if not room:
                self._state.wait_until(self._writable)

    def finish(self) -> None:
        """End the writer side normally: the reader sees the end after the buffered bytes."""
        self._end(None)

    def abort(self, reason: BaseException) -> None:
        """End the writer side as broken: the reader gets `reason` after the buffered bytes."""
        self._end(reason)

    # -- the reader end (event loop) ------------------------------------------------------------

    async def read(self) -> bytes | None:
        """Every buffered byte in one batch, waiting while there is none; None at the end.

        Raises the writer's abort reason once the bytes written before the abort were read.
        """
        while True:
            with self._lock:
                if self._buffer:
                    was_full = len(self._buffer) >= self._capacity
                    batch, self._buffer = self._buffer, bytearray()
                    self._budget.refund(len(batch))
                    break
                if self._aborted is not None:
                    raise self._aborted
                if self._finished or self._reader_gone:
                    return None
                waiter = asyncio.get_running_loop().create_future()
                self._waiter = waiter
            await waiter
        if was_full:
            self._state.notify()
        return bytes(batch)

    def read_nowait(self) -> tuple[bytes, bool] | None:
        """What `read` would return now, without waiting: (every buffered byte, whether the
        writer finished with nothing more to come), or None when nothing is there yet. Raises
        the abort reason like `read` (after the bytes written before the abort were taken)."""
        with self._lock:
            if self._buffer:
                was_full = len(self._buffer) >= self._capacity
                batch, self._buffer = self._buffer, bytearray()
                self._budget.refund(len(batch))
                finished = self._finished
            elif self._aborted is not None:
                raise self._aborted
            elif self._finished or self._reader_gone:
                return b"", True
            else:
                return None
        if was_full:
            self._state.notify()
        return bytes(batch), finished

    def close_reader(self, failure: IoError | None = None, *, discard_writes: bool = False) -> None:
        """Nobody reads any more (any thread); see the class docstring."""
        with self._lock:
            self._reader_gone = True
            self._discard = discard_writes
            if failure is not None and self._failure is None and not self.ended:
                self._failure = failure
            self._budget.refund(len(self._buffer))
            self._buffer.clear()
            waiter, self._waiter = self._waiter, None
        self._wake(waiter)
        self._state.notify()

    # -- internals ------------------------------------------------------------------------------

    def _room(self) -> int:
        if self._discard:
            return self._capacity
        return max(0, self._capacity - len(self._buffer))

    def _append(self, data: bytes | memoryview) -> asyncio.Future[None] | None:
        """Under the lock: take `data`; returns the reader's waiter to wake, if it waits."""
        if self._discard or not data:
            return None
        self._budget.charge(len(data), "an outgoing body")
        self._buffer += data
        self.bytes_written += len(data)
        waiter, self._waiter = self._waiter, None
        return waiter

    def _end(self, reason: BaseException | None) -> None:
        with self._lock:
            if self.ended:
                return
            if reason is None:
                self._finished = True
            else:
                self._aborted = reason
            waiter, self._waiter = self._waiter, None
        self._wake(waiter)

    def _wake(self, waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None:  # batched with the guest's other posts (`RequestState.post`)
            self._state.post(_resolve, waiter)

    def _raise_if_unusable(self) -> None:
        if self._failure is not None and not self._failure_reported:
            self._failure_reported = True
            raise StreamFailed(self._failure)
        if self.ended or (self._reader_gone and not self._discard):
            raise StreamClosed

    def _writable(self) -> bool:
        with self._lock:
            if self._failure is not None or self.ended or self._reader_gone:
                return True
            return self._room() > 0


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
