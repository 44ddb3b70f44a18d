"""Host metrics (spin_py.telemetry.host_metrics) and the UI's metric tables: what is recorded,
independent of sampling, and how the tables merge processes and estimate percentiles."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import SpanKind

from spin_py.telemetry import Telemetry, configure, host_span, mark_error, start_host_span
from spin_py.telemetry.host_metrics import HostMetrics
from spin_py.traceui.metrics_view import MetricSnapshots, quantile, tables
from spin_py.traceui.readers import local_metric_reader


@pytest.fixture
def unsampled() -> Iterator[tuple[Telemetry, object]]:
    """Telemetry that samples nothing, with the UI's in-memory reader on its host metrics."""
    reader = local_metric_reader()
    telemetry = configure(
        {"OTEL_TRACES_SAMPLER": "always_off"},
        app_name="demo",
        version="1.0",
        metric_readers=[reader],
    )
    yield telemetry, reader
    telemetry.shutdown(1.0)


def points(reader: object, name: str) -> list[tuple[dict[str, object], object]]:
    data = reader.get_metrics_data()  # type: ignore[attr-defined]
    out = []
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    out += [(dict(p.attributes), p) for p in metric.data.data_points]
    return out


def test_host_calls_are_counted_even_when_no_span_is_recorded(
    unsampled: tuple[Telemetry, object],
) -> None:
    telemetry, reader = unsampled
    from spin_py.telemetry.scope import _FALLBACK

    _FALLBACK[:] = [telemetry]  # host calls outside a request use the fallback telemetry
    try:
        with host_span("spin_key_value.get", attributes={"spin.key_value.store": "default"}):
            pass
        store = {"spin.key_value.store": "default"}
        with pytest.raises(KeyError), host_span("spin_key_value.set", attributes=store):
            raise KeyError("x")
        with host_span("spin_sqlite.execute", attributes={"spin.sqlite.database": "default"}):
            pass
        with host_span("spin_variables.get", attributes={"spin.variable.name": "x"}):
            pass
        span = start_host_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "GET",
                "url.full": "http://example.com:8080/a?secret=1",
                "server.address": "example.com",
                "server.port": 8080,
            },
        )
        assert not span.is_recording()
        span.set_attribute("http.response.status_code", 503)
        mark_error(span, "503")
        span.end()
        span.end()  # ending twice measures once
    finally:
        _FALLBACK.clear()

    kv = {
        (a["spin.operation"], a.get("error.type")): p.value
        for a, p in points(reader, "spin.key_value.operations")
    }
    assert kv == {("get", None): 1, ("set", "KeyError"): 1}
    sqlite = [(a, p.value) for a, p in points(reader, "spin.sqlite.operations")]
    assert sqlite == [({"spin.operation": "execute", "spin.sqlite.database": "default"}, 1)]
    ((attrs, point),) = points(reader, "http.client.request.duration")
    assert attrs == {
        "http.request.method": "GET",
        "server.address": "example.com",
        "server.port": 8080,
        "http.response.status_code": 503,
        "error.type": "503",
    }
    assert point.count == 1


def test_execute_outcomes() -> None:
    reader = local_metric_reader()
    metrics = HostMetrics(Resource({}), [reader], "1.0")
    metrics.execute_finished("api", "ok", 0.002)
    metrics.execute_finished("api", "trap", 0.004)
    metrics.execute_finished("api", "ok", 0.003)
    found = {
        a["spin.execute.outcome"]: p.count
        for a, p in points(reader, "spin.component.execute.duration")
    }
    assert found == {"ok": 2, "trap": 1}
    (row,) = tables([encode_metrics(reader.get_metrics_data())])["components"]
    assert (row["component"], row["count"], row["errors"], row["outcomes"]) == (
        "api",
        3,
        1,
        {"ok": 2, "trap": 1},
    )


def test_percentiles_from_the_ui_buckets_are_close_to_the_truth() -> None:
    reader = local_metric_reader()
    metrics = HostMetrics(Resource({}), [reader], "1.0")
    rng = random.Random(7)
    values = [10 ** rng.uniform(-3, -1) for _ in range(5000)]  # 1 ms to 100 ms
    attrs = {"http.request.method": "GET", "http.route": "/a", "http.response.status_code": 200}
    for value in values:
        metrics.request_finished({"http.request.method": "GET"}, attrs, value)
    (row,) = tables([encode_metrics(reader.get_metrics_data())])["routes"]
    values.sort()
    for key, q in (("p50_ms", 0.5), ("p99_ms", 0.99)):
        true_ms = values[int(q * len(values)) - 1] * 1000
        assert abs(row[key] - true_ms) / true_ms < 0.1, (key, row[key], true_ms)
    assert row["count"] == 5000 and row["errors"] == 0


def test_tables_merge_processes_and_keep_each_ones_latest_data() -> None:
    snapshots = MetricSnapshots()
    readers = []
    for instance in ("worker-a", "worker-b"):
        reader = local_metric_reader()
        metrics = HostMetrics(Resource({"service.instance.id": instance}), [reader], "1.0")
        for status in (200, 200, 500):
            attrs: dict[str, object] = {
                "http.request.method": "GET",
                "http.route": "/r",
                "http.response.status_code": status,
            }
            if status >= 500:
                attrs["error.type"] = "500"
            metrics.request_started({"http.request.method": "GET"})
            metrics.request_finished({"http.request.method": "GET"}, attrs, 0.01)  # type: ignore[arg-type]
        metrics.request_started({"http.request.method": "GET"})  # one still running
        readers.append(reader)
    for _ in range(2):  # the same cumulative data twice must not double-count
        for reader in readers:
            snapshots.put(encode_metrics(reader.get_metrics_data()))
    result = tables(snapshots.messages())
    (row,) = result["routes"]
    assert (row["count"], row["errors"], row["status_codes"]) == (6, 2, {"200": 4, "500": 2})
    assert row["error_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert result["active_requests"] == 2 and result["senders"] == 2


def test_quantile_edge_cases() -> None:
    bounds = (0.001, 0.002, 0.004)
    assert quantile(bounds, [0, 0, 0, 0], 0.5, float("inf"), float("-inf")) is None
    # everything in one bucket, clamped to the recorded min and max
    assert quantile(bounds, [0, 10, 0, 0], 0.5, 0.0015, 0.0015) == pytest.approx(0.0015)
    # the overflow bucket ends at the recorded max
    assert quantile(bounds, [0, 0, 0, 4], 1.0, 0.005, 0.009) == pytest.approx(0.009)
