"""Assembling the component Linker: every host interface, in one ordered list, once per process.

Each module in `INTERFACE_MODULES` exposes `add_to_linker(root: LinkerInstance) -> None` and
defines its interfaces at `spin_py.runtime.linking.WASI_VERSION` (or its own package version);
wasmtime's semver matching lets components built against any 0.2.x import them. Nothing here
uses `define_unknown_imports_as_traps`: it would shadow our own definitions with trap instances
whose resource types differ (see architecture.md).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

import wasmtime
from wasmtime.component import Linker

INTERFACE_MODULES: tuple[str, ...] = (
    "spin_py.wasi.io.error",
    "spin_py.wasi.io.poll",
    "spin_py.wasi.io.streams",
    "spin_py.wasi.clocks",
    "spin_py.wasi.random",
    "spin_py.wasi.cli",
    "spin_py.wasi.filesystem",
    "spin_py.wasi.sockets",
    "spin_py.wasi.http.types",
    "spin_py.wasi.http.outgoing",
    "spin_py.spin",
    "spin_py.telemetry.wasi_otel",
)
"""Every module that defines host interfaces, in the order they enter the linker."""


def build_linker(engine: wasmtime.Engine, modules: Iterable[str] = INTERFACE_MODULES) -> Linker:
    """A new Linker with every interface of `modules` defined."""
    linker = Linker(engine)
    with linker.root() as root:
        for name in modules:
            importlib.import_module(name).add_to_linker(root)
    return linker


_shared: list[tuple[wasmtime.Engine, Linker]] = []
_shared_lock = threading.Lock()


def shared_linker(engine: wasmtime.Engine) -> Linker:
    """The process's Linker for `engine` with every interface, built on first use."""
    with _shared_lock:
        for known, linker in _shared:
            if known is engine:
                return linker
        linker = build_linker(engine)
        _shared.append((engine, linker))
        return linker
