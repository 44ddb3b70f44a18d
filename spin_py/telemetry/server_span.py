"""The SERVER span of every request: an aiohttp middleware.

Why not `opentelemetry-instrumentation-aiohttp-server` (0.66b1, checked by running it with
`OTEL_SEMCONV_STABILITY_OPT_IN=http` on spin-py's app shape): spin-py serves every path through
one catch-all aiohttp route, and the instrumentation takes the span name and `http.route` from
aiohttp's resource when the span starts, so a request to `/users/7` became `GET /{tail}` with
`http.route=/{tail}` and the manifest route can never appear. It also sets neither
`client.address` (X-Forwarded-For / Forwarded) nor `network.peer.*`, extracts with the global
OTel TraceContext propagator (not the exact W3C rules of `propagation`), and works only after
`AioHttpServerInstrumentor().instrument()` patches `web.Application` process-wide with a global
tracer provider. A small middleware gives exactly the spans of docs/observability.md section 2.

Protocol with the request handler (documented keys):

- `request[ROUTE_KEY] = match.raw_route` once the router matched (the manifest route as written):
  the span becomes `"{METHOD} {route}"` with `http.route`; without it (404, reserved paths) the
  span is just `"{METHOD}"`.
- `prepare_execute_from_request(state, request)` (event loop) makes the server span the parent
  of the request's execute span; `server_context(request)` is the context holding the server
  span, for passing it explicitly (the worker thread does not inherit contextvars).
- The app registers `note_response` as an `on_response_prepare` handler, so a request whose
  handler is cancelled after the head was sent (the client went away) keeps that status.
- A handler returning before its streamed response is complete calls
  `finish = defer_end(request)` and `finish()` once the body is done; otherwise the span ends when
  the handler returns (a `ComponentHandler` returns after writing the whole body).

Status: ERROR only for a 5xx response (`error.type` = the status code) or an exception escaping
the handler (`error.type` = its class; aiohttp answers 500).

When the request is complete (the span ends), the host metrics get its duration
(`http.server.request.duration`, and `http.server.active_requests` goes down again) and, with
`--access-log`, the access line is written (`access_log`). Both happen whether or not the span
is sampled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from spin_py.host.state import RequestState
from spin_py.telemetry import semconv as sc
from spin_py.telemetry.access_log import log_access
from spin_py.telemetry.execute import prepare_execute
from spin_py.telemetry.host_metrics import OUTCOME_REJECTED
from spin_py.telemetry.propagation import extract
from spin_py.telemetry.request_attrs import request_attributes
from spin_py.telemetry.setup import Telemetry

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROUTE_KEY = web.RequestKey("spin_py_route", str)
"""Set by the request handler to the matched manifest route, exactly as written."""


@dataclass
class ServerSpan:
    """The server span of one request and the context holding it."""

    span: Span
    context: Context
    telemetry: Telemetry
    deferred: bool = False
    request: web.BaseRequest | None = field(default=None, repr=False)
    started: float = field(default_factory=time.perf_counter, repr=False)
    """`time.perf_counter()` when the request arrived."""
    status: int | None = None
    """The response status, once known (None: no response, e.g. the client went away)."""
    error_type: str = ""
    response: web.StreamResponse | None = field(default=None, repr=False)
    active: dict[str, AttributeValue] | None = field(default=None, repr=False)
    """The attributes `http.server.active_requests` was raised with (None: not counted)."""
    _ended: bool = field(default=False, repr=False)

    def end(self) -> None:
        """End the span once (later calls do nothing); then measure and log the request."""
        if not self._ended:
            self._ended = True
            self.span.end()
            _request_done(self)


SERVER_SPAN_KEY = web.RequestKey("spin_py_server_span", ServerSpan)
"""The request's `ServerSpan` (set by the middleware before the handler runs)."""


def server_context(request: web.Request) -> Context:
    """The context holding the request's server span (the current context if there is none)."""
    server = request.get(SERVER_SPAN_KEY)
    return server.context if server is not None else otel_context.get_current()


def prepare_execute_from_request(state: RequestState, request: web.Request) -> None:
    """Make the request's server span the parent of `state`'s execute span, with the
    middleware's telemetry (call on the event loop when the RequestState is created). Without
    the middleware, nothing is recorded (the execute span then uses export-off telemetry)."""
    server = request.get(SERVER_SPAN_KEY)
    if server is not None:
        prepare_execute(state, server.telemetry, server.context)


async def note_response(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare` handler: remember the response whose head is being sent, so a
    request cancelled afterwards (the client left) still reports the status it got."""
    server = request.get(SERVER_SPAN_KEY)
    if server is not None:
        server.response = response


def record_rejected(request: web.Request, component_id: str) -> None:
    """Count a request refused before its component ran (overload) in the host metrics, as a
    guest call with outcome `rejected` and no duration."""
    server = request.get(SERVER_SPAN_KEY)
    if server is not None and server.telemetry.metrics is not None:
        server.telemetry.metrics.execute_finished(component_id, OUTCOME_REJECTED, 0.0)


def defer_end(request: web.Request) -> Callable[[], None]:
    """Keep the server span open after the handler returns; call the result when the response
    is complete. Without a server span, returns a no-op."""
    server = request.get(SERVER_SPAN_KEY)
    if server is None:
        return lambda: None
    server.deferred = True
    finish: Callable[[], None] = server.end
    return finish


def server_span_middleware(telemetry: Telemetry) -> Middleware:
    """An aiohttp middleware opening the server span of every request with `telemetry`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        parent = extract(request.headers)
        method = sc.span_method(request.method)
        recorded = telemetry.traces_exported  # no attributes to build for a span that drops them
        attributes = request_attributes(request) if recorded else None
        span = telemetry.tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        server = ServerSpan(span, set_span_in_context(span, parent), telemetry, request=request)
        if telemetry.metrics is not None:
            server.active = _active_attributes(request)
            telemetry.metrics.request_started(server.active)
        request[SERVER_SPAN_KEY] = server
        token = otel_context.attach(server.context)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _finish(server, request, exc.status)
            server.end()
            raise
        except asyncio.CancelledError:  # the client went away; maybe after the response head
            sent = server.response
            _finish(server, request, sent.status if sent is not None else None)
            server.end()
            raise
        except Exception as exc:
            _finish(server, request, 500, error_type=type(exc).__qualname__)
            span.record_exception(exc)
            server.end()
            raise
        finally:
            otel_context.detach(token)
        server.response = response
        _finish(server, request, response.status)
        if not server.deferred:
            server.end()
        return response

    return middleware


def _finish(
    server: ServerSpan, request: web.Request, status: int | None, error_type: str = ""
) -> None:
    span = server.span
    server.status = status
    if error_type or (status is not None and status >= 500):
        server.error_type = error_type or str(status)
    if not span.is_recording():  # export off: nothing to name or annotate
        return
    route = request.get(ROUTE_KEY)
    if route is not None:
        span.update_name(f"{sc.span_method(request.method)} {route}")
        span.set_attribute(sc.HTTP_ROUTE, route)
    if status is not None:
        span.set_attribute(sc.HTTP_RESPONSE_STATUS_CODE, status)
    if server.error_type:
        span.set_attribute(sc.ERROR_TYPE, server.error_type)
        span.set_status(Status(StatusCode.ERROR))


def _active_attributes(request: web.BaseRequest) -> dict[str, AttributeValue]:
    return {
        sc.HTTP_REQUEST_METHOD: _metric_method(request.method),
        sc.URL_SCHEME: request.scheme,
    }


def _metric_method(method: str) -> str:
    return method if method in sc.KNOWN_METHODS else sc.OTHER_METHOD


def _request_done(server: ServerSpan) -> None:
    """Record the finished request in the host metrics and the access log (when enabled)."""
    telemetry, request = server.telemetry, server.request
    if request is None or (telemetry.metrics is None and not telemetry.access_log):
        return
    seconds = time.perf_counter() - server.started
    if telemetry.metrics is not None and server.active is not None:
        attributes: dict[str, AttributeValue] = dict(server.active)
        route = request.get(ROUTE_KEY)
        if route is not None:
            attributes[sc.HTTP_ROUTE] = route
        if server.status is not None:
            attributes[sc.HTTP_RESPONSE_STATUS_CODE] = server.status
        if server.error_type:
            attributes[sc.ERROR_TYPE] = server.error_type
        version = request.version
        attributes[sc.NETWORK_PROTOCOL_VERSION] = f"{version.major}.{version.minor}"
        telemetry.metrics.request_finished(server.active, attributes, seconds)
    if telemetry.access_log:
        response = server.response
        sent = None if response is None else response.content_length
        if sent is None and server.status is not None and response is None:
            sent = 0
        trace_id = server.span.get_span_context().trace_id
        log_access(request, server.status, sent, seconds, trace_id)
