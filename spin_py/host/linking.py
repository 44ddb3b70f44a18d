"""Helpers every interface module uses to put itself into the component Linker.

Convention: each interface module (`spin_py/wasi/...`, `spin_py/spin_api/...`) exposes
`add_to_linker(root: LinkerInstance) -> None`, and `spin_py/runtime/composition.py` lists them
in one ordered list. WASI 0.2 interfaces are defined once at `WASI_VERSION`; wasmtime's linker
matches semver-compatible imports, so components built against 0.2.0 ... 0.2.6 all link.

Host functions are called as `fn(store, *params)` and reach their request through
`spin_py.host.state.current()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host.state import _CURRENT
from spin_py.host.table import ResourceKind, Store

WASI_VERSION = "0.2.6"
"""The WASI 0.2 minor version the host defines each interface at."""

HostFunc = Callable[..., Any]


def wasi(name: str) -> str:
    """Versioned name of a WASI 0.2 interface, e.g. `wasi("wasi:io/streams")`."""
    return f"{name}@{WASI_VERSION}"


def _drop(store: Store, rep: int) -> None:
    state = _CURRENT.get(None)
    if state is not None:
        state.table.drop(rep)


def add_resource(instance: LinkerInstance, kind: ResourceKind) -> None:
    """Define resource `kind` in `instance`; a guest drop removes it from the request's table."""
    instance.add_resource(kind.name, kind.resource_type(), _drop)


def add_funcs(instance: LinkerInstance, funcs: dict[str, HostFunc]) -> None:
    """Define several functions by their canonical names (`[method]fields.get`, ...)."""
    for name, fn in funcs.items():
        instance.add_func(name, fn)
