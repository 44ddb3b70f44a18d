"""otel-demo: a Spin Python SDK component whose own spans join the host's trace (wasi:otel).

Every request gets ``200`` and a JSON body naming the trace id. Inside, under the host's
``execute_wasm_component`` span, the handler records:

    handle-request          attributes of every type (str, bool, int, float, arrays of each)
    ├─ load-profile         an event ("cache-miss") with attributes
    ├─ render               a link to load-profile
    └─ validate-quota       status ERROR (a caught exception, recorded as an event)

The error stays inside its span: the request still succeeds.
"""

import json

import opentelemetry_wasi
from opentelemetry import trace
from opentelemetry.trace import Link, Status, StatusCode
from spin_sdk import http
from spin_sdk.http import Request, Response

opentelemetry_wasi.setup(service_name="otel-demo")
tracer = trace.get_tracer("otel-demo", "0.1.0")


class QuotaExceeded(Exception):
    """The demo's simulated failure."""


class IncomingHandler(http.IncomingHandler):
    """Traces a small piece of work and reports the trace id."""

    @opentelemetry_wasi.host_context()
    def handle_request(self, request: Request) -> Response:
        """Run the traced work under the host's span; answer with the trace id."""
        with tracer.start_as_current_span("handle-request") as span:
            span.set_attributes(
                {
                    "demo.method": request.method,
                    "demo.uri": request.uri,
                    "demo.cached": False,
                    "demo.items": 3,
                    "demo.ratio": 0.75,
                    "demo.tags": ["otel", "wasi", "python"],
                    "demo.flags": [True, False],
                    "demo.sizes": [1, 2, 3],
                    "demo.weights": [0.5, 1.5],
                }
            )
            profile = load_profile()
            render(profile)
            validate_quota()
            trace_id = format(span.get_span_context().trace_id, "032x")
        body = {"trace_id": trace_id, "message": "traced by otel-demo"}
        return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())


def load_profile() -> trace.SpanContext:
    """A child span with an event; returns its context for the next span to link to."""
    with tracer.start_as_current_span("load-profile") as span:
        span.add_event("cache-miss", {"cache.key": "profile:42", "cache.attempt": 1})
        span.set_attribute("profile.id", 42)
        return span.get_span_context()


def render(profile: trace.SpanContext) -> None:
    """A child span linked to the span that loaded the profile."""
    link = Link(profile, {"link.reason": "rendered-from"})
    with tracer.start_as_current_span("render", links=[link]) as span:
        span.set_attribute("render.template", "profile.html")


def validate_quota() -> None:
    """A child span that fails: status ERROR with the exception recorded, nothing raised."""
    with tracer.start_as_current_span("validate-quota") as span:
        try:
            raise QuotaExceeded("quota exceeded for profile 42")
        except QuotaExceeded as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
