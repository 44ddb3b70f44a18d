"""traced-fetch: an outbound call inside a guest span (Spin SDK + opentelemetry_wasi).

``GET /...?url=<URL>`` opens the guest span ``fetch-upstream`` (under the host's
``execute_wasm_component`` span, through wasi:otel) and fetches ``URL`` with
``spin_sdk.http.send`` inside it. The host's CLIENT span for that request is then the child of
``fetch-upstream`` and its ``traceparent`` goes to the upstream, so one trace runs from the
caller through the guest into the upstream server. Answers ``200`` ``application/json``::

    {"trace_id": "<32 hex>", "span_id": "<16 hex of fetch-upstream>",
     "status": <upstream status>, "body": "<upstream body, latin-1>"}

or ``502`` with ``x-proxy-error: <ErrorCode case>`` when the fetch fails.
"""

import json
from urllib.parse import parse_qs

import opentelemetry_wasi
from opentelemetry import trace
from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.types import Err

opentelemetry_wasi.setup(service_name="traced-fetch")
tracer = trace.get_tracer("traced-fetch", "0.1.0")


class IncomingHandler(http.IncomingHandler):
    """Fetches the URL inside a guest span."""

    @opentelemetry_wasi.host_context()
    def handle_request(self, request: Request) -> Response:
        """Fetch ``url`` inside ``fetch-upstream``; report the ids and the upstream answer."""
        url = parse_qs(request.uri.partition("?")[2]).get("url", [""])[-1]
        with tracer.start_as_current_span("fetch-upstream") as span:
            span.set_attribute("fetch.url", url)
            context = span.get_span_context()
            try:
                upstream = http.send(Request("GET", url, {}, None))
            except Err as err:
                case = type(err.value).__name__.removeprefix("ErrorCode_")
                return Response(502, {"x-proxy-error": case}, repr(err.value).encode())
        body = {
            "trace_id": format(context.trace_id, "032x"),
            "span_id": format(context.span_id, "016x"),
            "status": upstream.status,
            "body": (upstream.body or b"").decode("latin-1"),
        }
        return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
