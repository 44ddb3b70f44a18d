"""Nothing a guest sends through wasi:otel may trap the guest or crash the host.

`guarded(name, default)` wraps every host function body: any exception is logged (a warning
the first time per function, then debug) and counted as `host_error.<name>`, and the function
returns `default()` to the guest. `Issues` is how conversion code reports guest mistakes (bad
ids, undecodable values): counted in `TelemetryStats` and logged at debug level only, so a
misbehaving guest cannot flood the log.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from spin_py.telemetry.health import TelemetryStats

log = logging.getLogger(__name__)

R = TypeVar("R")

_warned: set[str] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class Issues:
    """Counts and logs (debug) problems in what one guest sent."""

    stats: TelemetryStats

    def report(self, counter: str, detail: str) -> None:
        """Count `counter` and log `detail`."""
        self.stats.add(counter)
        log.debug("wasi:otel: %s (%s)", detail, counter)


def guarded(
    name: str, default: Callable[[], R], stats: Callable[[], TelemetryStats]
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Decorate host function `name`: exceptions become `default()`, logged and counted in
    `stats()` (which must itself not fail)."""

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(fn)
        def host_function(*args: Any) -> R:
            try:
                return fn(*args)
            except Exception:
                _report(name, stats)
                return default()

        return host_function

    return wrap


def _report(name: str, stats: Callable[[], TelemetryStats]) -> None:
    try:
        stats().add(f"host_error.{name}")
    except Exception:
        log.debug("could not count a wasi:otel error", exc_info=True)
    with _warned_lock:
        first = name not in _warned
        _warned.add(name)
    level = logging.WARNING if first else logging.DEBUG
    log.log(level, "wasi:otel %s failed; the guest's data was ignored", name, exc_info=True)
