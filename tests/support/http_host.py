"""Calling `wasi:http` host functions directly, with real wasmtime value conversion.

`HttpHost` binds a fresh `RequestState`, calls a host function by its canonical name, and lowers
what it returns through the function's real result type (read from
`data/http_types_imports.wat`, a code-less component importing all of `wasi:http/types@0.2.0`
exactly as the WIT declares it) with wasmtime-py's conversion code: the same path a guest call
takes. A value of the wrong shape fails here as it would in a guest call.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component, FuncType, ResourceHost

from spin_py.host.state import RequestState, bind
from spin_py.host.table import ResourceKind
from spin_py.runtime.engine import get_engine
from spin_py.wasi.http import outgoing, types
from tests.support.models import make_state

WAT = Path(__file__).parents[1] / "wasi" / "data" / "http_types_imports.wat"
TYPES_IMPORT = "wasi:http/types@0.2.0"
OUTGOING_IMPORT = "wasi:http/outgoing-handler@0.2.0"

_component: Component | None = None


def imports_component() -> Component:
    """The compiled import-only component (compiled once per test process)."""
    global _component
    if _component is None:
        _component = Component(get_engine(), WAT.read_text())
    return _component


def func_types(interface: str) -> dict[str, FuncType]:
    """The declared type of every function of `interface` in the import-only component."""
    engine = get_engine()
    instance = imports_component().type.imports(engine)[interface].ty
    return {
        name: item.ty
        for name, item in instance.exports(engine).items()
        if isinstance(item.ty, FuncType)
    }


@dataclass
class HttpHost:
    """One request's worth of `wasi:http` host functions, callable from a test."""

    state: RequestState = field(default_factory=make_state)
    store: wasmtime.Store = field(default_factory=lambda: wasmtime.Store(get_engine()))
    _types: dict[str, FuncType] = field(default_factory=lambda: func_types(TYPES_IMPORT))
    _outgoing: dict[str, FuncType] = field(default_factory=lambda: func_types(OUTGOING_IMPORT))

    def call(self, name: str, *args: Any) -> Any:
        """Call host function `name` (types or outgoing-handler); check its result lowers."""
        funcs = {**types.FUNCS, "handle": outgoing._handle}
        with bind(self.state):
            value = funcs[name](self.store, *args)
        self.lower(name, value)
        return value

    def lower(self, name: str, value: Any) -> Any:
        """Lower `value` as `name`'s result and lift it back (raises on a wrong shape)."""
        fty = self._outgoing[name] if name == "handle" else self._types[name]
        ty = fty.result
        if ty is None:
            assert value is None, f"{name} returns nothing, got {value!r}"
            return None
        raw = ffi.wasmtime_component_val_t()
        ty.convert_to_c(self.store, value, ctypes.pointer(raw))
        return ty.convert_from_c(raw)

    def push(self, obj: object, kind: ResourceKind) -> ResourceHost:
        """Put a host object in the table as the guest would hold it."""
        return self.state.table.push(obj, kind)

    def obj(self, handle: ResourceHost) -> object:
        """The object behind a handle a host function returned."""
        found = self.state.table.peek(handle.rep)
        assert found is not None, f"no object at {handle.rep}"
        return found
