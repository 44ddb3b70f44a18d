"""Linker assembly: one ordered list of interface modules, defined once per process."""

from __future__ import annotations

from pathlib import Path

import wasmtime
from runtime_harness import io_imports_wat, simple_handler_wat

from spin_py.runtime.engine import NO_DEADLINE_TICKS, get_engine
from spin_py.runtime.linker import INTERFACE_MODULES, build_linker, shared_linker


def test_the_list_names_every_interface_module_in_order() -> None:
    assert INTERFACE_MODULES == (
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


def test_shared_linker_is_built_once() -> None:
    assert shared_linker(get_engine()) is shared_linker(get_engine())


def test_full_linker_instantiates_io_imports_of_a_later_minor_version(tmp_path: Path) -> None:
    engine = get_engine()
    text = (
        io_imports_wat("0.2.4").rstrip().removesuffix(")")
        + simple_handler_wat("").strip()[len("(component") :]
    )
    component = wasmtime.component.Component(engine, text)
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(NO_DEADLINE_TICKS)
    shared_linker(engine).instantiate(store, component)


def test_build_linker_accepts_a_subset_of_modules() -> None:
    linker = build_linker(get_engine(), ["spin_py.wasi.random"])
    component = wasmtime.component.Component(
        get_engine(),
        '(component (import "wasi:random/random@0.2.0" (instance '
        '(export "get-random-u64" (func (result u64))))))',
    )
    store = wasmtime.Store(get_engine())
    linker.instantiate(store, component)
