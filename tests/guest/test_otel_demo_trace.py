"""The issue's "done when": `spin-py up -f manifests/otel-demo` exporting to an OTLP/HTTP
collector, one request with a traceparent, and the whole trace arrives: the server span (child
of the caller's span), the execute span, and the guest's own spans from opentelemetry_wasi with
their attributes, event, link and error status.

Real parts throughout: the component built by its build script (cached), `spin-py up` in a
subprocess, the real OTLP exporter, and the test receiver decoding protobuf.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.support.fixtures_components import run_own_build
from tests.support.otlp_receiver import OtlpReceiver, Received, by_name
from tests.support.server_fixtures import SpinPyProcess

REPO = Path(__file__).resolve().parents[2]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
GUEST_SPANS = ("handle-request", "load-profile", "render", "validate-quota")
INTERNAL, SERVER = 1, 2  # OTLP span kinds
STATUS_ERROR = 2


def build_otel_demo() -> None:
    run_own_build("otel-demo")


def test_one_request_yields_the_host_and_guest_spans_in_the_callers_trace(
    otlp_receiver: OtlpReceiver, spin_py_server: Callable[..., SpinPyProcess]
) -> None:
    build_otel_demo()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    server = spin_py_server(REPO / "manifests" / "otel-demo", env=env, timeout=120)
    request = urllib.request.Request(
        server.base_url + "/hello", headers={"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert json.loads(response.read())["trace_id"] == TRACE

    def complete(items: list[Received]) -> bool:
        return len([s for s in items if s.trace_id == TRACE]) >= 2 + len(GUEST_SPANS)

    spans = by_name(otlp_receiver.wait_for("traces", complete, timeout_s=20))
    server_span, execute = spans["GET /..."], spans["execute_wasm_component otel-demo"]
    handle = spans["handle-request"]
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert (server_span.parent_span_id, server_span.item.kind) == (CALLER_SPAN, SERVER)
    assert execute.parent_span_id == server_span.span_id
    assert (handle.parent_span_id, handle.item.kind) == (execute.span_id, INTERNAL)
    for name in GUEST_SPANS[1:]:
        assert spans[name].parent_span_id == handle.span_id, name
        assert spans[name].scope_name == "otel-demo"

    assert handle.attributes == {
        "demo.method": "GET",
        "demo.uri": "/hello",
        "demo.cached": False,
        "demo.items": 3,
        "demo.ratio": 0.75,
        "demo.tags": ["otel", "wasi", "python"],
        "demo.flags": [True, False],
        "demo.sizes": [1, 2, 3],
        "demo.weights": [0.5, 1.5],
    }
    (event,) = spans["load-profile"].item.events
    assert event.name == "cache-miss"
    (link,) = spans["render"].item.links
    assert bytes(link.span_id).hex() == spans["load-profile"].span_id
    failing = spans["validate-quota"].item
    assert (failing.status.code, failing.status.message) == (
        STATUS_ERROR,
        "quota exceeded for profile 42",
    )
    assert [e.name for e in failing.events] == ["exception"]
