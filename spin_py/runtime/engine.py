"""The process-wide wasmtime Engine and the epoch ticker that enforces request deadlines.

One Engine per process: compiled components, the linker and every Store must come from the same
Engine. Epoch interruption is on, so every Store needs an epoch deadline (see
`deadline_ticks`); a daemon thread advances the epoch every `TICK_SECONDS`, and a guest that runs
past its deadline traps with "interrupt" at its next loop back-edge or function entry.

The configuration is fixed here and summarised by `engine_fingerprint()`, which the compile
cache includes in its keys: an artifact compiled with another configuration is never loaded.
"""

from __future__ import annotations

import math
import threading

import wasmtime
from wasmtime import _ffi as ffi

from spin_py.runtime import wasmtime_patches

TICK_SECONDS = 0.01
"""How often the epoch advances: the granularity of `--request-timeout`."""

NO_DEADLINE_TICKS = 100 * 365 * 24 * 3600 * 100
"""Epoch deadline used when a request has no timeout (about a century of ticks)."""

_CONFIG: tuple[tuple[str, object], ...] = (
    ("epoch_interruption", True),
    ("cranelift_opt_level", "speed"),
    ("parallel_compilation", True),
    ("wasm_component_model", True),
)

_NATIVE_CONFIG: tuple[tuple[str, bool], ...] = (("concurrency_support", False),)
"""Settings wasmtime-py has no property for, set through the C API. Component-model concurrency
stays off: spin-py hosts no async functions, and with it on (wasmtime 50's default) a guest
passing two or more borrowed handles to one host function traps with "BUG: deferred host scope
has no call context" before the function runs, e.g. `wasi:io/poll.poll` over two pollables
(the Spin Python SDK's `http.send` with a body that does not fit the stream's buffer)."""

_engine: wasmtime.Engine | None = None
_engine_lock = threading.Lock()

POOL_MEMORY_BYTES = 4 * 1024**3
"""Largest linear memory a pooled slot holds (wasm32's whole 4 GiB: a pool slot is address
space reserved up front, not memory; `--max-instance-memory` still caps what a guest uses)."""

_DEFAULT_ALLOCATION: dict[str, object] = {
    "pooling": False,
    "memory_init_cow": True,
    "pool_instances": 0,
}
_allocation = dict(_DEFAULT_ALLOCATION)


def configure_allocation(
    *, pooling: bool, memory_init_cow: bool = True, pool_instances: int = 256
) -> None:
    """Choose the instance allocator before the Engine exists: wasmtime's on-demand allocator
    or its pooling allocator with `pool_instances` component instance slots; copy-on-write
    memory images on or off. Part of `engine_fingerprint()`."""
    with _engine_lock:
        if _engine is not None:
            raise RuntimeError("the Engine already exists: configure the allocator before")
        _allocation.update(
            pooling=pooling,
            memory_init_cow=memory_init_cow,
            pool_instances=pool_instances if pooling else 0,
        )


def _make_config() -> wasmtime.Config:
    config = wasmtime.Config()
    for name, value in _CONFIG:
        setattr(config, name, value)
    for name, flag in _NATIVE_CONFIG:
        getattr(ffi, f"wasmtime_config_{name}_set")(config.ptr(), flag)
    ffi.wasmtime_config_memory_init_cow_set(config.ptr(), bool(_allocation["memory_init_cow"]))
    if _allocation["pooling"]:
        _set_pooling(config, int(str(_allocation["pool_instances"])))
    return config


def _set_pooling(config: wasmtime.Config, instances: int) -> None:
    pool = ffi.wasmtime_pooling_allocation_config_new()
    try:
        ffi.wasmtime_pooling_allocation_config_total_component_instances_set(pool, instances)
        ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, instances * 8)
        ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, instances * 4)
        ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, instances * 4)
        ffi.wasmtime_pooling_allocation_config_max_memories_per_component_set(pool, 8)
        ffi.wasmtime_pooling_allocation_config_max_tables_per_component_set(pool, 8)
        ffi.wasmtime_pooling_allocation_config_max_core_instances_per_component_set(pool, 32)
        ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, POOL_MEMORY_BYTES)
        ffi.wasmtime_pooling_allocation_config_max_core_instance_size_set(pool, 1024 * 1024)
        ffi.wasmtime_pooling_allocation_config_max_component_instance_size_set(pool, 1024 * 1024)
        ffi.wasmtime_pooling_allocation_config_table_elements_set(pool, 100_000)
        ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    finally:
        ffi.wasmtime_pooling_allocation_config_delete(pool)


def get_engine() -> wasmtime.Engine:
    """The Engine of this process, created on first use (thread-safe)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            wasmtime_patches.install()
            _engine = wasmtime.Engine(_make_config())
        return _engine


def engine_fingerprint() -> str:
    """A short text naming the wasmtime version and the Engine settings that shape artifacts."""
    allocation = () if _allocation == _DEFAULT_ALLOCATION else tuple(_allocation.items())
    settings = ",".join(
        f"{name}={value}" for name, value in (*_CONFIG, *_NATIVE_CONFIG, *allocation)
    )
    return f"wasmtime-{wasmtime_version()};{settings}"


def wasmtime_version() -> str:
    """The installed wasmtime-py version (it bundles the matching native library)."""
    from importlib.metadata import version

    return version("wasmtime")


def deadline_ticks(timeout: float | None) -> int:
    """Epoch ticks for a request that may run `timeout` seconds (None: no deadline)."""
    if timeout is None:
        return NO_DEADLINE_TICKS
    # One tick more than the timeout: the current tick may be about to end.
    return max(1, math.ceil(timeout / TICK_SECONDS)) + 1


class EpochTicker:
    """A daemon thread that advances an Engine's epoch every `interval` seconds."""

    def __init__(self, engine: wasmtime.Engine, interval: float = TICK_SECONDS) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start ticking (idempotent)."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="spin-py-epoch-ticker", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for the thread to end (idempotent)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._engine.increment_epoch()


_ticker: EpochTicker | None = None
_ticker_lock = threading.Lock()


def ensure_ticker() -> EpochTicker:
    """Start the process-wide epoch ticker for `get_engine()` if it is not running."""
    global _ticker
    with _ticker_lock:
        if _ticker is None:
            _ticker = EpochTicker(get_engine())
        _ticker.start()
        return _ticker


def stop_ticker() -> None:
    """Stop the process-wide epoch ticker (it restarts on the next `ensure_ticker()`)."""
    with _ticker_lock:
        ticker = _ticker
    if ticker is not None:
        ticker.stop()
