"""The invocation core with real wasmtime and tiny component-text guests.

Each misbehaviour (trap, endless loop, unbounded memory growth, exit, host bug, a host wait
past the deadline, cancellation) is followed by a normal call that must succeed, and the
normal calls must stay as fast after the failures as before them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from wasmtime.component import Linker

from spin_py.host.channels import ByteChannel, PullInputStream
from spin_py.host.context import RuntimeSettings
from spin_py.host.linking import add_funcs
from spin_py.host.state import RequestState, current
from spin_py.host.table import GuestExit
from spin_py.runtime.composition import build_linker
from spin_py.runtime.engine import get_engine
from spin_py.runtime.invoke import Invoker, Limits, Outcome, OutcomeKind
from spin_py.runtime.loader import LoadedComponent, load_components
from spin_py.wasi.io.streams import INPUT_STREAM, OUTPUT_STREAM
from tests.support.models import make_app
from tests.support.runtime_harness import (
    CONTROL,
    ECHO_WAT,
    IO_MODULES,
    LoopThread,
    simple_handler_wat,
)

MIB = 1024 * 1024
GROW_UNTIL_REFUSED = """
  (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
  (call $exit (memory.size))"""

GUESTS = {
    "ok": simple_handler_wat(""),
    "trap": simple_handler_wat("unreachable"),
    "spin": simple_handler_wat("(loop $l (br $l))"),
    "grow": simple_handler_wat(GROW_UNTIL_REFUSED, control=True),
    "grow-trap": simple_handler_wat(
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable"
    ),
    "exit3": simple_handler_wat("(call $exit (i32.const 3))", control=True),
    "exit0": simple_handler_wat("(call $exit (i32.const 0))", control=True),
    "boom": simple_handler_wat("(call $boom)", control=True),
    "wait": simple_handler_wat("(call $wait (i32.const 5000))", control=True),
    "nap": simple_handler_wat("(call $wait (i32.const 1500))", control=True),
    "echo": ECHO_WAT,
}


def _exit(store: Any, code: int) -> None:
    raise GuestExit(code)


def _boom(store: Any) -> None:
    raise ValueError("a host bug")


def _wait(store: Any, ms: int) -> None:
    current().wait_until(lambda: False, time.monotonic() + ms / 1000)


def control_linker(engine: wasmtime.Engine) -> Linker:
    """The io/clocks/random interfaces plus the test-only control interface."""
    linker = build_linker(engine, IO_MODULES)
    with linker.root() as root, root.add_instance(CONTROL) as instance:
        add_funcs(instance, {"exit": _exit, "boom": _boom, "wait": _wait})
    return linker


@pytest.fixture(scope="module")
def linker() -> Linker:
    return control_linker(get_engine())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, linker: Linker) -> dict[str, LoadedComponent]:
    tmp = tmp_path_factory.mktemp("guests")
    for name, text in GUESTS.items():
        (tmp / f"{name}.wat").write_text(text)
    app = make_app(tmp, {name: f"{name}.wat" for name in GUESTS})
    return load_components(
        app, RuntimeSettings(state_dir=tmp / ".spin"), get_engine(), None, linker=linker
    )


LIMITS = Limits(request_timeout=0.5, max_instance_memory=8 * MIB)


@pytest.fixture(scope="module")
def invoker(linker: Linker) -> Iterator[Invoker]:
    inv = Invoker(get_engine(), linker, LIMITS)
    yield inv
    inv.close()


def no_args(state: RequestState) -> tuple[Any, ...]:
    return ()


def call(
    lt: LoopThread, invoker: Invoker, component: LoadedComponent, **kw: Any
) -> tuple[Outcome, RequestState]:
    state = RequestState(component=component.context, loop=lt.loop)
    outcome = lt.run(invoker.invoke(component, state, kw.pop("make_args", no_args), **kw), 30)
    return outcome, state


def good_call(lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]) -> None:
    outcome, _ = call(lt, invoker, loaded["ok"])
    assert outcome.ok, outcome


def test_ok(lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]) -> None:
    outcome, state = call(lt, invoker, loaded["ok"])
    assert outcome.kind is OutcomeKind.OK and outcome.ok and outcome.clean_exit
    assert outcome.elapsed > 0
    assert state.deadline is not None  # from --request-timeout


def test_trap_has_message_and_backtrace_and_is_logged(
    lt: LoopThread,
    invoker: Invoker,
    loaded: dict[str, LoadedComponent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="spin_py.runtime"):
        outcome, _ = call(lt, invoker, loaded["trap"])
    assert outcome.kind is OutcomeKind.TRAP
    assert "unreachable" in outcome.message
    assert "wasm function" in outcome.backtrace or "0x" in outcome.backtrace
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith('component "trap" trapped: ') and "\n" not in errors[0]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(outcome.backtrace in line for line in debug), "the backtrace is at debug level"
    good_call(lt, invoker, loaded)


def test_endless_loop_times_out(
    lt: LoopThread,
    invoker: Invoker,
    loaded: dict[str, LoadedComponent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="spin_py.runtime"):
        outcome, _ = call(lt, invoker, loaded["spin"])
    assert outcome.kind is OutcomeKind.TIMEOUT, outcome
    assert 0.45 <= time.monotonic() - started < 3
    assert any("exceeded the request timeout" in r.getMessage() for r in caplog.records)
    good_call(lt, invoker, loaded)


def test_memory_growth_stops_at_the_cap(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    outcome, _ = call(lt, invoker, loaded["grow"])
    assert outcome.kind is OutcomeKind.EXIT
    pages = outcome.exit_code
    assert pages is not None and 8 * MIB - 16 * 65536 < pages * 65536 <= 8 * MIB
    failed, _ = call(lt, invoker, loaded["grow-trap"])
    assert not failed.ok and failed.kind is OutcomeKind.TRAP
    good_call(lt, invoker, loaded)


def test_initial_memory_above_the_cap_is_out_of_memory(
    tmp_path: Path, lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    big = tmp_path / "big.wat"
    big.write_text(simple_handler_wat("", memory_pages=200))  # 12.5 MiB
    app = make_app(tmp_path, {"big": "big.wat"})
    settings = RuntimeSettings(state_dir=tmp_path)
    component = load_components(app, settings, get_engine(), None, linker=linker)["big"]
    small = Invoker(get_engine(), linker, Limits(max_instance_memory=8 * MIB))
    try:
        outcome, _ = call(lt, small, component)
        assert outcome.kind is OutcomeKind.OUT_OF_MEMORY, outcome
        assert outcome.message.startswith("instantiation failed")
        good_call(lt, small, loaded)
    finally:
        small.close()


def test_exit_codes(
    lt: LoopThread,
    invoker: Invoker,
    loaded: dict[str, LoadedComponent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="spin_py.runtime"):
        three, _ = call(lt, invoker, loaded["exit3"])
        zero, _ = call(lt, invoker, loaded["exit0"])
    assert three.kind is OutcomeKind.EXIT and three.exit_code == 3 and not three.clean_exit
    assert zero.kind is OutcomeKind.EXIT and zero.exit_code == 0 and zero.clean_exit
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ['component "exit3" exited with status 3']
    good_call(lt, invoker, loaded)


def test_host_bug_is_a_trap_logged_with_its_traceback(
    lt: LoopThread,
    invoker: Invoker,
    loaded: dict[str, LoadedComponent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="spin_py.runtime"):
        outcome, _ = call(lt, invoker, loaded["boom"])
    assert outcome.kind is OutcomeKind.TRAP
    assert "ValueError: a host bug" in outcome.message
    assert isinstance(outcome.error, ValueError)
    assert any(r.exc_info and r.exc_info[1] is outcome.error for r in caplog.records)
    good_call(lt, invoker, loaded)


def test_host_wait_ends_at_the_deadline(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    started = time.monotonic()
    outcome, _ = call(lt, invoker, loaded["wait"])
    assert outcome.kind is OutcomeKind.TIMEOUT
    assert 0.45 <= time.monotonic() - started < 3
    good_call(lt, invoker, loaded)


def test_cancelling_the_caller_cancels_the_request(
    lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    """No request timeout: the guest would wait 5 s; cancelling its caller ends it long before
    (its request slot is freed once its thread is done with it)."""
    patient = Invoker(get_engine(), linker, Limits(max_instance_memory=8 * MIB))
    try:
        state = RequestState(component=loaded["wait"].context, loop=lt.loop)

        async def cancel_soon() -> float:
            task = asyncio.ensure_future(patient.invoke(loaded["wait"], state, no_args))
            await asyncio.sleep(0.05)
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            while patient.slots.in_flight:
                await asyncio.sleep(0.01)
            return time.monotonic() - cancelled_at

        assert lt.run(cancel_soon(), 30) < 4.0  # not the guest's own 5 s
        assert state.cancelled
        good_call(lt, patient, loaded)
    finally:
        patient.close()


def test_nested_call_does_not_queue_behind_its_caller(
    lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    patient = Invoker(get_engine(), linker, Limits(max_instance_memory=8 * MIB))

    async def both() -> tuple[float, float]:
        started = time.monotonic()
        outer_state = RequestState(component=loaded["nap"].context, loop=lt.loop)
        outer = asyncio.ensure_future(patient.invoke(loaded["nap"], outer_state, no_args))
        await asyncio.sleep(0.05)  # the outer call is waiting in the host
        inner_state = RequestState(component=loaded["ok"].context, loop=lt.loop)
        inner = await patient.invoke(loaded["ok"], inner_state, no_args, nested=True)
        inner_done = time.monotonic() - started
        assert inner.ok
        assert (await outer).ok
        return inner_done, time.monotonic() - started

    try:
        inner_done, outer_done = lt.run(both(), 30)
    finally:
        patient.close()
    assert inner_done < outer_done  # done while its caller still waits (1.5 s)


def test_leftover_objects_are_closed_and_the_table_emptied(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    closed: list[str] = []

    class Leftover:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    def make_args(state: RequestState) -> tuple[Any, ...]:
        state.table.push(Leftover("parent"), INPUT_STREAM)
        state.table.push(Leftover("child"), INPUT_STREAM)
        return ()

    outcome, state = call(lt, invoker, loaded["ok"], make_args=make_args)
    assert outcome.ok
    assert closed == ["child", "parent"]
    assert len(state.table) == 0


def test_streams_through_a_real_guest(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    for size in (0, 1, 4096, 300_001):
        data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
        chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
        out = bytearray()

        async def next_chunk(chunks: list[bytes] = chunks) -> bytes | None:
            await asyncio.sleep(0)
            return chunks.pop(0) if chunks else None

        state = RequestState(component=loaded["echo"].context, loop=lt.loop)
        channel = ByteChannel(state)

        async def read_all(channel: ByteChannel = channel, out: bytearray = out) -> None:
            while (part := await channel.read()) is not None:
                out.extend(part)

        def make_args(state: RequestState, channel: ByteChannel = channel) -> tuple[Any, ...]:
            body = state.table.push(PullInputStream(state, next_chunk), INPUT_STREAM)
            return body, state.table.push(channel, OUTPUT_STREAM)

        reader = asyncio.run_coroutine_threadsafe(read_all(), lt.loop)
        outcome = lt.run(invoker.invoke(loaded["echo"], state, make_args), 30)
        assert outcome.ok, outcome
        channel.finish()
        reader.result(10)
        assert bytes(out) == data, size


def test_good_calls_stay_fast_after_failures(
    lt: LoopThread, invoker: Invoker, loaded: dict[str, LoadedComponent]
) -> None:
    def median_call_time() -> float:
        times = []
        for _ in range(30):
            started = time.perf_counter()
            good_call(lt, invoker, loaded)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    before = median_call_time()
    for name in ("trap", "boom", "exit3", "grow-trap", "trap", "spin"):
        assert not call(lt, invoker, loaded[name])[0].ok
    after = median_call_time()
    assert after < before * 3 + 0.002, (before, after)


def test_exits_of_concurrent_calls_stay_with_their_call(
    tmp_path: Path, lt: LoopThread, linker: Linker, loaded: dict[str, LoadedComponent]
) -> None:
    """Two worker threads raising host exceptions at once: each call gets its own."""
    codes = {}
    for code in (5, 6):
        (tmp_path / f"exit{code}.wat").write_text(
            simple_handler_wat(
                f"(call $wait (i32.const 1)) (call $exit (i32.const {code}))", control=True
            )
        )
    app = make_app(tmp_path, {"exit5": "exit5.wat", "exit6": "exit6.wat"})
    settings = RuntimeSettings(state_dir=tmp_path)
    guests = load_components(app, settings, get_engine(), None, linker=linker)
    pool = Invoker(get_engine(), linker, dataclasses.replace(LIMITS, max_concurrent_requests=2))
    try:

        async def many() -> list[tuple[int, Outcome]]:
            jobs = []
            for i in range(40):
                code = 5 + i % 2
                state = RequestState(component=guests[f"exit{code}"].context, loop=lt.loop)
                jobs.append((code, pool.invoke(guests[f"exit{code}"], state, no_args)))
            results = await asyncio.gather(*(job for _, job in jobs))
            return [(code, outcome) for (code, _), outcome in zip(jobs, results, strict=True)]

        for code, outcome in lt.run(many(), 60):
            codes[outcome.exit_code] = codes.get(outcome.exit_code, 0) + 1
            assert outcome.kind is OutcomeKind.EXIT and outcome.exit_code == code
    finally:
        pool.close()
    assert codes == {5: 20, 6: 20}
