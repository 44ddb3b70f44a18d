"""The host's own metrics, through the OpenTelemetry metrics SDK (docs/observability.md section 9).

`HostMetrics` owns a `MeterProvider` with the resource of the process's spans and records:

- `http.server.request.duration` (histogram, s): `http.request.method`, `url.scheme`,
  `http.route`, `http.response.status_code`, `network.protocol.version`, `error.type`;
- `http.server.active_requests` (up-down counter): `http.request.method`, `url.scheme`;
- `spin.component.execute.duration` (histogram, s): `spin.component.id`, `spin.execute.outcome`
  (the `OutcomeKind` values, or `rejected`: refused for overload before running);
- `http.client.request.duration` (histogram, s; outbound HTTP from components):
  `http.request.method`, `server.address`, `server.port`, `http.response.status_code`,
  `error.type`;
- `spin.key_value.operations` (counter): `spin.key_value.store`, `spin.operation`, `error.type`;
- `spin.sqlite.operations` (counter): `spin.sqlite.database`, `spin.operation`, `error.type`.

Metrics are recorded whether or not the request's spans are sampled. The provider exists only
when something reads it: an OTLP metrics endpoint (a `PeriodicExportingMetricReader`, interval
`OTEL_METRIC_EXPORT_INTERVAL`) and/or the trace UI's reader; otherwise `configure` builds none and
every call site skips recording.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import AttributeValue

from spin_py.telemetry import semconv as sc
from spin_py.telemetry.health import ExportHealth

log = logging.getLogger(__name__)

SERVER_DURATION = "http.server.request.duration"
ACTIVE_REQUESTS = "http.server.active_requests"
EXECUTE_DURATION = "spin.component.execute.duration"
CLIENT_DURATION = "http.client.request.duration"
KV_OPERATIONS = "spin.key_value.operations"
SQLITE_OPERATIONS = "spin.sqlite.operations"

SPIN_COMPONENT_ID = "spin.component.id"
SPIN_EXECUTE_OUTCOME = "spin.execute.outcome"
SPIN_OPERATION = "spin.operation"
OUTCOME_REJECTED = "rejected"
"""`spin.execute.outcome` of a request refused before its guest ran (overload 503), duration 0."""

HTTP_DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5)
HTTP_DURATION_BUCKETS += (0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""The bucket boundaries (seconds) the HTTP semantic conventions advise for durations."""

KV_SPAN_PREFIX = "spin_key_value."
SQLITE_SPAN_PREFIX = "spin_sqlite."

TEMPORALITY_PREFERENCE = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"

_CUMULATIVE = AggregationTemporality.CUMULATIVE
_DELTA = AggregationTemporality.DELTA
_TEMPORALITIES: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": {},
    "delta": {Counter: _DELTA, Histogram: _DELTA, ObservableCounter: _DELTA},
    "lowmemory": {Counter: _DELTA, Histogram: _DELTA},
}


def temporality_preference(env: Mapping[str, str]) -> dict[type, AggregationTemporality]:
    """`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` as a reader's preferred temporality
    (`cumulative`, the default, `delta` or `lowmemory`, as the OTLP exporter specification
    defines them); an unknown value warns and means cumulative."""
    raw = env.get(TEMPORALITY_PREFERENCE, "").strip().lower() or "cumulative"
    chosen = _TEMPORALITIES.get(raw)
    if chosen is None:
        log.warning(
            "ignoring %s=%r (use cumulative, delta or lowmemory)", TEMPORALITY_PREFERENCE, raw
        )
        chosen = {}
    every = (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter)
    result: dict[type, AggregationTemporality] = {c: chosen.get(c, _CUMULATIVE) for c in every}
    result[ObservableGauge] = _CUMULATIVE
    return result


class GuardedMetricReaderExporter(MetricExporter):
    """Wraps the OTLP metric exporter of a periodic reader: never raises; failures go to
    `ExportHealth` (one warning per process, like the span exporter)."""

    def __init__(
        self,
        inner: Any,
        health: ExportHealth,
        endpoint: str,
        temporality: dict[type, AggregationTemporality],
    ) -> None:
        super().__init__(preferred_temporality=temporality)
        self.inner = inner
        self._health = health
        self._endpoint = endpoint

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        return self._health.guarded(
            "metrics",
            self._endpoint,
            lambda: self.inner.export(metrics_data, timeout_millis=timeout_millis),
            MetricExportResult.SUCCESS,
            MetricExportResult.FAILURE,
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        try:
            self.inner.shutdown()
        except Exception:
            log.debug("metric exporter shutdown failed", exc_info=True)


class HostMetrics:
    """The host's instruments (see the module docstring); thread-safe, never raises."""

    def __init__(self, resource: Resource, readers: Sequence[MetricReader], version: str) -> None:
        self.provider = MeterProvider(
            metric_readers=list(readers), resource=resource, shutdown_on_exit=False
        )
        meter = self.provider.get_meter("spin-py", version)
        self._server_duration = meter.create_histogram(
            SERVER_DURATION,
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=HTTP_DURATION_BUCKETS,
        )
        # counted here and observed at collection: two SDK measurements less per request
        self._active: dict[tuple[tuple[str, AttributeValue], ...], int] = {}
        meter.create_observable_up_down_counter(
            ACTIVE_REQUESTS,
            callbacks=[self._observe_active],
            unit="{request}",
            description="Number of active HTTP server requests.",
        )
        self._execute = meter.create_histogram(
            EXECUTE_DURATION,
            unit="s",
            description="Time from instantiation to the end of a component's handler call.",
            explicit_bucket_boundaries_advisory=HTTP_DURATION_BUCKETS,
        )
        self._client_duration = meter.create_histogram(
            CLIENT_DURATION,
            unit="s",
            description="Duration of outbound HTTP requests made by components (to the head).",
            explicit_bucket_boundaries_advisory=HTTP_DURATION_BUCKETS,
        )
        self._kv = meter.create_counter(
            KV_OPERATIONS, unit="{operation}", description="Key-value calls made by components."
        )
        self._sqlite = meter.create_counter(
            SQLITE_OPERATIONS, unit="{operation}", description="SQLite calls made by components."
        )

    # -- server requests -----------------------------------------------------------------------

    def request_started(self, attributes: Mapping[str, AttributeValue]) -> None:
        """One more active request (`attributes`: method and scheme). Event loop only."""
        key = tuple(attributes.items())
        self._active[key] = self._active.get(key, 0) + 1

    def request_finished(
        self,
        active_attributes: Mapping[str, AttributeValue],
        attributes: Mapping[str, AttributeValue],
        seconds: float,
    ) -> None:
        """A request is complete: one less active, and its duration. Event loop only."""
        key = tuple(active_attributes.items())
        self._active[key] = self._active.get(key, 0) - 1
        self._server_duration.record(seconds, attributes)

    def _observe_active(self, options: CallbackOptions) -> Iterable[Observation]:
        """The active request counts (called by the SDK when a reader collects)."""
        return [Observation(count, dict(key)) for key, count in list(self._active.items())]

    # -- component calls and host calls --------------------------------------------------------

    def execute_finished(self, component_id: str, outcome: str, seconds: float) -> None:
        """A guest call ended with `outcome` (`ok`, `trap`, `timeout`, `out-of-memory`, ...)."""
        point = {SPIN_COMPONENT_ID: component_id, SPIN_EXECUTE_OUTCOME: outcome}
        self._execute.record(seconds, point)

    def outbound_finished(self, attributes: Mapping[str, AttributeValue], seconds: float) -> None:
        """An outbound HTTP request got its response head (or failed)."""
        self._client_duration.record(seconds, attributes)

    def platform_call(self, span_name: str, attributes: Mapping[str, AttributeValue]) -> None:
        """A key-value or SQLite host call, named like its span (`spin_key_value.get`)."""
        if span_name.startswith(KV_SPAN_PREFIX):
            counter, prefix, label_key = self._kv, KV_SPAN_PREFIX, sc.SPIN_KEY_VALUE_STORE
        elif span_name.startswith(SQLITE_SPAN_PREFIX):
            counter, prefix, label_key = self._sqlite, SQLITE_SPAN_PREFIX, sc.SPIN_SQLITE_DATABASE
        else:
            return
        point: dict[str, AttributeValue] = {SPIN_OPERATION: span_name.removeprefix(prefix)}
        for key in (label_key, sc.ERROR_TYPE):
            value = attributes.get(key)
            if value is not None:
                point[key] = value
        counter.add(1, point)

    # -- lifecycle -----------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.provider.shutdown()


def is_metered_host_call(span_name: str, attributes: Mapping[str, AttributeValue] | None) -> bool:
    """Whether a host-call span of this name feeds a metric (outbound HTTP, key-value, SQLite)."""
    if span_name.startswith((KV_SPAN_PREFIX, SQLITE_SPAN_PREFIX)):
        return True
    return attributes is not None and sc.HTTP_REQUEST_METHOD in attributes
