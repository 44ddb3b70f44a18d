"""`wasi:io/streams`: every method of `input-stream` and `output-stream`.

Each function finds its stream in the request's table and calls the matching method of
`spin_py.host.streams.InputStream` / `OutputStream`; the stream's exceptions become the WIT
`stream-error` (`StreamClosed` -> `closed`, `StreamFailed` -> `last-operation-failed(error)`,
the error pushed as a new `wasi:io/error` handle), and `HostTrap` traps the guest. Results are
lowered through `spin_py.host.wit` shapes.

Limits from the WIT text: `blocking-write-and-flush` and `blocking-write-zeroes-and-flush`
take at most 4096 bytes (more traps); writing more than `check-write` permitted traps. Reads
are capped at `MAX_READ` bytes per call: the guest may ask for more, and gets less.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host.linking import HostFunc, add_funcs, add_resource, wasi
from spin_py.host.state import RequestState, current
from spin_py.host.streams import InputStream, OutputStream, StreamClosed, StreamFailed
from spin_py.host.table import HostTrap, Store, resource_kind
from spin_py.host.wit import BYTES, INT, NONE, RESOURCE, ResultShape, result, variant
from spin_py.wasi.io.error import ERROR
from spin_py.wasi.io.poll import POLLABLE

INTERFACE = "wasi:io/streams"
INPUT_STREAM = resource_kind(INTERFACE, "input-stream")
OUTPUT_STREAM = resource_kind(INTERFACE, "output-stream")

STREAM_ERROR = variant(RESOURCE, NONE)
"""`stream-error`: `last-operation-failed(own<error>)` | `closed`."""
READ_RESULT = result(BYTES, STREAM_ERROR)
COUNT_RESULT = result(INT, STREAM_ERROR)
UNIT_RESULT = result(NONE, STREAM_ERROR)

MAX_READ = 64 * 1024
"""Most bytes one read returns (each byte costs 32 bytes in wasmtime's C value array)."""
MAX_BLOCKING_WRITE = 4096


def lower(shape: ResultShape, state: RequestState, op: Callable[[], Any]) -> Any:
    """Run a stream operation and lower its outcome as `result<_, stream-error>` `shape`."""
    try:
        return shape.ok(op())
    except StreamClosed:
        return shape.err(None)
    except StreamFailed as failed:
        return shape.err(state.table.push(failed.error, ERROR))


def _input(store: Store, this: Any) -> tuple[RequestState, InputStream]:
    state = current()
    return state, state.table.get(store, this, InputStream)


def _output(store: Store, this: Any) -> tuple[RequestState, OutputStream]:
    state = current()
    return state, state.table.get(store, this, OutputStream)


def _limit_blocking_write(size: int) -> None:
    if size > MAX_BLOCKING_WRITE:
        raise HostTrap(
            f"buffer too large for a blocking write-and-flush: {size} bytes "
            f"(at most {MAX_BLOCKING_WRITE})"
        )


# -- input-stream --------------------------------------------------------------------------------


def read(store: Store, this: Any, length: int) -> Any:
    """`[method]input-stream.read`: bytes available now, possibly none."""
    state, stream = _input(store, this)
    return lower(READ_RESULT, state, lambda: stream.read(min(length, MAX_READ)))


def blocking_read(store: Store, this: Any, length: int) -> Any:
    """`[method]input-stream.blocking-read`: waits for at least one byte (unless len is 0)."""
    state, stream = _input(store, this)
    if length == 0:
        return lower(READ_RESULT, state, lambda: stream.read(0))
    return lower(READ_RESULT, state, lambda: stream.blocking_read(min(length, MAX_READ)))


def skip(store: Store, this: Any, length: int) -> Any:
    """`[method]input-stream.skip`: like `read`, returning the count only."""
    state, stream = _input(store, this)
    return lower(COUNT_RESULT, state, lambda: stream.skip(min(length, MAX_READ)))


def blocking_skip(store: Store, this: Any, length: int) -> Any:
    """`[method]input-stream.blocking-skip`: like `blocking-read`, returning the count only."""
    state, stream = _input(store, this)
    if length == 0:
        return lower(COUNT_RESULT, state, lambda: stream.skip(0))
    return lower(COUNT_RESULT, state, lambda: stream.blocking_skip(min(length, MAX_READ)))


def input_subscribe(store: Store, this: Any) -> Any:
    """`[method]input-stream.subscribe`: ready when data or the end is available."""
    state, stream = _input(store, this)
    return state.table.push(stream.subscribe(), POLLABLE)


# -- output-stream -------------------------------------------------------------------------------


def check_write(store: Store, this: Any) -> Any:
    """`[method]output-stream.check-write`: how many bytes the next write may carry."""
    state, stream = _output(store, this)
    return lower(COUNT_RESULT, state, stream.check_write)


def write(store: Store, this: Any, contents: bytes) -> Any:
    """`[method]output-stream.write`: within the last permit, else trap."""
    state, stream = _output(store, this)
    return lower(UNIT_RESULT, state, lambda: stream.write(contents))


def blocking_write_and_flush(store: Store, this: Any, contents: bytes) -> Any:
    """`[method]output-stream.blocking-write-and-flush`: up to 4096 bytes, written and flushed."""
    state, stream = _output(store, this)
    _limit_blocking_write(len(contents))
    return lower(UNIT_RESULT, state, lambda: stream.blocking_write_and_flush(contents))


def flush(store: Store, this: Any) -> Any:
    """`[method]output-stream.flush`: start flushing; `check-write` is 0 until done."""
    state, stream = _output(store, this)
    return lower(UNIT_RESULT, state, stream.flush)


def blocking_flush(store: Store, this: Any) -> Any:
    """`[method]output-stream.blocking-flush`: flush and wait for it."""
    state, stream = _output(store, this)
    return lower(UNIT_RESULT, state, stream.blocking_flush)


def output_subscribe(store: Store, this: Any) -> Any:
    """`[method]output-stream.subscribe`: ready when writable again, or on error."""
    state, stream = _output(store, this)
    return state.table.push(stream.subscribe(), POLLABLE)


def write_zeroes(store: Store, this: Any, length: int) -> Any:
    """`[method]output-stream.write-zeroes`: like `write` of `len` zero bytes."""
    state, stream = _output(store, this)
    return lower(UNIT_RESULT, state, lambda: stream.write_zeroes(length))


def blocking_write_zeroes_and_flush(store: Store, this: Any, length: int) -> Any:
    """`[method]output-stream.blocking-write-zeroes-and-flush`: up to 4096 zero bytes."""
    state, stream = _output(store, this)
    _limit_blocking_write(length)
    return lower(UNIT_RESULT, state, lambda: stream.blocking_write_zeroes_and_flush(length))


def splice(store: Store, this: Any, src: Any, length: int) -> Any:
    """`[method]output-stream.splice`: move what `src` has now, within the permit."""
    state, stream = _output(store, this)
    source = state.table.get(store, src, InputStream)
    return lower(COUNT_RESULT, state, lambda: stream.splice(source, min(length, MAX_READ)))


def blocking_splice(store: Store, this: Any, src: Any, length: int) -> Any:
    """`[method]output-stream.blocking-splice`: `splice` after waiting for both sides."""
    state, stream = _output(store, this)
    source = state.table.get(store, src, InputStream)
    return lower(COUNT_RESULT, state, lambda: stream.blocking_splice(source, min(length, MAX_READ)))


FUNCS: dict[str, HostFunc] = {
    "[method]input-stream.read": read,
    "[method]input-stream.blocking-read": blocking_read,
    "[method]input-stream.skip": skip,
    "[method]input-stream.blocking-skip": blocking_skip,
    "[method]input-stream.subscribe": input_subscribe,
    "[method]output-stream.check-write": check_write,
    "[method]output-stream.write": write,
    "[method]output-stream.blocking-write-and-flush": blocking_write_and_flush,
    "[method]output-stream.flush": flush,
    "[method]output-stream.blocking-flush": blocking_flush,
    "[method]output-stream.subscribe": output_subscribe,
    "[method]output-stream.write-zeroes": write_zeroes,
    "[method]output-stream.blocking-write-zeroes-and-flush": blocking_write_zeroes_and_flush,
    "[method]output-stream.splice": splice,
    "[method]output-stream.blocking-splice": blocking_splice,
}


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:io/streams`."""
    with root.add_instance(wasi(INTERFACE)) as instance:
        add_resource(instance, INPUT_STREAM)
        add_resource(instance, OUTPUT_STREAM)
        add_funcs(instance, FUNCS)
