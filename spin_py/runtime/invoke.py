"""Running one guest call per request: fresh Store and instance, in a worker thread.

`Invoker.invoke` is awaited on the event loop; the guest runs in a guest thread, never on the
loop. Up to `Limits.max_concurrent_requests` calls are in flight, each in its own thread, and
`Limits.running_guests` of them run at a time: a call holds a running permit while it runs
and gives it up while it waits in the host (see `spin_py.runtime.scheduler`). The server takes
a slot with `admit()` before it starts a call and answers 503 when there is none. Per call,
inside `bind(state)`: a new Store with the memory cap and an epoch deadline, instantiation
through the shared linker, the handler called by its precomputed export index, `post_return`,
then the request's leftover host objects are closed and the Store is released.

Every way a call can end becomes an `Outcome`: ok, trap (message and guest backtrace), timeout
(epoch interrupt, or a host wait passing the deadline), exit (`wasi:cli/exit`), out-of-memory
(the memory cap refused the instance), cancelled. Failures are logged once, at error level, on
the `spin_py.runtime` logger, naming the component; the next call is unaffected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import wasmtime
from wasmtime.component import Linker, ResourceHost

from spin_py.host.state import RequestState, bind
from spin_py.host.table import DeadlineExceeded, GuestExit, HostTrap
from spin_py.runtime.composition import shared_linker
from spin_py.runtime.engine import EpochTicker, ensure_ticker, get_engine
from spin_py.runtime.interrupt import (
    CANCELLED_MESSAGE,
    DEADLINE_MESSAGE,
    INTERRUPTED_MESSAGE,
    Interrupter,
)
from spin_py.runtime.loader import LoadedComponent
from spin_py.runtime.reuse import InstancePool, WarmInstance
from spin_py.runtime.scheduler import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RUNNING_GUESTS,
    GuestScheduler,
    GuestTurn,
    RequestSlots,
    Slot,
)
from spin_py.runtime.store_limits import apply_store_limits
from spin_py.runtime.wasmtime_patches import call_with_resources
from spin_py.telemetry.execute import execute_span_for, record_outcome, record_trap

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0
"""Seconds `Invoker.close` waits for interrupted guest calls to end (one epoch slice is
normally enough; a host call that does not wait through `RequestState` may take longer)."""

MakeArgs = Callable[[RequestState], tuple[ResourceHost, ...]]
"""Builds the handler's arguments in the worker thread: the request's resource handles (the
handler takes only resources and returns nothing, as `wasi:http/incoming-handler.handle`)."""


class OutcomeKind(enum.Enum):
    """How a guest call ended."""

    OK = "ok"
    TRAP = "trap"
    TIMEOUT = "timeout"
    EXIT = "exit"
    OUT_OF_MEMORY = "out-of-memory"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Outcome:
    """The result of one `Invoker.invoke`."""

    kind: OutcomeKind
    message: str = ""
    """What went wrong, one line (empty when ok)."""
    backtrace: str = ""
    """The guest's wasm backtrace, when wasmtime reported one."""
    exit_code: int | None = None
    """The status passed to `wasi:cli/exit` (kind EXIT)."""
    error: BaseException | None = None
    """The exception that ended the call, if any."""
    elapsed: float = 0.0
    """Seconds from the start of instantiation to the end of the call."""

    @property
    def ok(self) -> bool:
        """True when the handler returned normally."""
        return self.kind is OutcomeKind.OK

    @property
    def clean_exit(self) -> bool:
        """True when the guest returned normally or exited with status 0."""
        return self.ok or (self.kind is OutcomeKind.EXIT and self.exit_code == 0)


@dataclass(frozen=True)
class Limits:
    """Limits from the CLI: per request (`--request-timeout`, `--max-instance-memory`) and per
    process (`--max-concurrent-requests`, `--running-guests`)."""

    request_timeout: float | None = None
    """Seconds a request may run (None: no limit)."""
    max_instance_memory: int | None = None
    """Bytes of linear memory one instance may use (None: no limit)."""
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT
    """Guest calls in flight at once; the server refuses more with 503."""
    running_guests: int = DEFAULT_RUNNING_GUESTS
    """Guest calls executing (holding a running permit) at once."""
    reuse_instances: int = 1
    """Requests one instance may serve in turn (`--reuse-instances`; 1: a fresh instance per
    request, Spin's behaviour; see `spin_py.runtime.reuse`)."""


class Invoker:
    """Runs guest calls for the whole process (one instance per process)."""

    def __init__(
        self,
        engine: wasmtime.Engine | None = None,
        linker: Linker | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._engine = engine if engine is not None else get_engine()
        self._linker = linker if linker is not None else shared_linker(self._engine)
        self.limits = limits if limits is not None else Limits()
        self.slots = RequestSlots(self.limits.max_concurrent_requests)
        self._scheduler = GuestScheduler(self.limits.running_guests)
        reuse = self.limits.reuse_instances
        self.instances = InstancePool(reuse) if reuse > 1 else None
        """Idle instances for reuse (None: a fresh instance per request)."""
        self._interrupter = Interrupter()
        self._own_ticker: EpochTicker | None = None
        if self._engine is get_engine():
            ensure_ticker()
        else:
            self._own_ticker = EpochTicker(self._engine)
            self._own_ticker.start()

    def admit(self) -> Slot | None:
        """A slot for one more call, or None when `max_concurrent_requests` are in flight
        (on the loop, before starting the call; never waits)."""
        return self.slots.enter()

    async def invoke(
        self,
        loaded: LoadedComponent,
        state: RequestState,
        make_args: MakeArgs,
        *,
        nested: bool = False,
        slot: Slot | None = None,
    ) -> Outcome:
        """`start` the call and wait for its outcome (see `start`)."""
        return await self.start(loaded, state, make_args, nested=nested, slot=slot)

    def start(
        self,
        loaded: LoadedComponent,
        state: RequestState,
        make_args: MakeArgs,
        *,
        nested: bool = False,
        slot: Slot | None = None,
    ) -> asyncio.Future[Outcome]:
        """Start `loaded`'s handler with `make_args(state)` in a guest thread (on the loop,
        returns at once); the future resolves to the call's `Outcome`.

        `slot` is the one `admit()` gave; without it the call takes one even past the limit.
        `nested=True` is for a call made while another guest call of this process waits for
        it (a self request, service chaining): it gets a thread of its own, so it cannot queue
        behind its caller. Cancelling the future cancels the request (blocked host calls end
        at once, wasm at its next epoch check); the slot stays held until the guest thread is
        done.
        """
        held = slot if slot is not None else self.slots.enter(force=True)
        assert held is not None
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: state.cancel() if f.cancelled() else None)

        def settle(outcome: Outcome | None, error: BaseException | None) -> None:
            held.leave()
            if future.done():  # cancelled: nobody waits for the outcome
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome)  # type: ignore[arg-type]

        def job(thread_holds_permit: bool) -> None:
            outcome, error = None, None
            try:
                outcome = self._run(loaded, state, make_args, held, thread_holds_permit)
            except BaseException as err:
                error = err
            held.leave()  # the thread is done with it; the loop may admit another request
            # The outcome goes in the same loop wake-up as what the guest posted last.
            state.flush_posts(lambda: settle(outcome, error))

        if nested:
            _start_thread(lambda: job(False))
        else:
            self._scheduler.submit(lambda: job(True))
        return future

    def run(self, loaded: LoadedComponent, state: RequestState, make_args: MakeArgs) -> Outcome:
        """Run the call in the current thread (what `invoke` does in a guest thread), holding
        a running permit except while it waits; what it posted to the loop is delivered."""
        try:
            return self._run(loaded, state, make_args, None, False)
        finally:
            state.flush_posts()

    def _run(
        self,
        loaded: LoadedComponent,
        state: RequestState,
        make_args: MakeArgs,
        slot: Slot | None,
        holds: bool,
    ) -> Outcome:
        """`run` without delivering the posts (the caller adds the outcome to them). Frees
        `slot` at the end. `holds`: this thread already holds a permit (a scheduler job), and
        keeps one when this returns."""
        started = time.monotonic()
        turn = GuestTurn(self._scheduler, held=holds)
        try:
            if state.cancelled:  # cancelled before it started: nobody waits for it
                return Outcome(OutcomeKind.CANCELLED, "request cancelled before it started")
            turn.take()
            state.gate = turn
            with self._interrupter.track(state):
                if self._interrupter.interrupted:
                    return Outcome(OutcomeKind.CANCELLED, "the server is shutting down")
                outcome = self._run_bound(loaded, state, make_args)
        finally:
            state.gate = None
            if holds:
                turn.take()  # the scheduler's thread goes on with the permit
            else:
                turn.give_back()
            if slot is not None:
                slot.leave()
        outcome = dataclasses.replace(outcome, elapsed=time.monotonic() - started)
        report(loaded.id, outcome, self.limits)
        record_outcome(state, loaded.id, outcome.kind.value, outcome.elapsed)
        return outcome

    def interrupt(self) -> None:
        """Stop the running guest calls now and refuse later ones (outcome CANCELLED): blocked
        host calls end at once, wasm code at its next epoch check (within `SLICE_SECONDS`,
        even in a pure wasm loop). From any thread; permanent. For shutdown."""
        self._interrupter.interrupt()

    def close(self) -> None:
        """Interrupt the guests still running (see `interrupt`), then stop the worker threads
        and this invoker's ticker. Give calls their grace period before closing."""
        self._interrupter.interrupt()
        if self.instances is not None:
            self.instances.close()
        if not self._scheduler.close(CLOSE_TIMEOUT):
            log.warning("guest calls still running %.0fs after the interrupt", CLOSE_TIMEOUT)
        if self._own_ticker is not None:
            self._own_ticker.stop()

    async def aclose(self) -> None:
        """`close()` without blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def _run_bound(
        self, loaded: LoadedComponent, state: RequestState, make_args: MakeArgs
    ) -> Outcome:
        with bind(state):
            warm: WarmInstance | None = None
            reusable = False
            try:
                with execute_span_for(state, loaded.id) as span:
                    outcome, warm = self._call(loaded, state, make_args)
                    outcome = _after_cancel(outcome, state)
                    if not outcome.clean_exit:
                        record_trap(span, outcome.error, outcome.message)
                reusable = outcome.ok and not state.cancelled
            finally:
                _close_leftovers(state)
                if warm is not None:
                    if reusable and self.instances is not None:
                        self.instances.give_back(loaded.id, warm)
                    else:
                        warm.close()
        return outcome

    def _call(
        self, loaded: LoadedComponent, state: RequestState, make_args: MakeArgs
    ) -> tuple[Outcome, WarmInstance | None]:
        """Run the handler in a reused instance or a new one; the instance goes back to the
        caller (to close, or to give back for reuse)."""
        self._apply_deadline(state)
        warm = self.instances.take(loaded.id) if self.instances is not None else None
        if warm is None:
            store = wasmtime.Store(self._engine)
            apply_store_limits(store, self.limits.max_instance_memory)
            self._interrupter.arm(store, state.deadline)
            try:
                instance = self._linker.instantiate(store, loaded.component)
            except Exception as err:
                store.close()
                return classify_instantiation_error(err), None
            func = instance.get_func(store, loaded.handle_index)
            warm = WarmInstance(store, func) if func is not None else None
            if warm is None:
                store.close()
                missing = HostTrap(f"the handler export {loaded.handler_export} has no `handle`")
                return classify_call_error(missing, state), None
        else:
            self._interrupter.arm(warm.store, state.deadline)
        try:
            call_with_resources(warm.handle, warm.store, *make_args(state))
            warm.handle.post_return(warm.store)
        except Exception as err:
            return classify_call_error(err, state), warm
        return Outcome(OutcomeKind.OK), warm

    def _apply_deadline(self, state: RequestState) -> None:
        timeout = self.limits.request_timeout
        if timeout is not None:
            until = time.monotonic() + timeout
            state.deadline = until if state.deadline is None else min(state.deadline, until)


def _start_thread(target: Callable[[], None]) -> None:
    """A guest call on a thread of its own (a nested call its caller waits for)."""
    threading.Thread(target=target, name="spin-py-guest-nested", daemon=True).start()


def _close_leftovers(state: RequestState) -> None:
    """Close what the guest left in the table, newest first (children before parents)."""
    for obj in reversed(state.table.clear()):
        close = getattr(obj, "close", None)
        if not callable(close):
            continue
        try:
            close()
        except Exception:
            log.debug("closing leftover %r failed", obj, exc_info=True)


# -- classifying failures -----------------------------------------------------------------------

_OOM_MARKERS = ("exceeds memory limits", "out of memory", "memory allocation of", "MemoryError")

HOSTCALL_FUEL_MARKER = "fuel allocated for hostcalls has been exhausted"
MAX_HOSTCALL_LIST_ELEMENTS = 2_796_202
"""The most `list<u8>` bytes (list elements) a guest can pass to one host function.

wasmtime lifts a list argument into one value per element and charges each against the
store's hostcall fuel: 48 bytes per element, out of a default of 128 MiB per call (measured:
2,796,202 bytes pass, 2,796,203 trap, minus a little for the call's other arguments). The
fuel can be raised only with `Store::set_hostcall_fuel`, which wasmtime-py 50's C API does not
expose, and the trap happens before the host function runs, so it cannot become an error value
(docs/security.md, "Large values")."""
_HOSTCALL_FUEL_HINT = (
    f" (a guest can pass at most {MAX_HOSTCALL_LIST_ELEMENTS} bytes as a list<u8> to one host "
    "function, e.g. one key-value value: wasmtime's hostcall fuel, which wasmtime-py cannot "
    "raise; see docs/security.md)"
)


def split_wasmtime_error(text: str) -> tuple[str, str]:
    """(message, backtrace) from a wasmtime error's text.

    wasmtime formats a trap as `error while executing at wasm backtrace:` + frames +
    `Caused by:` + causes; the message is the causes, the backtrace the frames.
    """
    head, sep, causes = text.partition("Caused by:")
    if not sep:
        return " ".join(text.split()), ""
    message = "; ".join(line.strip() for line in causes.splitlines() if line.strip())
    frames = head.partition("wasm backtrace:")[2]
    backtrace = "\n".join(line.rstrip() for line in frames.splitlines() if line.strip())
    return message, backtrace


def classify_instantiation_error(err: BaseException) -> Outcome:
    """The outcome of a failed instantiation (the memory cap, or a trap at start-up)."""
    message, backtrace = split_wasmtime_error(str(err))
    kind = OutcomeKind.TRAP
    if any(marker in message for marker in _OOM_MARKERS):
        kind = OutcomeKind.OUT_OF_MEMORY
    return Outcome(kind, f"instantiation failed: {message}", backtrace, error=err)


def classify_call_error(err: BaseException, state: RequestState) -> Outcome:
    """The outcome of a guest call that raised `err`."""
    if isinstance(err, GuestExit):
        return Outcome(OutcomeKind.EXIT, str(err), exit_code=err.code, error=err)
    if isinstance(err, wasmtime.ExitTrap):
        return Outcome(OutcomeKind.EXIT, f"guest exited with status {err.code}", "", err.code, err)
    if isinstance(err, DeadlineExceeded):
        return Outcome(_timeout_kind(state), str(err), error=err)
    if isinstance(err, HostTrap):
        return Outcome(OutcomeKind.TRAP, str(err), error=err)
    if isinstance(err, wasmtime.WasmtimeError):
        message, backtrace = split_wasmtime_error(str(err))
        kind = OutcomeKind.TRAP
        if INTERRUPTED_MESSAGE in message or CANCELLED_MESSAGE in message:
            kind = OutcomeKind.CANCELLED
        elif "wasm trap: interrupt" in message or DEADLINE_MESSAGE in message:
            kind = _timeout_kind(state)
        elif any(marker in message for marker in _OOM_MARKERS):
            kind = OutcomeKind.OUT_OF_MEMORY
        elif HOSTCALL_FUEL_MARKER in message:
            message += _HOSTCALL_FUEL_HINT
        if kind is OutcomeKind.TRAP and state.cancelled:
            # nobody waits any more (the client left): a guest failing to write to a closed
            # response is no guest fault worth an error line
            kind = OutcomeKind.CANCELLED
            message = f"the request was cancelled, then the guest trapped: {message}"
        return Outcome(kind, message, backtrace, error=err)
    return Outcome(OutcomeKind.TRAP, f"host error: {type(err).__name__}: {err}", error=err)


def _after_cancel(outcome: Outcome, state: RequestState) -> Outcome:
    """A call whose request was cancelled (its client went away, the server is stopping) that
    then failed, failed because of that: a guest trapping on a stream closed under it is not a
    guest error. Its outcome is CANCELLED (logged at info, not as a trap)."""
    if not state.cancelled or outcome.kind in (OutcomeKind.OK, OutcomeKind.CANCELLED):
        return outcome
    if outcome.kind is OutcomeKind.EXIT and outcome.exit_code == 0:
        return outcome
    reason = f"the request was cancelled (client gone or server stopping), then: {outcome.message}"
    return dataclasses.replace(outcome, kind=OutcomeKind.CANCELLED, message=reason)


def _timeout_kind(state: RequestState) -> OutcomeKind:
    return OutcomeKind.CANCELLED if state.cancelled else OutcomeKind.TIMEOUT


def report(component_id: str, outcome: Outcome, limits: Limits) -> None:
    """Log a failed call once, naming the component, on one line (ok and exit 0 are not
    logged). A guest fault's wasm backtrace follows at debug level only (docs/security.md,
    "Logs"); a host bug keeps its Python traceback."""
    kind = outcome.kind
    if outcome.clean_exit:
        if kind is OutcomeKind.EXIT:
            log.debug('component "%s" exited with status 0', component_id)
        return
    if kind is OutcomeKind.CANCELLED:
        log.info('component "%s": request cancelled: %s', component_id, outcome.message)
    elif kind is OutcomeKind.EXIT:
        log.error('component "%s" exited with status %s', component_id, outcome.exit_code)
    elif kind is OutcomeKind.TIMEOUT:
        log.error(
            'component "%s" exceeded the request timeout of %ss: %s',
            component_id,
            limits.request_timeout,
            outcome.message,
        )
    elif kind is OutcomeKind.OUT_OF_MEMORY:
        log.error('component "%s" ran out of memory: %s', component_id, outcome.message)
    elif _is_host_bug(outcome.error):
        log.error(
            'component "%s" trapped: %s', component_id, outcome.message, exc_info=outcome.error
        )
    else:
        log.error('component "%s" trapped: %s', component_id, outcome.message)
    if outcome.backtrace:
        log.debug('component "%s" wasm backtrace:\n%s', component_id, outcome.backtrace)


def _is_host_bug(error: BaseException | None) -> bool:
    """An exception no host function raises on purpose (a bug to show with its traceback)."""
    return error is not None and not isinstance(error, HostTrap | wasmtime.WasmtimeError)
