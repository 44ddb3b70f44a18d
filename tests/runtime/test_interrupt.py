"""Epoch slices: guests without a request timeout can still be stopped, and only when asked.

Real wasmtime, component-text guests without `--request-timeout`: `Invoker.interrupt()` /
`close()` stop a guest spinning in pure wasm within about one slice and a guest blocked in a
host call at once; a cancelled request stops spinning too; a long guest nobody stops runs to
completion across many slices; once interrupted, an Invoker refuses new calls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from wasmtime.component import Linker

from spin_py.host.context import RuntimeSettings
from spin_py.host.linking import add_funcs
from spin_py.host.state import RequestState, current
from spin_py.runtime.composition import build_linker
from spin_py.runtime.engine import TICK_SECONDS, get_engine
from spin_py.runtime.interrupt import INTERRUPTED_MESSAGE, SLICE_SECONDS, next_slice
from spin_py.runtime.invoke import Invoker, Outcome, OutcomeKind
from spin_py.runtime.loader import LoadedComponent, load_components
from tests.support.models import make_app
from tests.support.runtime_harness import CONTROL, IO_MODULES, LoopThread, simple_handler_wat

COUNT_DOWN = """(local $i i32)
  (local.set $i (i32.const {n}))
  (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))"""

GUESTS = {
    "ok": simple_handler_wat(""),
    "spin": simple_handler_wat("(loop $l (br $l))"),
    "wait": simple_handler_wat("(call $wait (i32.const 60000))", control=True),
    "count-small": simple_handler_wat(COUNT_DOWN.format(n=20_000_000)),
    "count-big": simple_handler_wat(COUNT_DOWN.format(n=2_000_000_000)),
}

STOP_BOUND = 2.0
"""A stopped guest must be gone well within this (one slice is 0.1 s)."""


def _wait(store: Any, ms: int) -> None:
    current().wait_until(lambda: False, time.monotonic() + ms / 1000)


def _unused(store: Any, *args: Any) -> None:
    raise AssertionError("not called by these guests")


@pytest.fixture(scope="module")
def linker() -> Linker:
    """The io interfaces plus the test control interface (`wait` blocks in the host)."""
    linker = build_linker(get_engine(), IO_MODULES)
    with linker.root() as root, root.add_instance(CONTROL) as instance:
        add_funcs(instance, {"exit": _unused, "boom": _unused, "wait": _wait})
    return linker


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, linker: Linker) -> dict[str, LoadedComponent]:
    tmp = tmp_path_factory.mktemp("interrupt")
    for name, text in GUESTS.items():
        (tmp / f"{name}.wat").write_text(text)
    app = make_app(tmp, {name: f"{name}.wat" for name in GUESTS})
    settings = RuntimeSettings(state_dir=tmp / ".spin")
    return load_components(app, settings, get_engine(), None, linker=linker)


@pytest.fixture
def invoker(linker: Linker) -> Iterator[Invoker]:
    """An Invoker with no request timeout: nothing but an interrupt stops a spinning guest."""
    inv = Invoker(get_engine(), linker)
    yield inv
    inv.close()


def no_args(state: RequestState) -> tuple[Any, ...]:
    return ()


def run(lt: LoopThread, invoker: Invoker, component: LoadedComponent) -> Outcome:
    state = RequestState(component=component.context, loop=lt.loop)
    return lt.run(invoker.invoke(component, state, no_args), 60)


def test_next_slice_never_passes_the_deadline() -> None:
    assert next_slice(None) == round(SLICE_SECONDS / TICK_SECONDS)
    assert next_slice(time.monotonic() + 3600) == next_slice(None)
    assert 1 <= next_slice(time.monotonic() + 0.02) < next_slice(None)
    assert next_slice(time.monotonic() - 1) >= 1


@pytest.mark.parametrize("guest", ["spin", "wait"])
def test_interrupt_stops_a_guest_without_timeout(
    lt: LoopThread,
    invoker: Invoker,
    loaded: dict[str, LoadedComponent],
    caplog: pytest.LogCaptureFixture,
    guest: str,
) -> None:
    threading.Timer(0.3, invoker.interrupt).start()
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="spin_py.runtime"):
        outcome = run(lt, invoker, loaded[guest])
    elapsed = time.monotonic() - started
    assert outcome.kind is OutcomeKind.CANCELLED, outcome
    if guest == "spin":
        assert INTERRUPTED_MESSAGE in outcome.message
    assert 0.25 <= elapsed < 0.3 + STOP_BOUND
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = run(lt, invoker, loaded["ok"])  # interrupted for good: no new guest starts
    assert refused.kind is OutcomeKind.CANCELLED and "shutting down" in refused.message


def test_close_does_not_wait_forever_for_a_spinning_guest(
    lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    inv = Invoker(get_engine(), linker)
    state = RequestState(component=loaded["spin"].context, loop=lt.loop)
    future = asyncio.run_coroutine_threadsafe(inv.invoke(loaded["spin"], state, no_args), lt.loop)
    time.sleep(0.3)
    assert not future.done()
    started = time.monotonic()
    inv.close()
    assert time.monotonic() - started < STOP_BOUND
    assert future.result(STOP_BOUND).kind is OutcomeKind.CANCELLED


def test_a_cancelled_request_stops_spinning(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    state = RequestState(component=loaded["spin"].context, loop=lt.loop)

    async def cancel_soon() -> float:
        task = asyncio.ensure_future(invoker.invoke(loaded["spin"], state, no_args))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    cancelled_at = lt.run(cancel_soon())
    outcome = run(lt, invoker, loaded["ok"])  # queued behind the spinning guest on one thread
    assert outcome.ok, outcome
    assert time.monotonic() - cancelled_at < STOP_BOUND


def test_a_long_guest_nobody_stops_runs_across_many_slices(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    small = run(lt, invoker, loaded["count-small"])
    assert small.ok, small
    if small.elapsed * 100 < 3 * SLICE_SECONDS:  # 100x the small count: at least 3 slices
        pytest.skip(f"this machine counts too fast to need 3 slices ({small.elapsed:.4f}s)")
    outcome = run(lt, invoker, loaded["count-big"])
    assert outcome.ok, outcome
    assert outcome.elapsed > 3 * SLICE_SECONDS


def test_interrupting_one_invoker_leaves_another_alone(
    lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    first = Invoker(get_engine(), linker)
    second = Invoker(get_engine(), linker)
    try:
        first.interrupt()
        assert run(lt, second, loaded["ok"]).ok
        assert run(lt, first, loaded["ok"]).kind is OutcomeKind.CANCELLED
    finally:
        first.close()
        second.close()
