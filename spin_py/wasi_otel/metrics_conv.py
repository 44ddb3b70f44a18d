"""A guest's `resource-metrics` → the SDK's `MetricsData`, one-to-one, for the OTLP exporter.

Gauges, sums, histograms and exponential histograms keep their points, times, temporality
(`low-memory` is reported as cumulative), monotonicity, bounds, bucket counts, min/max and
exemplars. The number kind follows the `metric-data` tag (see `metric_numbers`); points whose
numbers cannot be represented are skipped and counted. The resource is the guest's, with the
host's attributes filling in missing keys. Known loss: the SDK's exponential-histogram point has
no `zero_threshold`, so a non-zero threshold is not carried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource

from spin_py.wasi_otel.attributes import decode_attributes
from spin_py.wasi_otel.guard import Issues
from spin_py.wasi_otel.metric_numbers import exemplars, number
from spin_py.wasi_otel.records import datetime_ns, field, str_list, variant_parts
from spin_py.wasi_otel.scope_conv import guest_resource, instrumentation_scope
from spin_py.wasi_otel.values import AttributeValue

_TEMPORALITY = {
    "cumulative": AggregationTemporality.CUMULATIVE,
    "delta": AggregationTemporality.DELTA,
    "low-memory": AggregationTemporality.CUMULATIVE,
}

DataT = Gauge | Sum | Histogram | ExponentialHistogram
PointT = TypeVar("PointT")
Attributes = dict[str, AttributeValue]


def convert(resource_metrics: Any, host: Resource, issues: Issues) -> MetricsData:
    """The MetricsData equivalent of a guest's `resource-metrics` record."""
    resource = guest_resource(field(resource_metrics, "resource"), host, issues)
    scopes = [_scope_metrics(s, issues) for s in str_list(field(resource_metrics, "scope-metrics"))]
    return MetricsData([ResourceMetrics(resource, scopes, resource.schema_url)])


def _scope_metrics(record: Any, issues: Issues) -> ScopeMetrics:
    scope = instrumentation_scope(field(record, "scope"), issues)
    metrics = [m for m in (_metric(r, issues) for r in str_list(field(record, "metrics"))) if m]
    return ScopeMetrics(scope, metrics, scope.schema_url or "")


def _metric(record: Any, issues: Issues) -> Metric | None:
    tag, payload = variant_parts(field(record, "data"))
    kind, _, shape = tag.partition("-")
    build = _BUILDERS.get(shape)
    if build is None or kind not in ("f64", "s64", "u64"):
        issues.report("bad_metric", f"metric with unknown data {tag!r} skipped")
        return None
    data = build(payload, kind, issues)
    if data is None:
        issues.report("bad_metric", f"{tag} metric with a bad time skipped")
        return None
    name, description, unit = (field(record, k) for k in ("name", "description", "unit"))
    return Metric(
        name if isinstance(name, str) else "",
        description if isinstance(description, str) else "",
        unit if isinstance(unit, str) else "",
        data,
    )


def _times(record: Any, *, optional_start: bool = False) -> tuple[int, int] | None:
    start_raw = field(record, "start-time")
    start = 0 if optional_start and start_raw is None else datetime_ns(start_raw)
    end = datetime_ns(field(record, "time"))
    return None if start is None or end is None else (start, end)


def _temporality(record: Any) -> AggregationTemporality:
    value = field(record, "temporality")
    default = AggregationTemporality.CUMULATIVE
    return _TEMPORALITY.get(value, default) if isinstance(value, str) else default


def _points(
    record: Any,
    kind: str,
    issues: Issues,
    value_key: str,
    skipped: str,
    make: Callable[[Any, Attributes, int | float], PointT],
) -> list[PointT]:
    """`make(point, attributes, number)` for each data point whose `value_key` is a usable
    number of `kind`; the others are skipped and reported as `skipped`."""
    points = []
    for point in str_list(field(record, "data-points")):
        value = number(field(point, value_key), kind)
        if value is None:
            issues.report("bad_metric_value", skipped)
            continue
        attributes, _ = decode_attributes(field(point, "attributes"), issues)
        points.append(make(point, attributes, value))
    return points


def _number_points(
    record: Any, kind: str, issues: Issues, times: tuple[int, int]
) -> list[NumberDataPoint]:
    def make(point: Any, attributes: Attributes, value: int | float) -> NumberDataPoint:
        ex = exemplars(field(point, "exemplars"), kind, issues)
        return NumberDataPoint(attributes, times[0], times[1], value, ex)

    skipped = f"data point with an unusable {kind} value skipped"
    return _points(record, kind, issues, "value", skipped, make)


def _gauge(record: Any, kind: str, issues: Issues) -> Gauge | None:
    times = _times(record, optional_start=True)
    return None if times is None else Gauge(_number_points(record, kind, issues, times))


def _sum(record: Any, kind: str, issues: Issues) -> Sum | None:
    times = _times(record)
    if times is None:
        return None
    points = _number_points(record, kind, issues, times)
    return Sum(points, _temporality(record), field(record, "is-monotonic") is True)


def _histogram(record: Any, kind: str, issues: Issues) -> Histogram | None:
    times = _times(record)
    if times is None:
        return None

    def make(point: Any, attributes: Attributes, total: int | float) -> HistogramDataPoint:
        return HistogramDataPoint(
            attributes,
            times[0],
            times[1],
            _u64(field(point, "count")),
            total,
            [_u64(c) for c in str_list(field(point, "bucket-counts"))],
            [float(b) for b in str_list(field(point, "bounds")) if _is_number(b)],
            _optional_float(field(point, "min"), kind),  # type: ignore[arg-type]
            _optional_float(field(point, "max"), kind),  # type: ignore[arg-type]
            exemplars(field(point, "exemplars"), kind, issues),
        )

    skipped = "histogram point with an unusable sum skipped"
    return Histogram(_points(record, kind, issues, "sum", skipped, make), _temporality(record))


def _exponential(record: Any, kind: str, issues: Issues) -> ExponentialHistogram | None:
    times = _times(record)
    if times is None:
        return None

    def make(
        point: Any, attributes: Attributes, total: int | float
    ) -> ExponentialHistogramDataPoint:
        return ExponentialHistogramDataPoint(
            attributes=attributes,
            start_time_unix_nano=times[0],
            time_unix_nano=times[1],
            count=_u64(field(point, "count")),
            sum=total,
            scale=_int(field(point, "scale")),
            zero_count=_u64(field(point, "zero-count")),
            positive=_buckets(field(point, "positive-bucket")),
            negative=_buckets(field(point, "negative-bucket")),
            flags=0,
            min=_optional_float(field(point, "min"), kind),  # type: ignore[arg-type]
            max=_optional_float(field(point, "max"), kind),  # type: ignore[arg-type]
            exemplars=exemplars(field(point, "exemplars"), kind, issues),
        )

    skipped = "exponential point with an unusable sum skipped"
    points = _points(record, kind, issues, "sum", skipped, make)
    return ExponentialHistogram(points, _temporality(record))


_BUILDERS: dict[str, Callable[[Any, str, Issues], DataT | None]] = {
    "gauge": _gauge,
    "sum": _sum,
    "histogram": _histogram,
    "exponential-histogram": _exponential,
}


def _buckets(record: Any) -> Buckets:
    return Buckets(
        _int(field(record, "offset")), [_u64(c) for c in str_list(field(record, "counts"))]
    )


def _optional_float(value: Any, kind: str) -> float | None:
    if value is None:
        return None
    n = number(value, kind)
    return None if n is None else float(n)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _u64(value: Any) -> int:
    return value if isinstance(value, int) and 0 <= value < 2**64 else 0
