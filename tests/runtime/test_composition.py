"""Linker assembly: one ordered list of interface modules, defined once per process."""

from __future__ import annotations

from pathlib import Path

import wasmtime

from spin_py.runtime.composition import INTERFACES, build_linker, shared_linker
from spin_py.runtime.engine import NO_DEADLINE_TICKS, get_engine
from spin_py.wasi import random
from tests.support.runtime_harness import io_imports_wat, simple_handler_wat


def test_the_list_names_every_interface_package_in_order() -> None:
    assert [f"{fn.__module__}.{fn.__name__}" for fn in INTERFACES] == [
        "spin_py.wasi.io.error.add_to_linker",
        "spin_py.wasi.io.poll.add_to_linker",
        "spin_py.wasi.io.streams.add_to_linker",
        "spin_py.wasi.clocks.add_to_linker",
        "spin_py.wasi.random.add_to_linker",
        "spin_py.wasi.cli.add_to_linker",
        "spin_py.wasi.filesystem.add_to_linker",
        "spin_py.wasi.sockets.add_to_linker",
        "spin_py.wasi.http.types.add_to_linker",
        "spin_py.wasi.http.outgoing.add_to_linker",
        "spin_py.spin_api.add_to_linker",
        "spin_py.wasi_otel.add_to_linker",
    ]


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
    linker = build_linker(get_engine(), [random.add_to_linker])
    component = wasmtime.component.Component(
        get_engine(),
        '(component (import "wasi:random/random@0.2.0" (instance '
        '(export "get-random-u64" (func (result u64))))))',
    )
    store = wasmtime.Store(get_engine())
    linker.instantiate(store, component)
