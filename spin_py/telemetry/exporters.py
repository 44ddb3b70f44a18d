"""Choosing and building the OTLP exporter of each signal from the standard variables.

A signal is exported when `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
is set, `OTEL_SDK_DISABLED` is not `true` and `OTEL_<SIGNAL>_EXPORTER` is `otlp` (the default).
Protocol `http/protobuf` (default) uses opentelemetry-exporter-otlp-proto-http; `grpc` uses the
gRPC exporter if it is installed, else startup fails with a `ConfigError`; `http/json` is not
implemented by the Python SDK and fails at startup too.

Every setting is passed to the exporter explicitly (the exporters would otherwise read
`os.environ` themselves). `OTEL_EXPORTER_OTLP_*TIMEOUT` is in milliseconds, as the OTel
specification says. Each exporter is wrapped so that it never raises and reports failures to
`ExportHealth` (one warning per process).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from spin_py.errors import ConfigError
from spin_py.telemetry import env as envvars
from spin_py.telemetry.health import ExportHealth

log = logging.getLogger(__name__)

HTTP_PROTOBUF = "http/protobuf"
GRPC = "grpc"
HTTP_JSON = "http/json"
DEFAULT_TIMEOUT_MS = 10_000

_ENDPOINT = envvars.OTEL_EXPORTER_OTLP_ENDPOINT
_PROTOCOL = envvars.OTEL_EXPORTER_OTLP_PROTOCOL
_HEADERS = envvars.OTEL_EXPORTER_OTLP_HEADERS
_TIMEOUT = envvars.OTEL_EXPORTER_OTLP_TIMEOUT
_COMPRESSION = envvars.OTEL_EXPORTER_OTLP_COMPRESSION
_CERTIFICATE = envvars.OTEL_EXPORTER_OTLP_CERTIFICATE

_HTTP_MODULES = {
    "traces": ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    "metrics": ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
    "logs": ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
}
_GRPC_MODULES = {
    "traces": ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    "metrics": ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    "logs": ("opentelemetry.exporter.otlp.proto.grpc._log_exporter", "OTLPLogExporter"),
}


@dataclass(frozen=True)
class ExportTarget:
    """Where and how one signal is exported."""

    signal: str
    protocol: str
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_MS / 1000
    compression: str = "none"
    certificate: str | None = None


def export_target(env: Mapping[str, str], signal: str) -> ExportTarget | None:
    """The export target of `signal` ("traces", "metrics", "logs"), or None when it is off.

    Raises `ConfigError` for an unusable protocol.
    """
    if envvars.get_bool(env, envvars.OTEL_SDK_DISABLED) or not _exporter_wanted(env, signal):
        return None
    explicit = env.get(envvars.signal_var(_ENDPOINT, signal), "").strip()
    base = env.get(_ENDPOINT, "").strip()
    if not explicit and not base:
        return None
    protocol = _protocol(env, signal)
    if explicit:
        endpoint = explicit
    elif protocol == GRPC:
        endpoint = base
    else:
        endpoint = f"{base.rstrip('/')}/v1/{signal}"
    return ExportTarget(
        signal=signal,
        protocol=protocol,
        endpoint=endpoint,
        headers=_headers(env, signal),
        timeout_s=_timeout_ms(env, signal) / 1000,
        compression=_compression(env, signal),
        certificate=envvars.signal_setting(env, _CERTIFICATE, signal),
    )


def _exporter_wanted(env: Mapping[str, str], signal: str) -> bool:
    name = envvars.exporter_var(signal)
    value = env.get(name, "").strip().lower() or "otlp"
    if value in ("otlp", "none"):
        return value == "otlp"
    log.warning(
        "%s=%r is not supported by spin-py (only otlp or none); %s are not exported",
        name,
        value,
        signal,
    )
    return False


def _protocol(env: Mapping[str, str], signal: str) -> str:
    protocol = (envvars.signal_setting(env, _PROTOCOL, signal) or HTTP_PROTOBUF).lower()
    if protocol == HTTP_PROTOBUF:
        return protocol
    if protocol == GRPC:
        module, _ = _GRPC_MODULES[signal]
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(
                f"OTLP protocol 'grpc' ({_PROTOCOL}) needs the package "
                "opentelemetry-exporter-otlp-proto-grpc, which is not installed: install it, or "
                f"use {HTTP_PROTOBUF}"
            ) from None
        return protocol
    if protocol == HTTP_JSON:
        raise ConfigError(
            f"OTLP protocol '{HTTP_JSON}' ({_PROTOCOL}) is not supported by spin-py "
            f"(the OpenTelemetry Python SDK has no JSON exporter): use {HTTP_PROTOBUF} or {GRPC}"
        )
    raise ConfigError(
        f"unknown OTLP protocol {protocol!r} in {_PROTOCOL}: use {HTTP_PROTOBUF} or {GRPC}"
    )


def _headers(env: Mapping[str, str], signal: str) -> dict[str, str]:
    raw = envvars.signal_setting(env, _HEADERS, signal) or ""
    return envvars.parse_key_values(raw, _HEADERS)


def _timeout_ms(env: Mapping[str, str], signal: str) -> int:
    specific = envvars.signal_var(_TIMEOUT, signal)
    name = specific if env.get(specific, "").strip() else _TIMEOUT
    return envvars.get_int(env, name, DEFAULT_TIMEOUT_MS, minimum=1)


def _compression(env: Mapping[str, str], signal: str) -> str:
    value = (envvars.signal_setting(env, _COMPRESSION, signal) or "none").lower()
    if value not in ("none", "gzip", "deflate"):
        log.warning("ignoring %s=%r (use gzip or none)", _COMPRESSION, value)
        return "none"
    return value


def build_exporter(target: ExportTarget) -> Any:
    """A new OTLP exporter (span, metric or log, per `target.signal`) for `target`."""
    modules = _GRPC_MODULES if target.protocol == GRPC else _HTTP_MODULES
    module_name, class_name = modules[target.signal]
    cls = getattr(importlib.import_module(module_name), class_name)
    if target.protocol == GRPC:
        return cls(
            endpoint=target.endpoint,
            headers=target.headers,
            timeout=target.timeout_s,
            compression=_grpc_compression(target.compression),
        )
    from opentelemetry.exporter.otlp.proto.http import Compression

    compression = {
        "none": Compression.NoCompression,
        "gzip": Compression.Gzip,
        "deflate": Compression.Deflate,
    }[target.compression]
    return cls(
        endpoint=target.endpoint,
        certificate_file=target.certificate,
        headers=target.headers,
        timeout=target.timeout_s,
        compression=compression,
    )


def _grpc_compression(name: str) -> Any:
    import grpc  # type: ignore[import-not-found]

    return {
        "none": grpc.Compression.NoCompression,
        "gzip": grpc.Compression.Gzip,
        "deflate": grpc.Compression.Deflate,
    }[name]


class GuardedSpanExporter(SpanExporter):
    """Wraps a span exporter: never raises; failures go to `ExportHealth`."""

    def __init__(
        self, inner: SpanExporter, health: ExportHealth, endpoint: str, timeout_s: float = 10.0
    ) -> None:
        self.inner = inner
        self._health = health
        self._endpoint = endpoint

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._health.guarded(
            "traces",
            self._endpoint,
            lambda: self.inner.export(spans),
            SpanExportResult.SUCCESS,
            SpanExportResult.FAILURE,
        )

    def shutdown(self) -> None:
        _quietly(self.inner.shutdown)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(_quietly(self.inner.force_flush, timeout_millis))


class GuardedLogExporter(LogRecordExporter):
    """Wraps a log record exporter: never raises; failures go to `ExportHealth`."""

    def __init__(
        self, inner: LogRecordExporter, health: ExportHealth, endpoint: str, timeout_s: float = 10.0
    ) -> None:
        self.inner = inner
        self._health = health
        self._endpoint = endpoint

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return self._health.guarded(
            "logs",
            self._endpoint,
            lambda: self.inner.export(batch),
            LogRecordExportResult.SUCCESS,
            LogRecordExportResult.FAILURE,
        )

    def shutdown(self) -> None:
        _quietly(self.inner.shutdown)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(_quietly(self.inner.force_flush, timeout_millis))


class GuardedMetricExporter:
    """Wraps a metric exporter for direct use: `export` returns None or an error message."""

    def __init__(self, inner: Any, health: ExportHealth, endpoint: str, timeout_s: float) -> None:
        self.inner = inner
        self._health = health
        self._endpoint = endpoint
        self._timeout_ms = timeout_s * 1000

    def export(self, data: MetricsData) -> str | None:
        """Send `data` now (blocking); None on success, else a message for the guest."""
        try:
            result = self.inner.export(data, timeout_millis=self._timeout_ms)
        except Exception as exc:
            self._health.failed("metrics", self._endpoint, repr(exc))
            return f"metrics export failed: {exc}"
        if result is not MetricExportResult.SUCCESS:
            self._health.failed("metrics", self._endpoint)
            return f"metrics export to {self._endpoint} failed"
        return None

    def shutdown(self) -> None:
        _quietly(self.inner.shutdown)


def _quietly(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        log.debug("exporter call %s failed", getattr(fn, "__name__", fn), exc_info=True)
        return None
