"""Host metrics reach a real OTLP/HTTP receiver: `spin-py up` (no trace UI) with
`OTEL_EXPORTER_OTLP_ENDPOINT` set, real requests, and the receiver decoding protobuf finds
`http.server.request.duration` with the stable HTTP attributes, the execute duration by
outcome, active requests and key-value operation counts, from both worker processes. And with
`--trace-ui` too, the UI and the receiver each get the whole trace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.otlp_receiver import OtlpReceiver, Received, attrs
from tests.support.server_fixtures import SpinPyProcess
from tests.support.traceui_support import send, start_with_ui, trace_id, trace_with, wait_for

HISTOGRAM_CUMULATIVE = 2


def latest_points(items: list[Received], name: str) -> list[tuple[dict[str, Any], Any, str]]:
    """The data points of metric `name` from each process's latest export."""
    latest: dict[str, Received] = {}
    for item in items:
        if item.item.name == name:
            latest[str(item.resource.get("service.instance.id"))] = item
    out = []
    for instance, received in latest.items():
        metric = received.item
        data = getattr(metric, metric.WhichOneof("data"))
        out += [(attrs(p.attributes), p, instance) for p in data.data_points]
    return out


def test_host_metrics_are_exported_over_otlp(
    otlp_receiver: OtlpReceiver, spin_py_server: Callable[..., SpinPyProcess], traced_app: Path
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_SERVICE_NAME": "metrics-test",
    }
    server = spin_py_server(traced_app, "--workers", "2", env=env, timeout=120)
    sent = [("/demo/a", 200), ("/demo/b", 200), ("/mis/trap", 500), ("/counter", 200)]
    for path, expected in sent:
        assert send(server.base_url, path) == expected
    assert send(server.base_url, "/none") == 404

    def complete(items: list[Received]) -> bool:
        points = latest_points(items, "http.server.request.duration")
        return sum(p.count for _, p, _ in points) >= len(sent) + 1

    items = otlp_receiver.wait_for("metrics", complete, timeout_s=20)
    duration = [m for m in items if m.item.name == "http.server.request.duration"][-1]
    assert (duration.item.unit, duration.scope_name) == ("s", "spin-py")
    assert duration.item.histogram.aggregation_temporality == HISTOGRAM_CUMULATIVE
    assert duration.resource["service.name"] == "metrics-test"
    counts: dict[tuple[Any, ...], int] = {}
    for point_attrs, point, _ in latest_points(items, "http.server.request.duration"):
        key = (
            point_attrs["http.request.method"],
            point_attrs.get("http.route"),
            point_attrs.get("http.response.status_code"),
            point_attrs.get("error.type"),
        )
        counts[key] = counts.get(key, 0) + point.count
        assert point_attrs["url.scheme"] == "http"
        assert point_attrs["network.protocol.version"] == "1.1"
        assert list(point.explicit_bounds)[:3] == [0.005, 0.01, 0.025]  # the semconv advice
        assert point.sum > 0
    assert counts == {
        ("GET", "/demo/...", 200, None): 2,
        ("GET", "/mis/...", 500, "500"): 1,
        ("GET", "/counter", 200, None): 1,
        ("GET", None, 404, None): 1,
    }

    outcomes: dict[tuple[str, str], int] = {}
    for point_attrs, point, _ in latest_points(items, "spin.component.execute.duration"):
        key = (point_attrs["spin.component.id"], point_attrs["spin.execute.outcome"])
        outcomes[key] = outcomes.get(key, 0) + point.count
    assert outcomes == {("demo", "ok"): 2, ("mis", "trap"): 1, ("counter", "ok"): 1}

    kv = latest_points(items, "spin.key_value.operations")
    assert {(a["spin.operation"], a["spin.key_value.store"]) for a, _, _ in kv} >= {
        ("increment", "default")
    }
    active = latest_points(items, "http.server.active_requests")
    assert active and sum(p.as_int for _, p, _ in active) == 0
    assert all(a == {"http.request.method": "GET", "url.scheme": "http"} for a, _, _ in active)
    instances = {i for _, _, i in latest_points(items, "http.server.request.duration")}
    assert len(instances) >= 1 and "None" not in instances


def test_the_trace_ui_and_otlp_export_get_the_same_spans(
    otlp_receiver: OtlpReceiver, spin_py_server: Callable[..., SpinPyProcess], traced_app: Path
) -> None:
    """The UI's span processor sits beside the OTLP exporter (docs/observability.md section 8):
    with both on, the collector and the UI each get the whole trace, guest spans included."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    server, ui = start_with_ui(spin_py_server, traced_app, "--workers", "1", env=env)
    trace = trace_id(0xB07)
    assert send(server.base_url, "/demo/hello", trace) == 200

    shown = wait_for(lambda: trace_with(ui, trace, 6), what="the trace in the UI")
    exported = otlp_receiver.wait_for(
        "traces", lambda items: len([s for s in items if s.trace_id == trace]) >= 6, timeout_s=20
    )
    in_ui = {(s["span_id"], s["name"]) for s in shown["spans"]}
    at_collector = {(s.span_id, s.item.name) for s in exported if s.trace_id == trace}
    assert in_ui == at_collector
    assert {"execute_wasm_component demo", "handle-request", "validate-quota"} <= {
        name for _, name in in_ui
    }
