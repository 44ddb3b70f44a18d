"""The server span middleware on a real aiohttp server, driven by a real HTTP client
(docs/observability.md section 2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from spin_py.telemetry import ROUTE_KEY, Telemetry, defer_end, server_span_middleware

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
FINISHERS = web.AppKey("finishers", list)

Client = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


async def handler(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path.startswith("/users/"):
        request[ROUTE_KEY] = "/users/:id/..."
        return web.Response(text="ok")
    if path == "/unavailable":
        request[ROUTE_KEY] = "/unavailable"
        return web.Response(status=503)
    if path == "/teapot":
        request[ROUTE_KEY] = "/teapot"
        return web.Response(status=418)
    if path == "/raise":
        request[ROUTE_KEY] = "/raise"
        raise RuntimeError("host failure")
    if path == "/stream":
        request[ROUTE_KEY] = "/stream"
        request.app[FINISHERS].append(defer_end(request))
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"chunk")
        return response
    return web.Response(status=404)


@pytest.fixture
async def client(aiohttp_client: Client, telemetry: Telemetry) -> TestClient[Any, Any]:
    app = web.Application(middlewares=[server_span_middleware(telemetry)])
    app[FINISHERS] = []
    app.router.add_route("*", "/{tail:.*}", handler)
    return await aiohttp_client(app)


def only_span(memory: InMemorySpanExporter) -> ReadableSpan:
    spans = memory.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


async def test_attributes_and_parent(
    client: TestClient[Any, Any], memory: InMemorySpanExporter
) -> None:
    response = await client.get(
        "/users/7/profile?verbose=1&x=%20",
        headers={
            "traceparent": f"00-{TRACE}-{PARENT}-01",
            "Host": "shop.example:8443",
            "User-Agent": "curl/8.5",
            "X-Forwarded-For": "203.0.113.9, 10.0.0.1",
        },
    )
    assert response.status == 200
    span = only_span(memory)
    assert span.name == "GET /users/:id/..."
    assert span.kind is SpanKind.SERVER
    assert span.context.trace_id == int(TRACE, 16)
    assert (
        span.parent is not None and span.parent.span_id == int(PARENT, 16) and span.parent.is_remote
    )
    attrs = dict(span.attributes)
    peer_port = attrs.pop("network.peer.port")
    assert isinstance(peer_port, int) and peer_port > 0
    assert attrs == {
        "http.request.method": "GET",
        "url.path": "/users/7/profile",
        "url.query": "verbose=1&x=%20",
        "url.scheme": "http",
        "server.address": "shop.example",
        "server.port": 8443,
        "client.address": "203.0.113.9",
        "network.peer.address": "127.0.0.1",
        "network.protocol.version": "1.1",
        "user_agent.original": "curl/8.5",
        "http.route": "/users/:id/...",
        "http.response.status_code": 200,
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_client_address_from_forwarded_else_peer(
    client: TestClient[Any, Any], memory: InMemorySpanExporter
) -> None:
    await client.get(
        "/users/1", headers={"Forwarded": 'for="[2001:db8::17]:4711";proto=http, for=1.2.3.4'}
    )
    await client.get("/users/2", headers={"Forwarded": "for=192.0.2.60;by=203.0.113.43"})
    await client.get("/users/3", headers={"Host": "[::1]:3000"})
    first, second, third = memory.get_finished_spans()
    assert first.attributes["client.address"] == "2001:db8::17"
    assert second.attributes["client.address"] == "192.0.2.60"
    assert third.attributes["client.address"] == "127.0.0.1"
    assert third.attributes["server.address"] == "::1" and third.attributes["server.port"] == 3000
    assert "url.query" not in third.attributes


async def test_not_found_has_no_route(
    client: TestClient[Any, Any], memory: InMemorySpanExporter
) -> None:
    assert (await client.get("/nowhere", headers={"traceparent": "garbage"})).status == 404
    span = only_span(memory)
    assert span.name == "GET"
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404
    assert span.parent is None  # invalid traceparent: a new trace
    assert span.status.status_code is StatusCode.UNSET


async def test_unknown_method(client: TestClient[Any, Any], memory: InMemorySpanExporter) -> None:
    await client.request("PURGE", "/users/1")
    span = only_span(memory)
    assert span.name == "HTTP /users/:id/..."
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"


async def test_5xx_is_an_error_4xx_is_not(
    client: TestClient[Any, Any], memory: InMemorySpanExporter
) -> None:
    await client.get("/unavailable")
    await client.get("/teapot")
    unavailable, teapot = memory.get_finished_spans()
    assert unavailable.status.status_code is StatusCode.ERROR
    assert unavailable.attributes["error.type"] == "503"
    assert teapot.status.status_code is StatusCode.UNSET
    assert "error.type" not in teapot.attributes


async def test_host_failure(client: TestClient[Any, Any], memory: InMemorySpanExporter) -> None:
    assert (await client.get("/raise")).status == 500
    span = only_span(memory)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.attributes["http.response.status_code"] == 500
    assert span.events[0].name == "exception"


async def test_deferred_end_waits_for_the_finisher(
    client: TestClient[Any, Any], memory: InMemorySpanExporter
) -> None:
    response = await client.get("/stream")
    assert await response.read() == b"chunk"
    assert memory.get_finished_spans() == ()
    (finish,) = client.app[FINISHERS]
    finish()
    finish()
    assert only_span(memory).name == "GET /stream"
