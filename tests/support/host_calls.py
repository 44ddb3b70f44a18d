"""Calling host interface functions directly, as a guest call would, with real value lowering.

`Host` binds a fresh `RequestState` (for a manifest `Component` built by the test) and calls
host functions as `fn(store, *args)`. `Host.lowered(...)` also lowers the returned value through
the function's declared result type, taken from the imports of the real Spin SDK `hello`
component (which imports every wasi:cli/filesystem/sockets function and every Spin platform
interface), so a value of the wrong shape fails the test as it would fail the guest call.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component as WasmComponent
from wasmtime.component import ComponentInstanceType, FuncType

from spin_py.host.context import ComponentContext
from spin_py.host.state import RequestState, bind
from spin_py.runtime.compile_cache import CompileCache, default_cache_dir
from spin_py.runtime.engine import NO_DEADLINE_TICKS, get_engine

HostFunc = Callable[..., Any]


def new_store() -> wasmtime.Store:
    """A Store of the process Engine that never hits the epoch deadline."""
    store = wasmtime.Store(get_engine())
    store.set_epoch_deadline(NO_DEADLINE_TICKS)
    return store


@dataclass
class Host:
    """One request of one component, whose host functions a test calls."""

    ctx: ComponentContext
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    store: wasmtime.Store = field(default_factory=lambda: new_store())
    state: RequestState = field(init=False)

    def __post_init__(self) -> None:
        self.state = RequestState(self.ctx, self.loop)

    def call(self, fn: HostFunc, *args: Any) -> Any:
        """Call host function `fn` within this request."""
        with bind(self.state):
            return fn(self.store, *args)

    def lowered(self, types: dict[str, FuncType], name: str, fn: HostFunc, *args: Any) -> Any:
        """Call `fn` and check its value lowers as the result of `types[name]`."""
        value = self.call(fn, *args)
        lower(self.store, types[name], value)
        return value

    def obj(self, handle: Any) -> object:
        found = self.state.table.peek(handle.rep)
        assert found is not None, f"no object at {handle.rep}"
        return found

    def close(self) -> None:
        self.loop.close()


def lower(store: wasmtime.Store, fty: FuncType, value: Any) -> Any:
    """Lower `value` as `fty`'s result and lift it back (raises on a wrong shape)."""
    ty = fty.result
    if ty is None:
        assert value is None, f"expected no result, got {value!r}"
        return None
    raw = ffi.wasmtime_component_val_t()
    ty.convert_to_c(store, value, ctypes.pointer(raw))
    return ty.convert_from_c(raw)


_hello: dict[Path, WasmComponent] = {}
_hello_types: dict[str, dict[str, FuncType]] = {}


def hello_component(hello_wasm: Path) -> WasmComponent:
    """The compiled hello component (through the on-disk compile cache, once per process)."""
    if hello_wasm not in _hello:
        cache = CompileCache(get_engine(), default_cache_dir(os.environ), report=lambda _l: None)
        _hello[hello_wasm] = cache.load(hello_wasm, "hello")
    return _hello[hello_wasm]


def hello_import_types(hello_wasm: Path) -> dict[str, dict[str, FuncType]]:
    """Interface name -> function name -> declared type, from the hello component's imports."""
    if not _hello_types:
        engine = get_engine()
        for name, item in hello_component(hello_wasm).type.imports(engine).items():
            if isinstance(item.ty, ComponentInstanceType):
                _hello_types[name] = {
                    f: it.ty
                    for f, it in item.ty.exports(engine).items()
                    if isinstance(it.ty, FuncType)
                }
    return _hello_types
