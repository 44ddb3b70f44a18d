"""Keeping export failures quiet: one warning per process, counters for everything else.

A collector that is down or slow must never affect requests and must not flood the log. The
OpenTelemetry exporters log every failed batch (and every retry), and the batch processors log
every dropped item; `quiet_sdk_loggers` filters those records out (they are re-logged at debug
level on `spin_py.telemetry.health.export`), and the exporter wrappers in
`spin_py.telemetry.exporters` report failures to `ExportHealth`, which logs exactly one warning.

`TelemetryStats` counts what was dropped or rejected (guest spans with bad ids, undecodable
values, host-function errors, failed exports), for tests and diagnostics.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")

log = logging.getLogger(__name__)
_export_log = logging.getLogger(f"{__name__}.export")

SDK_EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.sdk._shared_internal",
)
"""Loggers whose per-batch / per-item export complaints are replaced by the single warning."""


class TelemetryStats:
    """Thread-safe named counters (e.g. `guest_span_dropped`, `bad_value`, `export_failed`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        """Add `n` to counter `name`."""
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        """The current value of counter `name` (0 if never counted)."""
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)


class ExportHealth:
    """Remembers whether an export failure was already reported; reports only the first one."""

    def __init__(self, stats: TelemetryStats) -> None:
        self._lock = threading.Lock()
        self._warned = False
        self._stats = stats

    def failed(self, signal: str, endpoint: str, detail: str = "") -> None:
        """Record a failed export of `signal`; the first failure of the process logs a warning."""
        self._stats.add(f"export_failed.{signal}")
        with self._lock:
            first = not self._warned
            self._warned = True
        if first:
            log.warning(
                "OpenTelemetry export of %s to %s failed%s; telemetry is dropped while the "
                "collector is unreachable (requests are not affected). Further export failures "
                "are logged at debug level on logger %s.",
                signal,
                endpoint,
                f" ({detail})" if detail else "",
                _export_log.name,
            )
        else:
            _export_log.debug("export of %s to %s failed %s", signal, endpoint, detail)

    def guarded(
        self, signal: str, endpoint: str, send: Callable[[], R], success: R, failure: R
    ) -> R:
        """`send()`'s result, or `failure` if it raised; any result but `success` is reported
        as a failed export of `signal` (with the exception, if any). Never raises."""
        try:
            result = send()
            detail = ""
        except Exception as exc:
            result, detail = failure, repr(exc)
        if result is not success:
            self.failed(signal, endpoint, detail)
        return result

    @property
    def warned(self) -> bool:
        """True once the single warning has been logged."""
        with self._lock:
            return self._warned


class _SdkExportFilter(logging.Filter):
    """Drops the SDK's export complaints at WARNING and above (re-logged at debug)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if _export_log.isEnabledFor(logging.DEBUG):
            _export_log.debug("[%s] %s", record.name, record.getMessage())
        return False


_FILTER = _SdkExportFilter()


def quiet_sdk_loggers() -> None:
    """Install the filter on the SDK's export loggers (idempotent, process-wide)."""
    for name in SDK_EXPORT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
