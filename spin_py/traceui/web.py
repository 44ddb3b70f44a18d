"""The trace UI's HTTP server: the page, its JSON API, and an OTLP/HTTP receiver.

Routes (all on the UI's own port, never the app's):

- `GET /`: the page (`static/index.html`, with `app.js` and `style.css` under `/static/`);
- `GET /api/traces`: a JSON array of trace summaries, newest first; `?trace_id=`, `?route=`,
  `?status=`, `?limit=` (1 to 1,000, default 100); with an `ETag`, so a poll that finds nothing
  new costs a 304;
- `GET /api/traces/<trace-id>`: `{"trace_id", "spans": [...]}` (404: not held; 400: not an id);
- `GET /api/metrics`: the metric tables (`metrics_view.tables`);
- `GET /api/status`: what the store holds and dropped, its limits, the metric senders;
- `POST /api/ingest`: `{"spans": [...]}`, span records as `/api/traces/<id>` returns them (worker
  processes send their finished spans here);
- `POST /v1/traces`: OTLP/HTTP protobuf spans into the store (any OTLP/HTTP exporter);
- `POST /v1/metrics`: OTLP/HTTP protobuf metrics for the tables (worker processes send here).

The shapes are documented in docs/observability.md section 8.

Safety: the UI has no authentication and is meant for 127.0.0.1 (the default). Requests whose
`Host` is not an IP address or `localhost` are refused (421), so a web page cannot reach the UI
through DNS rebinding; the OTLP routes accept only `application/x-protobuf`, which a browser
cannot send cross-origin without a preflight the UI never grants; `/api/ingest` likewise only
`application/json`. Every value from spans
(guest-controlled) is rendered with `textContent` by the page, and a strict
Content-Security-Policy forbids inline scripts anyway. Request bodies are capped (`MAX_BODY`,
also after gzip decompression).
"""

from __future__ import annotations

import gzip
import importlib.resources
import ipaddress
import json
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from spin_py.traceui.metrics_view import tables
from spin_py.traceui.records import from_json, records_from_request
from spin_py.traceui.state import UiState
from spin_py.traceui.store import TraceFilter

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
"""Largest OTLP request body accepted, compressed or not."""
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
STATIC_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_HEX = frozenset("0123456789abcdefABCDEF")

UI_STATE = web.AppKey("traceui_state", UiState)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_ui_app(state: UiState) -> web.Application:
    """The aiohttp application of the trace UI over `state`."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
    app[UI_STATE] = state
    static = _load_static()
    app.router.add_get("/", _static_handler("index.html", static))
    for name in STATIC_FILES:
        app.router.add_get(f"/static/{name}", _static_handler(name, static))
    app.router.add_get("/api/traces", _list_traces)
    app.router.add_get("/api/traces/{trace_id}", _get_trace)
    app.router.add_get("/api/metrics", _metrics)
    app.router.add_get("/api/status", _status)
    app.router.add_post("/api/ingest", _ingest)
    app.router.add_post("/v1/traces", _otlp_traces)
    app.router.add_post("/v1/metrics", _otlp_metrics)
    return app


def _load_static() -> dict[str, bytes]:
    root = importlib.resources.files("spin_py.traceui").joinpath("static")
    return {name: root.joinpath(name).read_bytes() for name in STATIC_FILES}


def _static_handler(name: str, files: dict[str, bytes]) -> Handler:
    body, content_type = files[name], STATIC_FILES[name]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    return handler


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _local_host(request.host):
        return web.json_response(
            {"error": "the trace UI answers only to an IP address or localhost"}, status=421
        )
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _local_host(host: str) -> bool:
    """True for an IP literal (with or without port) or `localhost`."""
    name = host.strip()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _state(request: web.Request) -> UiState:
    return request.app[UI_STATE]


# -- the JSON API ----------------------------------------------------------------------------------


async def _list_traces(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    query = request.query
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return _bad("limit must be an integer")
    limit = max(1, min(limit, MAX_LIMIT))
    where = TraceFilter(
        trace_id=query.get("trace_id", "").strip(),
        route=query.get("route", "").strip(),
        status=query.get("status", "").strip(),
    )
    etag = f'"{state.store.version}-{zlib.crc32(request.query_string.encode()):x}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    items = state.store.summaries(where, limit)
    return _json(items, headers={"ETag": etag})


async def _get_trace(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["trace_id"]
    if not 1 <= len(raw) <= 32 or not set(raw) <= _HEX:
        return _bad("a trace id is 1 to 32 hex digits")
    trace_id = int(raw, 16)
    state = _state(request)
    spans = state.store.trace(trace_id)
    if spans is None:
        return _json({"error": f"trace {trace_id:032x} is not held"}, status=404)
    return _json(
        {
            "trace_id": f"{trace_id:032x}",
            "dropped_span_count": state.store.dropped_in(trace_id),
            "spans": [span.to_json() for span in spans],
        }
    )


async def _metrics(request: web.Request) -> web.StreamResponse:
    return _json(tables(_state(request).metric_messages()))


async def _status(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    return _json(
        {"store": state.store.stats(), "mode": state.mode, "metric_senders": state.senders()}
    )


# -- OTLP/HTTP receiver ----------------------------------------------------------------------------


async def _ingest(request: web.Request) -> web.StreamResponse:
    """Span records in their JSON form, from worker processes (see `records.from_json`)."""
    if request.content_type != JSON:
        return web.json_response({"error": f"Content-Type must be {JSON}"}, status=415)
    try:
        spans = (await request.json())["spans"]
        records = [from_json(item) for item in spans]
    except web.HTTPRequestEntityTooLarge:
        return _bad("request body too large", status=413)
    except (ValueError, KeyError, TypeError) as exc:  # BadRecord is a ValueError
        return _bad(f"not a list of span records: {exc}")
    _state(request).store.add_many(records)
    return web.Response(status=204)


async def _otlp_traces(request: web.Request) -> web.StreamResponse:
    message = await _otlp_message(request, ExportTraceServiceRequest)
    if isinstance(message, web.Response):
        return message
    _state(request).store.add_many(records_from_request(message))
    return _protobuf(ExportTraceServiceResponse())


async def _otlp_metrics(request: web.Request) -> web.StreamResponse:
    message = await _otlp_message(request, ExportMetricsServiceRequest)
    if isinstance(message, web.Response):
        return message
    _state(request).snapshots.put(message)
    return _protobuf(ExportMetricsServiceResponse())


M = TypeVar("M", ExportTraceServiceRequest, ExportMetricsServiceRequest)


async def _otlp_message(request: web.Request, kind: type[M]) -> M | web.Response:
    """The OTLP request message in `request`'s body, or the error response to send."""
    body = await _protobuf_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        message: M = kind.FromString(body)
    except Exception:
        return _bad(f"not an {kind.__name__}")
    return message


def _protobuf(message: Any) -> web.Response:
    return web.Response(body=message.SerializeToString(), content_type=PROTOBUF)


async def _protobuf_body(request: web.Request) -> bytes | web.Response:
    if request.content_type != PROTOBUF:
        return web.json_response({"error": f"Content-Type must be {PROTOBUF}"}, status=415)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _bad("request body too large", status=413)
    encoding = request.headers.get("Content-Encoding", "").lower()
    if encoding in ("gzip", "deflate"):
        try:
            return _inflate(body, gzip_format=encoding == "gzip")
        except (ValueError, zlib.error, gzip.BadGzipFile):
            return _bad("undecodable or too large compressed body")
    if encoding not in ("", "identity"):
        return web.json_response({"error": f"unsupported encoding {encoding!r}"}, status=415)
    return body


def _inflate(body: bytes, *, gzip_format: bool) -> bytes:
    """Decompress at most `MAX_BODY` bytes; more raises ValueError."""
    inflater = zlib.decompressobj(31 if gzip_format else 15)
    out = inflater.decompress(body, MAX_BODY)
    if inflater.unconsumed_tail:
        raise ValueError("decompressed body too large")
    return out


# -- helpers ---------------------------------------------------------------------------------------


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _bad(message: str, *, status: int = 400) -> web.Response:
    return _json({"error": message}, status=status)
