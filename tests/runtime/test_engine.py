"""The process Engine, its epoch ticker and deadline arithmetic."""

from __future__ import annotations

import time

import wasmtime
from wasmtime.component import Component, Linker

from spin_py.runtime import engine as engine_module
from spin_py.runtime.engine import (
    NO_DEADLINE_TICKS,
    TICK_SECONDS,
    EpochTicker,
    deadline_ticks,
    engine_fingerprint,
    get_engine,
)
from tests.support.runtime_harness import simple_handler_wat


def test_one_engine_per_process() -> None:
    assert get_engine() is get_engine()


def test_fingerprint_names_the_version_and_settings() -> None:
    fingerprint = engine_fingerprint()
    assert "wasmtime-50." in fingerprint and "epoch_interruption=True" in fingerprint


def test_deadline_ticks() -> None:
    assert deadline_ticks(None) == NO_DEADLINE_TICKS
    assert deadline_ticks(1.0) == round(1.0 / TICK_SECONDS) + 1
    assert deadline_ticks(0.0) >= 1


def spin_until_interrupted(engine: wasmtime.Engine, ticks: int) -> float:
    """Run an endless guest loop with an epoch deadline of `ticks`; seconds until it traps."""
    handler = Component(engine, simple_handler_wat("(loop $l (br $l))"))
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(ticks)
    instance = Linker(engine).instantiate(store, handler)
    iface = handler.get_export_index("wasi:http/incoming-handler@0.2.0")
    func = instance.get_func(store, handler.get_export_index("handle", iface))
    assert func is not None
    started = time.monotonic()
    try:
        func(store)
    except wasmtime.WasmtimeError as err:
        assert "interrupt" in str(err)
    return time.monotonic() - started


def test_ticker_interrupts_a_runaway_guest_on_time() -> None:
    engine = wasmtime.Engine(engine_module._make_config())
    ticker = EpochTicker(engine)
    ticker.start()
    ticker.start()  # idempotent
    try:
        elapsed = spin_until_interrupted(engine, deadline_ticks(0.2))
    finally:
        ticker.stop()
    assert not ticker.running
    assert 0.18 <= elapsed < 2


def test_process_ticker_restarts_after_stop() -> None:
    ticker = engine_module.ensure_ticker()
    assert ticker.running
    engine_module.stop_ticker()
    assert not ticker.running
    assert engine_module.ensure_ticker().running
