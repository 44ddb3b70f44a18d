"""The SERVER span of every request: an aiohttp middleware.

Why not `opentelemetry-instrumentation-aiohttp-server` (0.66b1, checked by running it with
`OTEL_SEMCONV_STABILITY_OPT_IN=http` on spin-py's app shape): spin-py serves every path through
one catch-all aiohttp route, and the instrumentation takes the span name and `http.route` from
aiohttp's resource when the span starts, so a request to `/users/7` became `GET /{tail}` with
`http.route=/{tail}` and the manifest route can never appear. It also sets neither
`client.address` (X-Forwarded-For / Forwarded) nor `network.peer.*`, extracts with the global
OTel TraceContext propagator (not the exact W3C rules of `propagation`), and works only after
`AioHttpServerInstrumentor().instrument()` patches `web.Application` process-wide with a global
tracer provider. A small middleware gives exactly the spans of observability.md section 2.

Protocol with the request handler (documented keys):

- `request[ROUTE_KEY] = match.raw_route` once the router matched (the manifest route as written):
  the span becomes `"{METHOD} {route}"` with `http.route`; without it (404, reserved paths) the
  span is just `"{METHOD}"`.
- `prepare_execute_from_request(state, request)` (event loop) makes the server span the parent
  of the request's execute span; `server_context(request)` is the context holding the server
  span, for passing it explicitly (the worker thread does not inherit contextvars).
- A handler returning before its streamed response is complete calls
  `finish = defer_end(request)` and `finish()` once the body is done; otherwise the span ends when
  the handler returns (a `ComponentHandler` returns after writing the whole body).

Status: ERROR only for a 5xx response (`error.type` = the status code) or an exception escaping
the handler (`error.type` = its class; aiohttp answers 500).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from spin_py.host.state import RequestState
from spin_py.telemetry import semconv as sc
from spin_py.telemetry.execute import prepare_execute
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
    _ended: bool = field(default=False, repr=False)

    def end(self) -> None:
        """End the span once (later calls do nothing)."""
        if not self._ended:
            self._ended = True
            self.span.end()


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
        span = telemetry.tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=request_attributes(request)
        )
        server = ServerSpan(span, set_span_in_context(span, parent), telemetry)
        request[SERVER_SPAN_KEY] = server
        token = otel_context.attach(server.context)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _finish(span, request, exc.status)
            server.end()
            raise
        except asyncio.CancelledError:
            _finish(span, request, None)
            server.end()
            raise
        except Exception as exc:
            _finish(span, request, 500, error_type=type(exc).__qualname__)
            span.record_exception(exc)
            server.end()
            raise
        finally:
            otel_context.detach(token)
        _finish(span, request, response.status)
        if not server.deferred:
            server.end()
        return response

    return middleware


def _finish(span: Span, request: web.Request, status: int | None, error_type: str = "") -> None:
    route = request.get(ROUTE_KEY)
    if route is not None:
        span.update_name(f"{sc.span_method(request.method)} {route}")
        span.set_attribute(sc.HTTP_ROUTE, route)
    if status is not None:
        span.set_attribute(sc.HTTP_RESPONSE_STATUS_CODE, status)
    if error_type or (status is not None and status >= 500):
        span.set_attribute(sc.ERROR_TYPE, error_type or str(status))
        span.set_status(Status(StatusCode.ERROR))
