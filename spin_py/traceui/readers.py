"""How a serving process feeds the trace UI: span processors and metric readers.

- In the serving process itself (`--workers 1`): `StoreSpanProcessor` converts each finished
  span into a record and adds it to the store, in the thread that ended the span;
  `local_metric_reader()` is read when the page asks for the metric tables.
- In worker processes (`--workers N`): `forwarding_span_processor(url)` batches finished spans in
  a background thread and sends them to the UI process as JSON records (`POST /api/ingest`;
  half the CPU of OTLP protobuf per span); `forwarding_metric_reader` sends the host metrics
  there over OTLP/HTTP every `FORWARD_METRICS_INTERVAL_MS`. Both have bounded queues and
  short timeouts: a UI that is slow or down costs dropped spans, never a request. Failures are
  counted and logged once at info level.

Every reader uses cumulative temporality and the fine buckets `UI_BOUNDS`.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.parse
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import Aggregation, ExplicitBucketHistogramAggregation
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from spin_py.traceui.metrics_view import UI_BOUNDS
from spin_py.traceui.records import from_readable
from spin_py.traceui.store import TraceStore

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
FORWARD_TIMEOUT_S = 1.0
FORWARD_SCHEDULE_DELAY_MS = 200
FORWARD_QUEUE_SIZE = 4096
FORWARD_BATCH_SIZE = 256
FORWARD_METRICS_INTERVAL_MS = 1000

_TEMPORALITY: dict[type, AggregationTemporality] = {
    cls: AggregationTemporality.CUMULATIVE
    for cls in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}


def _aggregation() -> dict[type, Aggregation]:
    return {Histogram: ExplicitBucketHistogramAggregation(boundaries=UI_BOUNDS)}


class StoreSpanProcessor(SpanProcessor):
    """Adds every finished span to a `TraceStore`; never raises."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store
        self.failed = 0

    def on_end(self, span: ReadableSpan) -> None:
        try:
            record = from_readable(span)
            if record is not None:
                self.store.add(record)
        except Exception:
            self.failed += 1
            log.debug("trace UI: could not keep span %r", span.name, exc_info=True)


def local_metric_reader() -> InMemoryMetricReader:
    """The in-process reader the UI collects from when the page asks."""
    return InMemoryMetricReader(
        preferred_temporality=_TEMPORALITY, preferred_aggregation=_aggregation()
    )


class _FailureNote:
    """Logs the first forwarding failure of the process at info level, later ones at debug."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noted = False
        self.count = 0

    def failed(self, what: str, detail: str) -> None:
        with self._lock:
            self.count += 1
            first, self._noted = not self._noted, True
        level = logging.INFO if first else logging.DEBUG
        log.log(level, "trace UI: could not send %s (%s); they are dropped", what, detail)


class _Poster:
    """POSTs OTLP protobuf bodies to one URL over a kept-alive connection (one thread uses it:
    the batch processor's or the periodic reader's). Reads nothing from the environment: the
    user's collector settings (headers, compression) are not meant for the UI."""

    def __init__(self, url: str, note: _FailureNote) -> None:
        parts = urllib.parse.urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._note = note
        self._conn: http.client.HTTPConnection | None = None

    def post(self, what: str, body: bytes, content_type: str = PROTOBUF) -> bool:
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(
                        self._host, self._port, timeout=FORWARD_TIMEOUT_S
                    )
                headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
                self._conn.request("POST", self._path, body=body, headers=headers)
                response = self._conn.getresponse()
                response.read()
                if 200 <= response.status < 300:
                    return True
                self._note.failed(what, f"HTTP {response.status}")
                return False
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    self._note.failed(what, repr(exc))
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _ForwardingSpanExporter(SpanExporter):
    def __init__(self, poster: _Poster) -> None:
        self._poster = poster

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            records = [r.to_json() for r in map(from_readable, spans) if r is not None]
            body = json.dumps({"spans": records}, separators=(",", ":")).encode()
        except Exception:
            log.debug("trace UI: could not encode spans", exc_info=True)
            return SpanExportResult.FAILURE
        ok = self._poster.post("spans", body, JSON)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._poster.close()


class _ForwardingMetricExporter(MetricExporter):
    def __init__(self, poster: _Poster) -> None:
        super().__init__(preferred_temporality=_TEMPORALITY, preferred_aggregation=_aggregation())
        self._poster = poster

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            body = encode_metrics(metrics_data).SerializeToString()
        except Exception:
            log.debug("trace UI: could not encode metrics", exc_info=True)
            return MetricExportResult.FAILURE
        ok = self._poster.post("metrics", body)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._poster.close()


_NOTE = _FailureNote()


def forwarding_span_processor(ui_url: str) -> SpanProcessor:
    """A batch processor sending finished spans to the UI process at `ui_url`."""
    return BatchSpanProcessor(
        _ForwardingSpanExporter(_Poster(f"{ui_url}/api/ingest", _NOTE)),
        max_queue_size=FORWARD_QUEUE_SIZE,
        schedule_delay_millis=FORWARD_SCHEDULE_DELAY_MS,
        max_export_batch_size=FORWARD_BATCH_SIZE,
        export_timeout_millis=int(FORWARD_TIMEOUT_S * 1000),
    )


def forwarding_metric_reader(ui_url: str) -> MetricReader:
    """A periodic reader sending the host metrics to the UI process at `ui_url`."""
    return PeriodicExportingMetricReader(
        _ForwardingMetricExporter(_Poster(f"{ui_url}/v1/metrics", _NOTE)),
        export_interval_millis=FORWARD_METRICS_INTERVAL_MS,
        export_timeout_millis=int(FORWARD_TIMEOUT_S * 1000),
    )
