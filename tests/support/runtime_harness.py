"""Test support for the runtime core and the wasi:io/clocks/random hosts.

- `LoopThread`: a real asyncio event loop running in its own thread, as in the server (the
  guest thread blocks; the loop completes futures and notifies).
- `make_context` / `make_state`: a `RequestState` for a throwaway component.
- `handler_wat(...)`: tiny component-text guests exporting `wasi:http/incoming-handler@0.2.0`
  with a `handle` of a chosen signature, for invocation tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from spin_py.runtime.composition import WASI_IO, AddToLinker
from spin_py.wasi import clocks, random
from tests.support.models import make_state

T = TypeVar("T")

IO_MODULES: tuple[AddToLinker, ...] = (
    *WASI_IO,
    clocks.add_to_linker,
    random.add_to_linker,
)
"""The interfaces of this area (the others are built by other helpers)."""


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `coro` on the loop and wait for its result from this thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Cancel what is still running on the loop, then stop and close it."""

        async def cancel_all() -> None:
            await asyncio.sleep(0)  # let callbacks scheduled from other threads start
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@contextmanager
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


# -- component text guests ---------------------------------------------------------------------

HANDLER = "wasi:http/incoming-handler@0.2.0"

CONTROL = "test:host/control"
"""A test-only host interface: `exit(code)`, `boom()` (raises a host bug), `wait(ms)`."""


def simple_handler_wat(body: str, *, memory_pages: int = 1, control: bool = False) -> str:
    """A component whose `handle: func()` runs core instructions `body`.

    With `control`, the core module may call `$exit (i32)`, `$boom` and `$wait (i32)`.
    """
    imports = ""
    lowered = ""
    core_imports = ""
    with_clause = ""
    if control:
        imports = f"""
  (import "{CONTROL}" (instance $ctl
    (export "exit" (func (param "code" u32)))
    (export "boom" (func))
    (export "wait" (func (param "ms" u32)))))"""
        lowered = """
  (core func $exit (canon lower (func $ctl "exit")))
  (core func $boom (canon lower (func $ctl "boom")))
  (core func $wait (canon lower (func $ctl "wait")))"""
        core_imports = """
    (import "ctl" "exit" (func $exit (param i32)))
    (import "ctl" "boom" (func $boom))
    (import "ctl" "wait" (func $wait (param i32)))"""
        with_clause = """(with "ctl" (instance
      (export "exit" (func $exit)) (export "boom" (func $boom)) (export "wait" (func $wait))))"""
    return f"""
(component{imports}{lowered}
  (core module $m{core_imports}
    (memory (export "memory") {memory_pages})
    (func (export "handle") {body}))
  (core instance $ci (instantiate $m {with_clause}))
  (func $handle (canon lift (core func $ci "handle")))
  (instance $h (export "handle" (func $handle)))
  (export "{HANDLER}" (instance $h))
)
"""


ECHO_WAT = f"""
(component
  (import "wasi:io/error@0.2.0" (instance $ei (export "error" (type (sub resource)))))
  (alias export $ei "error" (type $error))
  (import "wasi:io/streams@0.2.0" (instance $si
    (alias outer 1 $error (type $e))
    (export "error" (type $err (eq $e)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $is)) (param "len" u64)
            (result (result (list u8) (error $stream-error)))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8))
            (result (result (error $stream-error)))))))
  (alias export $si "input-stream" (type $is))
  (alias export $si "output-stream" (type $os))
  (core module $mem
    (memory (export "memory") 2)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (local.get 3)))
      (local.get $r))
    (func (export "reset") (global.set $bump (i32.const 1024))))
  (core instance $mi (instantiate $mem))
  (alias core export $mi "memory" (core memory $memory))
  (alias core export $mi "realloc" (core func $realloc))
  (alias core export $mi "reset" (core func $reset))
  (core func $read (canon lower (func $si "[method]input-stream.blocking-read")
    (memory $memory) (realloc $realloc)))
  (core func $write (canon lower (func $si "[method]output-stream.blocking-write-and-flush")
    (memory $memory)))
  (core func $drop-is (canon resource.drop $is))
  (core func $drop-os (canon resource.drop $os))
  (core module $m
    (import "h" "read" (func $read (param i32 i64 i32)))
    (import "h" "write" (func $write (param i32 i32 i32 i32)))
    (import "h" "drop-is" (func $drop-is (param i32)))
    (import "h" "drop-os" (func $drop-os (param i32)))
    (import "h" "reset" (func $reset))
    (import "h" "memory" (memory 1))
    ;; copy `in` to `out` in blocking 4096-byte steps until `in` reports an error (closed)
    (func (export "handle") (param $in i32) (param $out i32)
      (block $done
        (loop $again
          (call $reset)
          (call $read (local.get $in) (i64.const 4096) (i32.const 0))
          (br_if $done (i32.load8_u (i32.const 0)))
          (call $write (local.get $out) (i32.load (i32.const 4)) (i32.load (i32.const 8))
                       (i32.const 16))
          (if (i32.load8_u (i32.const 16)) (then unreachable))
          (br $again)))
      (call $drop-is (local.get $in))
      (call $drop-os (local.get $out))))
  (core instance $ci (instantiate $m (with "h" (instance
    (export "read" (func $read))
    (export "write" (func $write))
    (export "drop-is" (func $drop-is))
    (export "drop-os" (func $drop-os))
    (export "reset" (func $reset))
    (export "memory" (memory $memory))))))
  (func $handle (param "in" (own $is)) (param "out" (own $os))
    (canon lift (core func $ci "handle")))
  (instance $hi (export "handle" (func $handle)))
  (export "{HANDLER}" (instance $hi))
)
"""
"""`handle(in: own<input-stream>, out: own<output-stream>)` copies `in` to `out`."""


# -- calling host functions directly, lowering through the real WIT types -------------------------

IO_IMPORTS_WAT = """
(component
  (import "wasi:io/error@VERSION" (instance $ei
    (export "error" (type $error (sub resource)))
    (export "[method]error.to-debug-string" (func (param "self" (borrow $error)) (result string)))))
  (alias export $ei "error" (type $error))
  (import "wasi:io/poll@VERSION" (instance $pi
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.ready" (func (param "self" (borrow $p)) (result bool)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))
    (type $pl (list (borrow $p)))
    (export "poll" (func (param "in" $pl) (result (list u32))))))
  (alias export $pi "pollable" (type $pollable))
  (import "wasi:io/streams@VERSION" (instance $si
    (alias outer 1 $error (type $e))
    (export "error" (type $err (eq $e)))
    (alias outer 1 $pollable (type $pp))
    (export "pollable" (type $pol (eq $pp)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "input-stream" (type $is (sub resource)))
    (export "output-stream" (type $os (sub resource)))
    (type $bytes-result (result (list u8) (error $stream-error)))
    (type $count-result (result u64 (error $stream-error)))
    (type $unit-result (result (error $stream-error)))
    (export "[method]input-stream.read"
      (func (param "self" (borrow $is)) (param "len" u64) (result $bytes-result)))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $is)) (param "len" u64) (result $bytes-result)))
    (export "[method]input-stream.skip"
      (func (param "self" (borrow $is)) (param "len" u64) (result $count-result)))
    (export "[method]input-stream.blocking-skip"
      (func (param "self" (borrow $is)) (param "len" u64) (result $count-result)))
    (export "[method]input-stream.subscribe" (func (param "self" (borrow $is)) (result (own $pol))))
    (export "[method]output-stream.check-write"
      (func (param "self" (borrow $os)) (result $count-result)))
    (export "[method]output-stream.write"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result $unit-result)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result $unit-result)))
    (export "[method]output-stream.flush" (func (param "self" (borrow $os)) (result $unit-result)))
    (export "[method]output-stream.blocking-flush"
      (func (param "self" (borrow $os)) (result $unit-result)))
    (export "[method]output-stream.subscribe"
      (func (param "self" (borrow $os)) (result (own $pol))))
    (export "[method]output-stream.write-zeroes"
      (func (param "self" (borrow $os)) (param "len" u64) (result $unit-result)))
    (export "[method]output-stream.blocking-write-zeroes-and-flush"
      (func (param "self" (borrow $os)) (param "len" u64) (result $unit-result)))
    (export "[method]output-stream.splice"
      (func (param "self" (borrow $os)) (param "src" (borrow $is)) (param "len" u64)
            (result $count-result)))
    (export "[method]output-stream.blocking-splice"
      (func (param "self" (borrow $os)) (param "src" (borrow $is)) (param "len" u64)
            (result $count-result)))))
  (import "wasi:clocks/monotonic-clock@VERSION" (instance
    (alias outer 1 $pollable (type $pp))
    (export "pollable" (type $pol (eq $pp)))
    (export "now" (func (result u64)))
    (export "resolution" (func (result u64)))
    (export "subscribe-instant" (func (param "when" u64) (result (own $pol))))
    (export "subscribe-duration" (func (param "when" u64) (result (own $pol))))))
  (import "wasi:clocks/wall-clock@VERSION" (instance
    (type $dt (record (field "seconds" u64) (field "nanoseconds" u32)))
    (export "datetime" (type $datetime (eq $dt)))
    (export "now" (func (result $datetime)))
    (export "resolution" (func (result $datetime)))))
  (import "wasi:random/random@VERSION" (instance
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))
    (export "get-random-u64" (func (result u64)))))
  (import "wasi:random/insecure@VERSION" (instance
    (export "get-insecure-random-bytes" (func (param "len" u64) (result (list u8))))
    (export "get-insecure-random-u64" (func (result u64)))))
  (import "wasi:random/insecure-seed@VERSION" (instance
    (export "insecure-seed" (func (result (tuple u64 u64))))))
)
"""
"""A code-less component importing every wasi:io, wasi:clocks and wasi:random function, as
the WIT declares them (replace VERSION with a 0.2.x version)."""


def io_imports_wat(version: str = "0.2.0") -> str:
    return IO_IMPORTS_WAT.replace("VERSION", version)


_io_types: dict[str, dict[str, Any]] = {}


def io_func_types() -> dict[str, dict[str, Any]]:
    """Interface (unversioned) -> function name -> its wasmtime FuncType."""
    from wasmtime.component import Component, ComponentInstanceType, FuncType

    from spin_py.runtime.engine import get_engine

    if not _io_types:
        engine = get_engine()
        component = Component(engine, io_imports_wat())
        for name, item in component.type.imports(engine).items():
            assert isinstance(item.ty, ComponentInstanceType)
            _io_types[name.partition("@")[0]] = {
                fn: it.ty
                for fn, it in item.ty.exports(engine).items()
                if isinstance(it.ty, FuncType)
            }
    return _io_types


class DirectHost:
    """One request whose host functions a test calls directly, as `fn(store, *args)`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float | None = None) -> None:
        import wasmtime

        from spin_py.runtime.engine import get_engine

        self.store = wasmtime.Store(get_engine())
        self.state = make_state(loop, deadline=deadline)

    def call(self, fn: Any, *args: Any) -> Any:
        from spin_py.host.state import bind

        with bind(self.state):
            return fn(self.store, *args)

    def lowered(self, interface: str, name: str, fn: Any, *args: Any) -> Any:
        """Call `fn`, then lower its value through the real result type of `interface#name`
        and lift it back (a wrong shape raises, as it would fail the guest call)."""
        import ctypes

        from wasmtime import _ffi as ffi

        value = self.call(fn, *args)
        ty = io_func_types()[interface][name].result
        if ty is None:
            assert value is None
            return None
        raw = ffi.wasmtime_component_val_t()
        ty.convert_to_c(self.store, value, ctypes.pointer(raw))
        return ty.convert_from_c(raw)

    def obj(self, handle: Any) -> Any:
        """The host object behind a handle returned by a host function."""
        from wasmtime.component import ResourceAny

        if isinstance(handle, ResourceAny):
            handle = handle.to_host(self.store)
        return self.state.table.peek(handle.rep)
