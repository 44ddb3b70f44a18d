"""The trace UI's metric tables, computed from the host metrics (`spin_py.telemetry.host_metrics`).

Every serving process gives the UI its host metrics as cumulative OTLP data (a metric reader of
its own, with the fine histogram buckets `UI_BOUNDS` instead of the coarse ones of the HTTP
conventions, so that percentiles mean something for millisecond requests). `MetricSnapshots`
keeps the latest data of each process (by resource `service.instance.id`; at most
`MAX_SENDERS`, a restarted worker is a new sender and the old one's counts stay), and `tables`
merges them into:

- `routes`: per method and route: requests, errors (`error.type` set: 5xx or a host failure),
  error rate, status codes, mean, p50 and p99 in milliseconds;
- `components`: per component: guest calls by outcome, p50 and p99;
- `outbound`: per method and host of outbound requests: count, errors, p50 and p99;
- `platform`: key-value and SQLite calls per store/database and operation, with errors;
- `active_requests`: requests in progress now.

Percentiles are estimated from the histogram buckets (geometric interpolation inside the
bucket, clamped to the recorded min and max), so within about 10% of the true value.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from spin_py.telemetry import host_metrics as hm
from spin_py.traceui.records import key_values

MAX_SENDERS = 64


def _ui_bounds(low: float = 0.0001, high: float = 120.0, ratio: float = 1.2) -> tuple[float, ...]:
    count = math.ceil(math.log(high / low) / math.log(ratio))
    return tuple(round(low * ratio**i, 9) for i in range(count + 1))


UI_BOUNDS = _ui_bounds()
"""Histogram bucket boundaries (seconds) of the UI's metric readers: 0.1 ms to 2 min, x1.2."""

_CUMULATIVE = 2  # OTLP AggregationTemporality


class MetricSnapshots:
    """The latest cumulative OTLP metrics of each sending process (see the module docstring)."""

    def __init__(self, max_senders: int = MAX_SENDERS) -> None:
        self._max = max_senders
        self._latest: OrderedDict[str, ExportMetricsServiceRequest] = OrderedDict()

    def put(self, message: ExportMetricsServiceRequest) -> None:
        """Keep `message` as its sender's latest data (one sender per resource)."""
        for resource_metrics in message.resource_metrics:
            sender = str(
                key_values(resource_metrics.resource.attributes).get("service.instance.id", "")
            )
            single = ExportMetricsServiceRequest(resource_metrics=[resource_metrics])
            self._latest[sender] = single
            self._latest.move_to_end(sender)
        while len(self._latest) > self._max:
            self._latest.popitem(last=False)

    def messages(self) -> list[ExportMetricsServiceRequest]:
        return list(self._latest.values())

    def __len__(self) -> int:
        return len(self._latest)


@dataclass
class _Histogram:
    """Several histogram points merged (same bounds)."""

    count: int = 0
    total: float = 0.0
    errors: int = 0
    bounds: tuple[float, ...] | None = None
    buckets: list[int] = field(default_factory=list)
    low: float = math.inf
    high: float = -math.inf
    by: dict[str, int] = field(default_factory=dict)

    def add(self, point: Any, *, error: bool, tag: str = "") -> None:
        self.count += point.count
        self.total += point.sum
        if error:
            self.errors += point.count
        if tag:
            self.by[tag] = self.by.get(tag, 0) + point.count
        if point.count:
            if point.HasField("min"):
                self.low = min(self.low, point.min)
            if point.HasField("max"):
                self.high = max(self.high, point.max)
        bounds = tuple(point.explicit_bounds)
        if self.bounds is None:
            self.bounds, self.buckets = bounds, [0] * (len(bounds) + 1)
        if bounds == self.bounds and len(point.bucket_counts) == len(self.buckets):
            for i, n in enumerate(point.bucket_counts):
                self.buckets[i] += n

    def quantile_ms(self, q: float) -> float | None:
        value = quantile(self.bounds or (), self.buckets, q, self.low, self.high)
        return None if value is None else round(value * 1000, 3)

    def row(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "errors": self.errors,
            "error_rate": round(self.errors / self.count, 4) if self.count else 0.0,
            "mean_ms": round(self.total / self.count * 1000, 3) if self.count else None,
            "p50_ms": self.quantile_ms(0.5),
            "p99_ms": self.quantile_ms(0.99),
        }


def quantile(
    bounds: tuple[float, ...], counts: list[int], q: float, low: float, high: float
) -> float | None:
    """The `q` quantile estimated from explicit-bucket counts (None without data)."""
    total = sum(counts)
    if not total or len(counts) != len(bounds) + 1:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            lower = bounds[i - 1] if i > 0 else 0.0
            upper = bounds[i] if i < len(bounds) else lower
            if math.isfinite(low):
                lower = max(lower, low)
            if math.isfinite(high):
                upper = high if i == len(bounds) else min(upper, high)
            upper = max(upper, lower)
            fraction = (rank - seen) / n
            if lower > 0:
                return float(lower * (upper / lower) ** fraction)
            return lower + (upper - lower) * fraction
        seen += n
    return high if math.isfinite(high) else None


def _points(messages: Iterable[ExportMetricsServiceRequest], name: str) -> Iterable[Any]:
    """The cumulative data points of metric `name` across `messages`, with their attributes."""
    for message in messages:
        for resource_metrics in message.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name != name:
                        continue
                    kind = metric.WhichOneof("data")
                    if kind == "histogram":
                        data = metric.histogram
                    elif kind == "sum":
                        data = metric.sum
                    else:
                        continue
                    if data.aggregation_temporality != _CUMULATIVE:
                        continue
                    for point in data.data_points:
                        yield point, key_values(point.attributes)


def tables(messages: list[ExportMetricsServiceRequest]) -> dict[str, Any]:
    """The `/api/metrics` document (see the module docstring)."""
    return {
        "routes": _routes(messages),
        "components": _components(messages),
        "outbound": _outbound(messages),
        "platform": _platform(messages),
        "active_requests": _active(messages),
        "senders": len(messages),
    }


def _routes(messages: list[ExportMetricsServiceRequest]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], _Histogram] = {}
    for point, attrs in _points(messages, hm.SERVER_DURATION):
        key = (str(attrs.get("http.request.method", "")), str(attrs.get("http.route", "")))
        status = attrs.get("http.response.status_code")
        merged.setdefault(key, _Histogram()).add(
            point, error="error.type" in attrs, tag="" if status is None else str(status)
        )
    rows = []
    for (method, route), h in merged.items():
        rows.append({"method": method, "route": route or None, **h.row(), "status_codes": h.by})
    rows.sort(key=lambda r: (-r["count"], r["route"] or "", r["method"]))
    return rows


def _components(messages: list[ExportMetricsServiceRequest]) -> list[dict[str, Any]]:
    merged: dict[str, _Histogram] = {}
    rejected: dict[str, int] = {}
    for point, attrs in _points(messages, hm.EXECUTE_DURATION):
        outcome = str(attrs.get(hm.SPIN_EXECUTE_OUTCOME, ""))
        component = str(attrs.get(hm.SPIN_COMPONENT_ID, ""))
        if outcome == hm.OUTCOME_REJECTED:  # never ran: not part of the durations
            rejected[component] = rejected.get(component, 0) + point.count
            merged.setdefault(component, _Histogram())
            continue
        merged.setdefault(component, _Histogram()).add(point, error=outcome != "ok", tag=outcome)
    for component, count in rejected.items():
        merged[component].by[hm.OUTCOME_REJECTED] = count
    rows = [{"component": c, **h.row(), "outcomes": h.by} for c, h in merged.items()]
    rows.sort(key=lambda r: (-r["count"], r["component"]))
    return rows


def _outbound(messages: list[ExportMetricsServiceRequest]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], _Histogram] = {}
    for point, attrs in _points(messages, hm.CLIENT_DURATION):
        host = str(attrs.get("server.address", ""))
        port = attrs.get("server.port")
        if port is not None:
            host = f"{host}:{port}"
        key = (str(attrs.get("http.request.method", "")), host)
        merged.setdefault(key, _Histogram()).add(point, error="error.type" in attrs)
    rows = [{"method": m, "server": s, **h.row()} for (m, s), h in merged.items()]
    rows.sort(key=lambda r: (-r["count"], r["server"]))
    return rows


def _platform(messages: list[ExportMetricsServiceRequest]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str, str], list[int]] = {}
    for name, label_key in (
        (hm.KV_OPERATIONS, "spin.key_value.store"),
        (hm.SQLITE_OPERATIONS, "spin.sqlite.database"),
    ):
        for point, attrs in _points(messages, name):
            key = (name, str(attrs.get(label_key, "")), str(attrs.get(hm.SPIN_OPERATION, "")))
            entry = counts.setdefault(key, [0, 0])
            entry[0] += point.as_int
            if "error.type" in attrs:
                entry[1] += point.as_int
    rows = [
        {"metric": m, "label": label, "operation": op, "count": c, "errors": e}
        for (m, label, op), (c, e) in counts.items()
    ]
    rows.sort(key=lambda r: (r["metric"], r["label"], r["operation"]))
    return rows


def _active(messages: list[ExportMetricsServiceRequest]) -> int:
    return sum(int(point.as_int) for point, _ in _points(messages, hm.ACTIVE_REQUESTS))
