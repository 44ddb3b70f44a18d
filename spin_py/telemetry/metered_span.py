"""A host-call span that also feeds the host metrics when it ends.

`start_host_span` returns a `MeteredSpan` (only when host metrics are on and the call is one that
is measured: outbound HTTP, key-value, SQLite). It forwards everything to the real span and keeps
what the metric needs itself, because an unsampled span records nothing, and metrics must count
every call whatever the sampling: the start time, the metric attributes given at the start, the
status code set later and the `error.type` passed to `mark_error`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from opentelemetry.trace import Span, SpanContext, Status, StatusCode
from opentelemetry.util.types import Attributes, AttributeValue

from spin_py.telemetry import semconv as sc
from spin_py.telemetry.host_metrics import HostMetrics

_OUTBOUND_KEYS = (sc.HTTP_REQUEST_METHOD, sc.SERVER_ADDRESS, sc.SERVER_PORT)
_PLATFORM_KEYS = (sc.SPIN_KEY_VALUE_STORE, sc.SPIN_SQLITE_DATABASE)


class MeteredSpan(Span):
    """Wraps `inner`; on `end()` records one measurement (see the module docstring)."""

    def __init__(
        self,
        inner: Span,
        metrics: HostMetrics,
        name: str,
        attributes: Mapping[str, AttributeValue] | None,
    ) -> None:
        self.inner = inner
        self._metrics = metrics
        self._name = name
        self._started = time.perf_counter()
        given = attributes or {}
        self._outbound = sc.HTTP_REQUEST_METHOD in given
        keys = _OUTBOUND_KEYS if self._outbound else _PLATFORM_KEYS
        self._point: dict[str, AttributeValue] = {k: given[k] for k in keys if k in given}
        self._ended = False

    def note_error(self, error_type: str) -> None:
        """`error.type` for the measurement (the first one reported wins)."""
        self._point.setdefault(sc.ERROR_TYPE, error_type)

    # -- Span ----------------------------------------------------------------------------------

    def end(self, end_time: int | None = None) -> None:
        if not self._ended:
            self._ended = True
            seconds = time.perf_counter() - self._started
            try:
                if self._outbound:
                    self._metrics.outbound_finished(self._point, seconds)
                else:
                    self._metrics.platform_call(self._name, self._point)
            finally:
                self.inner.end(end_time)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if key == sc.HTTP_RESPONSE_STATUS_CODE and self._outbound:
            self._point[key] = value
        self.inner.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def get_span_context(self) -> SpanContext:
        return self.inner.get_span_context()

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        self.inner.add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        self.inner.add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self.inner.update_name(name)

    def is_recording(self) -> bool:
        return self.inner.is_recording()

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self.inner.set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.inner.record_exception(exception, attributes, timestamp, escaped)

    @property
    def attributes(self) -> Any:
        """The real span's attributes (SDK spans have them; others give None)."""
        return getattr(self.inner, "attributes", None)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.end()
