"""Telemetry setup from the standard OTEL_* variables only (docs/observability.md section 6)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from spin_py.errors import ConfigError
from spin_py.telemetry import configure
from spin_py.telemetry.exporters import export_target
from spin_py.telemetry.health import ExportHealth, TelemetryStats

BASE = "http://127.0.0.1:4318"


def make(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return configure(env, app_name="shop", version="1.2.3")


def test_default_resource() -> None:
    attrs = dict(make({}).resource.attributes)
    assert attrs["service.name"] == "spin-py"
    assert attrs["service.version"] == "1.2.3"
    assert attrs["spin.app.name"] == "shop"
    assert attrs["telemetry.sdk.language"] == "python"


def test_service_name_precedence() -> None:
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,deployment.environment=dev%20x"}
    attrs = dict(make(env).resource.attributes)
    assert attrs["service.name"] == "from-attrs"
    assert attrs["deployment.environment"] == "dev x"
    env["OTEL_SERVICE_NAME"] = "from-name"
    assert make(env).resource.attributes["service.name"] == "from-name"


def test_every_configured_process_gets_its_own_service_instance_id() -> None:
    first, second = (dict(make({}).resource.attributes) for _ in range(2))
    ids = {first["service.instance.id"], second["service.instance.id"]}
    assert len(ids) == 2, "two serving processes would share an instance id"
    assert all(uuid.UUID(str(value)).version == 4 for value in ids)
    assert first["process.pid"] == os.getpid()


def test_a_service_instance_id_in_resource_attributes_is_kept() -> None:
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=pod-7"}
    assert make(env).resource.attributes["service.instance.id"] == "pod-7"


def test_malformed_resource_attributes_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    attrs = dict(make({"OTEL_RESOURCE_ATTRIBUTES": "novalue,=x,ok=1"}).resource.attributes)
    assert attrs["ok"] == "1"
    assert "novalue" not in attrs
    assert "malformed" in caplog.text


def sampled_child(env: dict[str, str], parent_sampled: bool | None) -> bool:
    tel = make(env)
    ctx = Context()
    if parent_sampled is not None:
        parent = SpanContext(1, 2, True, TraceFlags(1 if parent_sampled else 0))
        ctx = set_span_in_context(NonRecordingSpan(parent), ctx)
    span = tel.tracer.start_span("x", context=ctx)
    span.end()
    return span.get_span_context().trace_flags.sampled


def test_parent_based_sampling_by_default() -> None:
    assert sampled_child({}, True) is True
    assert sampled_child({}, False) is False
    assert sampled_child({}, None) is True


@pytest.mark.parametrize(
    ("env", "parent", "expected"),
    [
        ({"OTEL_TRACES_SAMPLER": "always_off"}, True, False),
        ({"OTEL_TRACES_SAMPLER": "always_on"}, False, True),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, None, False),
        (
            {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
            True,
            True,
        ),
        ({"OTEL_TRACES_SAMPLER": "parentbased_always_off"}, None, False),
        ({"OTEL_TRACES_SAMPLER": "nonsense"}, False, False),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, None, True),
    ],
)
def test_sampler_from_env(env: dict[str, str], parent: bool | None, expected: bool) -> None:
    assert sampled_child(env, parent) is expected


def test_no_endpoint_means_no_export_but_ids_still_work() -> None:
    tel = make({})
    assert tel.span_processor is None and tel.metric_exporter is None and tel.log_processor is None
    span = tel.tracer.start_span("x")
    assert span.get_span_context().is_valid
    span.end()


def test_endpoints() -> None:
    traces = export_target({"OTEL_EXPORTER_OTLP_ENDPOINT": BASE + "/"}, "traces")
    assert traces is not None and traces.endpoint == BASE + "/v1/traces"
    assert traces.protocol == "http/protobuf"
    explicit = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/custom"}
    target = export_target(explicit, "traces")
    assert target is not None and target.endpoint == "http://h:1/custom"
    assert export_target(explicit, "metrics") is None
    assert export_target({}, "logs") is None


def test_disabled_or_exporter_none_turns_export_off() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": BASE, "OTEL_SDK_DISABLED": "TRUE"}
    assert all(export_target(env, s) is None for s in ("traces", "metrics", "logs"))
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": BASE, "OTEL_METRICS_EXPORTER": "none"}
    assert export_target(env, "metrics") is None
    assert export_target(env, "traces") is not None


def test_headers_timeout_compression() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": BASE,
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b, x=1",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "only=traces",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
    }
    traces, metrics = export_target(env, "traces"), export_target(env, "metrics")
    assert traces is not None and metrics is not None
    assert traces.headers == {"only": "traces"}
    assert metrics.headers == {"api-key": "a b", "x": "1"}
    assert metrics.timeout_s == 2.5
    assert metrics.compression == "gzip"


def test_grpc_without_its_exporter_is_a_clear_error() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": BASE, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with pytest.raises(ConfigError, match="opentelemetry-exporter-otlp-proto-grpc"):
        make(env)


@pytest.mark.parametrize(
    ("var", "value", "match"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "http/json.*not supported"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json", "http/json"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon", "unknown OTLP protocol"),
    ],
)
def test_unusable_protocols_fail_at_startup(var: str, value: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make({"OTEL_EXPORTER_OTLP_ENDPOINT": BASE, var: value})


def test_export_pipelines_built_from_env() -> None:
    tel = make({"OTEL_EXPORTER_OTLP_ENDPOINT": BASE, "OTEL_BSP_SCHEDULE_DELAY": "50"})
    try:
        assert isinstance(tel.span_processor, BatchSpanProcessor)
        assert tel.metric_exporter is not None and tel.log_processor is not None
        assert [t.signal for t in tel.targets] == ["traces", "metrics", "logs"]
    finally:
        tel.shutdown(1.0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_shutdown_is_bounded_when_the_collector_is_down(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="spin_py")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
        "OTEL_BSP_SCHEDULE_DELAY": "10",
    }
    tel = make(env)
    for i in range(20):
        tel.tracer.start_span(f"s{i}").end()
    time.sleep(0.2)  # the worker is now retrying against the closed port
    started = time.monotonic()
    tel.shutdown(1.0)
    assert time.monotonic() - started < 3.0
    tel.shutdown(1.0)  # idempotent


def test_export_failures_warn_once_then_go_to_the_documented_debug_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """docs/observability.md (failure behaviour) names the logger later failures go to."""
    export_logger = "spin_py.telemetry.health.export"
    health = ExportHealth(TelemetryStats())
    with caplog.at_level(logging.DEBUG, logger="spin_py.telemetry"):
        health.failed("traces", BASE, "refused")
        health.failed("traces", BASE, "refused")
    # Only this thread's records: an exporter thread left by an earlier test may log too.
    ours = [r for r in caplog.records if r.thread == threading.get_ident()]
    warnings = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and export_logger in warnings[0].getMessage()
    assert [r.name for r in ours if r.levelno == logging.DEBUG] == [export_logger]
