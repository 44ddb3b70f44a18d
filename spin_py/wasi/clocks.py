"""`wasi:clocks`: `wall-clock` and `monotonic-clock` (with timer pollables).

The clocks are capabilities: `Clocks` bundles a wall clock and a monotonic clock, the system
ones by default. A test (or a future deterministic mode) injects its own per request with
`state.ext(Clocks, lambda: Clocks(wall=..., monotonic=...))`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from wasmtime.component import LinkerInstance, Record

from spin_py.host.linking import add_funcs, wasi
from spin_py.host.pollable import DeadlinePollable, Pollable
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.wasi.io.poll import POLLABLE

WALL_CLOCK = "wasi:clocks/wall-clock"
MONOTONIC_CLOCK = "wasi:clocks/monotonic-clock"
NS_PER_SECOND = 1_000_000_000


class WallClock(Protocol):
    """Time of day, as (seconds, nanoseconds) since the Unix epoch."""

    def now(self) -> tuple[int, int]: ...

    def resolution(self) -> tuple[int, int]: ...


class MonotonicClock(Protocol):
    """Nanoseconds from an arbitrary start; never decreases."""

    def now(self) -> int: ...

    def resolution(self) -> int: ...

    def pollable_at(self, instant: int) -> Pollable:
        """A pollable that becomes ready when `now()` reaches `instant`."""
        ...


class SystemWallClock:
    """The host's real-time clock."""

    def now(self) -> tuple[int, int]:
        seconds, nanoseconds = divmod(time.time_ns(), NS_PER_SECOND)
        return seconds, nanoseconds

    def resolution(self) -> tuple[int, int]:
        return _resolution("time")


class SystemMonotonicClock:
    """The host's monotonic clock (the one `time.monotonic()` reads)."""

    def now(self) -> int:
        return time.monotonic_ns()

    def resolution(self) -> int:
        seconds, nanoseconds = _resolution("monotonic")
        return seconds * NS_PER_SECOND + nanoseconds

    def pollable_at(self, instant: int) -> Pollable:
        return DeadlinePollable(instant / NS_PER_SECOND)


def _resolution(clock: Literal["time", "monotonic"]) -> tuple[int, int]:
    ns = max(1, round(time.get_clock_info(clock).resolution * NS_PER_SECOND))
    seconds, nanoseconds = divmod(ns, NS_PER_SECOND)
    return seconds, nanoseconds


@dataclass(frozen=True)
class Clocks:
    """The clocks a request's guest sees."""

    wall: WallClock
    monotonic: MonotonicClock


SYSTEM_CLOCKS = Clocks(wall=SystemWallClock(), monotonic=SystemMonotonicClock())


def clocks() -> Clocks:
    """The clocks of the current request: its injected `Clocks` extension, else the system's."""
    return current().get_ext(Clocks) or SYSTEM_CLOCKS


def datetime(seconds: int, nanoseconds: int) -> Record:
    """A `wall-clock.datetime` record."""
    record = Record()
    record.seconds = seconds  # type: ignore[attr-defined]
    record.nanoseconds = nanoseconds  # type: ignore[attr-defined]
    return record


def wall_now(store: Store) -> Record:
    """`wall-clock.now`."""
    return datetime(*clocks().wall.now())


def wall_resolution(store: Store) -> Record:
    """`wall-clock.resolution`."""
    return datetime(*clocks().wall.resolution())


def monotonic_now(store: Store) -> int:
    """`monotonic-clock.now`: nanoseconds."""
    return clocks().monotonic.now()


def monotonic_resolution(store: Store) -> int:
    """`monotonic-clock.resolution`: nanoseconds per tick."""
    return clocks().monotonic.resolution()


def subscribe_instant(store: Store, when: int) -> Any:
    """`monotonic-clock.subscribe-instant`: ready once the clock reaches `when`."""
    state = current()
    monotonic = (state.get_ext(Clocks) or SYSTEM_CLOCKS).monotonic
    return state.table.push(monotonic.pollable_at(when), POLLABLE)


def subscribe_duration(store: Store, duration: int) -> Any:
    """`monotonic-clock.subscribe-duration`: ready `duration` nanoseconds from now."""
    state = current()
    monotonic = (state.get_ext(Clocks) or SYSTEM_CLOCKS).monotonic
    return state.table.push(monotonic.pollable_at(monotonic.now() + duration), POLLABLE)


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock`."""
    with root.add_instance(wasi(WALL_CLOCK)) as instance:
        add_funcs(instance, {"now": wall_now, "resolution": wall_resolution})
    with root.add_instance(wasi(MONOTONIC_CLOCK)) as instance:
        add_funcs(
            instance,
            {
                "now": monotonic_now,
                "resolution": monotonic_resolution,
                "subscribe-instant": subscribe_instant,
                "subscribe-duration": subscribe_duration,
            },
        )
