"""The standard OpenTelemetry environment variables spin-py reads, and their small parsers.

Only `spin_py.telemetry.setup.configure` reads these, from the mapping the CLI passes
(`os.environ`); nothing else in spin-py looks at the environment for telemetry. Names and meanings
are those of the OpenTelemetry SDK configuration specification.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import unquote

log = logging.getLogger(__name__)

OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""`true` turns every signal's export off (trace context is still extracted and propagated)."""

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""The resource's `service.name`; wins over `service.name` in `OTEL_RESOURCE_ATTRIBUTES`."""

OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Extra resource attributes: `key1=value1,key2=value2`, values percent-encoded."""

OTEL_TRACES_SAMPLER = "OTEL_TRACES_SAMPLER"
"""`always_on`, `always_off`, `traceidratio`, `parentbased_always_on` (default),
`parentbased_always_off`, `parentbased_traceidratio`."""

OTEL_TRACES_SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
"""The ratio (0..1) of the `*traceidratio` samplers; default 1.0."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Base URL of the collector; `/v1/traces` (metrics, logs) is appended for OTLP/HTTP."""

OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""`http/protobuf` (default), `grpc` (needs opentelemetry-exporter-otlp-proto-grpc);
`http/json` is refused at startup."""

OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
"""Headers for every export request: `key1=value1,key2=value2`, values percent-encoded."""

OTEL_EXPORTER_OTLP_TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT"
"""Time limit of one export request in milliseconds (default 10000)."""

OTEL_EXPORTER_OTLP_COMPRESSION = "OTEL_EXPORTER_OTLP_COMPRESSION"
"""`gzip` or `none` (default)."""

OTEL_EXPORTER_OTLP_CERTIFICATE = "OTEL_EXPORTER_OTLP_CERTIFICATE"
"""CA certificate file for a TLS collector."""

SIGNALS = ("traces", "metrics", "logs")

OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
OTEL_LOGS_EXPORTER = "OTEL_LOGS_EXPORTER"
"""`otlp` (default) or `none`, per signal; other exporters are not supported (warning, off)."""


def exporter_var(signal: str) -> str:
    """`OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER`."""
    return f"OTEL_{signal.upper()}_EXPORTER"


def signal_var(base: str, signal: str) -> str:
    """The per-signal variant of an exporter variable: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`."""
    prefix = "OTEL_EXPORTER_OTLP_"
    return f"{prefix}{signal.upper()}_{base.removeprefix(prefix)}"


def signal_setting(env: Mapping[str, str], base: str, signal: str) -> str | None:
    """The per-signal value of `base` if set and non-empty, else the general one, else None."""
    for name in (signal_var(base, signal), base):
        value = env.get(name, "").strip()
        if value:
            return value
    return None


OTEL_BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_MAX_QUEUE_SIZE = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_BSP_EXPORT_TIMEOUT = "OTEL_BSP_EXPORT_TIMEOUT"
OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
"""Milliseconds between two exports of the host metrics (default 60000)."""
OTEL_METRIC_EXPORT_TIMEOUT = "OTEL_METRIC_EXPORT_TIMEOUT"
"""Time limit of one export of the host metrics in milliseconds (default 30000)."""
OTEL_BLRP_SCHEDULE_DELAY = "OTEL_BLRP_SCHEDULE_DELAY"
OTEL_BLRP_MAX_QUEUE_SIZE = "OTEL_BLRP_MAX_QUEUE_SIZE"
OTEL_BLRP_MAX_EXPORT_BATCH_SIZE = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
OTEL_BLRP_EXPORT_TIMEOUT = "OTEL_BLRP_EXPORT_TIMEOUT"


def get_bool(env: Mapping[str, str], name: str) -> bool:
    """True only for the (case-insensitive) value `true`, as the OTel specification says."""
    return env.get(name, "").strip().lower() == "true"


def get_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer setting; an unparsable or too small value logs a warning and gives `default`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        log.warning("ignoring %s=%r: not an integer >= %d", name, raw, minimum)
        return default
    return value


def parse_key_values(raw: str, what: str) -> dict[str, str]:
    """Parse `key1=value1,key2=value2` (the format of OTEL_RESOURCE_ATTRIBUTES and headers).

    Keys and values are trimmed and percent-decoded; a member without `=` or with an empty key
    is skipped with a warning naming `what`.
    """
    out: dict[str, str] = {}
    for member in raw.split(","):
        if not member.strip():
            continue
        key, sep, value = member.partition("=")
        key = unquote(key.strip())
        if not sep or not key:
            log.warning("ignoring malformed entry %r in %s", member.strip(), what)
            continue
        out[key] = unquote(value.strip())
    return out
