"""Telemetry setup from the standard OTEL_* environment: `configure(env, ...) -> Telemetry`.

There is always a `TracerProvider` (parent-based sampling unless `OTEL_TRACES_SAMPLER` says
otherwise), so trace ids are generated and `traceparent` is extracted and propagated even with
export off; with trace export off, `Telemetry.tracer` is a `PropagatingTracer` (same ids and
sampled flags, nothing recorded: see `spin_py.telemetry.propagating`). Export is on per
signal when an endpoint is configured (see `exporters`): spans go through a
`BatchSpanProcessor` (background thread: a down or slow collector never delays a request),
metrics from guests are exported on demand, guest log records through a batch processor.
Only the CLI passes `os.environ`; tests pass plain dicts.

Extra span processors (the trace UI's store) sit beside the OTLP one and see every finished span,
host and guest, export on or off. Host metrics (`host_metrics`) exist when an OTLP metrics
endpoint is configured or an extra metric reader (the trace UI's) is passed; otherwise
`Telemetry.metrics` is None and nothing is measured.

`Telemetry.shutdown(timeout_s)` flushes what is buffered and returns within about `timeout_s`
even when the collector does not answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics.export import (
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    ReadableSpan,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer

from spin_py.telemetry import env as envvars
from spin_py.telemetry.exporters import (
    ExportTarget,
    GuardedLogExporter,
    GuardedMetricExporter,
    GuardedSpanExporter,
    build_exporter,
    export_target,
)
from spin_py.telemetry.health import ExportHealth, TelemetryStats, quiet_sdk_loggers
from spin_py.telemetry.host_metrics import (
    GuardedMetricReaderExporter,
    HostMetrics,
    temporality_preference,
)
from spin_py.telemetry.propagating import PropagatingTracer
from spin_py.telemetry.resource import build_resource
from spin_py.telemetry.sampling import sampler_from_env

log = logging.getLogger(__name__)

TRACER_NAME = "spin-py"
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass(eq=False)
class Telemetry:
    """The process's telemetry: tracer, host resource and each signal's export pipeline.

    `span_processor`, `metric_exporter` and `log_processor` are None when that signal's export
    is off; the wasi:otel host then turns the matching guest calls into no-ops (extra span
    processors count as export: guest spans then reach them). `metrics` records the host's own
    metrics (None: off); `access_log` asks for one log line per request.
    """

    resource: Resource
    tracer_provider: TracerProvider
    tracer: Tracer
    span_processor: SpanProcessor | None = None
    metric_exporter: GuardedMetricExporter | None = None
    log_processor: LogRecordProcessor | None = None
    stats: TelemetryStats = field(default_factory=TelemetryStats)
    health: ExportHealth | None = None
    targets: tuple[ExportTarget, ...] = ()
    exporters: tuple[GuardedSpanExporter | GuardedLogExporter | GuardedMetricExporter, ...] = ()
    metrics: HostMetrics | None = None
    access_log: bool = False
    _metrics_lock: threading.Lock = field(default_factory=threading.Lock)
    _shut_down: bool = False

    @property
    def traces_exported(self) -> bool:
        return self.span_processor is not None

    def export_span(self, span: ReadableSpan) -> None:
        """Hand a finished span built elsewhere (a guest span) to the export pipeline."""
        if self.span_processor is not None and span.context.trace_flags.sampled:
            self.span_processor.on_end(span)

    def export_metrics(self, data: MetricsData) -> str | None:
        """Export `data` now (blocking; call off the event loop). None, or an error message."""
        if self.metric_exporter is None:
            return None
        with self._metrics_lock:
            return self.metric_exporter.export(data)

    def emit_log(self, record: ReadWriteLogRecord) -> None:
        """Queue one log record for export (no-op when logs are not exported)."""
        if self.log_processor is not None:
            self.log_processor.on_emit(record)

    def force_flush(self, timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> bool:
        """Export what is buffered now; False if that did not finish within `timeout_s`."""
        return _bounded(self._flush, timeout_s, "flush", self._timeout_level())

    def shutdown(self, timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> None:
        """Flush and stop every pipeline, waiting at most about `timeout_s` (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        if not _bounded(self._shutdown, timeout_s, "shutdown", self._timeout_level()):
            self._abort()

    def _timeout_level(self) -> int:
        """A flush that times out is news only if no export failure was reported yet."""
        already_warned = self.health is not None and self.health.warned
        return logging.INFO if already_warned else logging.WARNING

    def _flush(self) -> None:
        millis = 30_000
        self.tracer_provider.force_flush(millis)
        if self.log_processor is not None:
            self.log_processor.force_flush(millis)
        if self.metrics is not None:
            self.metrics.force_flush(millis)

    def _shutdown(self) -> None:
        self.tracer_provider.shutdown()
        if self.log_processor is not None:
            self.log_processor.shutdown()
        if self.metric_exporter is not None:
            self.metric_exporter.shutdown()
        if self.metrics is not None:
            self.metrics.shutdown()

    def _abort(self) -> None:
        """Make exporters stuck in retries give up (their shutdown interrupts the backoff)."""
        for exporter in self.exporters:
            exporter.shutdown()


def _bounded(fn: Any, timeout_s: float, what: str, level: int) -> bool:
    """Run `fn` in a daemon thread and wait at most `timeout_s` for it."""
    worker = threading.Thread(target=_logged(fn, what), name=f"telemetry-{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        log.log(
            level,
            "telemetry %s did not finish within %.1fs; unsent data is dropped",
            what,
            timeout_s,
        )
        return False
    return True


def _logged(fn: Any, what: str) -> Any:
    def run() -> None:
        try:
            fn()
        except Exception:
            log.debug("telemetry %s failed", what, exc_info=True)

    return run


def configure(
    env: Mapping[str, str],
    *,
    app_name: str,
    version: str,
    span_exporter: SpanExporter | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    access_log: bool = False,
) -> Telemetry:
    """Build the process's telemetry from the standard OTEL_* variables in `env`.

    `span_exporter`, if given, receives every span synchronously instead of an OTLP exporter
    (for tests that inspect spans in memory). `span_processors` are added beside the exporting
    one; `metric_readers` read the host metrics beside any OTLP metric export. `access_log`:
    log one line per request. Raises `ConfigError` for an unusable protocol.
    """
    resource = build_resource(env, app_name=app_name, version=version)
    sampler = sampler_from_env(env)
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    stats = TelemetryStats()
    health = ExportHealth(stats)
    targets = {s: export_target(env, s) for s in envvars.SIGNALS}
    if any(targets.values()):
        quiet_sdk_loggers()
    spans = _guarded(targets["traces"], health, GuardedSpanExporter)
    metrics = _guarded(targets["metrics"], health, GuardedMetricExporter)
    logs = _guarded(targets["logs"], health, GuardedLogExporter)
    span_processor = _combined(_span_processor(env, spans, span_exporter), span_processors)
    if span_processor is not None:
        provider.add_span_processor(span_processor)
    readers = list(metric_readers)
    if targets["metrics"] is not None:
        readers.append(_metric_reader(env, targets["metrics"], health))
    telemetry = Telemetry(
        resource=resource,
        tracer_provider=provider,
        tracer=provider.get_tracer(TRACER_NAME, version)
        if span_processor is not None
        else PropagatingTracer(sampler),
        span_processor=span_processor,
        metric_exporter=metrics,
        log_processor=None if logs is None else _log_processor(env, logs),
        stats=stats,
        health=health,
        targets=tuple(t for t in targets.values() if t is not None),
        exporters=tuple(e for e in (spans, metrics, logs) if e is not None),
        metrics=HostMetrics(resource, readers, version) if readers else None,
        access_log=access_log,
    )
    _log_summary(telemetry)
    return telemetry


G = TypeVar("G", GuardedSpanExporter, GuardedMetricExporter, GuardedLogExporter)


def _guarded(target: ExportTarget | None, health: ExportHealth, wrap: type[G]) -> G | None:
    if target is None:
        return None
    return wrap(build_exporter(target), health, target.endpoint, target.timeout_s)


def _span_processor(
    env: Mapping[str, str], exporter: SpanExporter | None, override: SpanExporter | None
) -> SpanProcessor | None:
    if override is not None:
        return SimpleSpanProcessor(override)
    if exporter is None:
        return None
    return BatchSpanProcessor(
        exporter,
        max_queue_size=envvars.get_int(env, envvars.OTEL_BSP_MAX_QUEUE_SIZE, 2048, minimum=1),
        schedule_delay_millis=envvars.get_int(env, envvars.OTEL_BSP_SCHEDULE_DELAY, 5000),
        max_export_batch_size=envvars.get_int(
            env, envvars.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512, minimum=1
        ),
        export_timeout_millis=envvars.get_int(env, envvars.OTEL_BSP_EXPORT_TIMEOUT, 30000),
    )


def _combined(
    exporting: SpanProcessor | None, extra: Sequence[SpanProcessor]
) -> SpanProcessor | None:
    """The exporting processor and the extra ones as one processor (None if there is none)."""
    processors = [p for p in (exporting, *extra) if p is not None]
    if len(processors) <= 1:
        return processors[0] if processors else None
    combined = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    for processor in processors:
        combined.add_span_processor(processor)
    return combined


def _metric_reader(
    env: Mapping[str, str], target: ExportTarget, health: ExportHealth
) -> MetricReader:
    """The periodic reader exporting the host metrics to `target` over OTLP."""
    exporter = GuardedMetricReaderExporter(
        build_exporter(target), health, target.endpoint, temporality_preference(env)
    )
    interval = envvars.get_int(env, envvars.OTEL_METRIC_EXPORT_INTERVAL, 60_000, minimum=1)
    timeout = envvars.get_int(env, envvars.OTEL_METRIC_EXPORT_TIMEOUT, 30_000, minimum=1)
    return PeriodicExportingMetricReader(
        exporter, export_interval_millis=interval, export_timeout_millis=timeout
    )


def _log_processor(env: Mapping[str, str], exporter: LogRecordExporter) -> LogRecordProcessor:
    return BatchLogRecordProcessor(
        exporter,
        schedule_delay_millis=envvars.get_int(env, envvars.OTEL_BLRP_SCHEDULE_DELAY, 1000),
        max_export_batch_size=envvars.get_int(
            env, envvars.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, 512, minimum=1
        ),
        export_timeout_millis=envvars.get_int(env, envvars.OTEL_BLRP_EXPORT_TIMEOUT, 30000),
        max_queue_size=envvars.get_int(env, envvars.OTEL_BLRP_MAX_QUEUE_SIZE, 2048, minimum=1),
    )


def _log_summary(telemetry: Telemetry) -> None:
    if not telemetry.targets:
        log.debug("OpenTelemetry export is off (no OTEL_EXPORTER_OTLP_*ENDPOINT set)")
    for target in telemetry.targets:
        log.info("exporting %s to %s (%s)", target.signal, target.endpoint, target.protocol)
