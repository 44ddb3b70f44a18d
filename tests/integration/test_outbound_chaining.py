"""Service chaining with real components: chain-front calls the private chain-back through
`http://chain-back.spin.internal/...`, dispatched in-process; the trace continues into it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from spin_py.telemetry import configure
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver  # noqa: F401  (fixture)
from tests.support.outbound_support import error_case, write_manifest
from tests.support.wasm_server import Served, serve

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CLIENT, SERVER = 3, 2  # OTLP span kinds


def chain_manifest(
    built: Callable[[str], Path], directory: Path, allowed: list[str] | None = None
) -> Path:
    components = {
        "chain-front": (built("chain-front"), allowed or ["http://chain-back.spin.internal"]),
        "chain-back": (built("chain-back"), []),
        "hello": (built("hello"), []),
    }
    routes = {"/front/...": "chain-front", "private:back": "chain-back", "/hello": "hello"}
    return write_manifest(directory, components, routes)


@pytest.fixture
async def served(built_component: Callable[[str], Path], tmp_path: Path) -> AsyncIterator[Served]:
    path = chain_manifest(built_component, tmp_path)
    async with serve(path, default_cache_dir(os.environ)) as server:
        yield server


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def fetch(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=headers) as response,
    ):
        return Answer(response.status, dict(response.headers), await response.read())


async def test_chained_request_reaches_the_private_component(served: Served) -> None:
    url = f"{served.base_url}/front/items/7?x=1"
    response = await fetch(url, "POST", b"abc", {"host": "example.com"})
    assert response.status == 200
    seen = json.loads(response.body)
    assert seen["component"] == "chain-back"
    assert (seen["method"], seen["uri"], seen["body_length"]) == ("POST", "/items/7?x=1", 3)
    headers = seen["headers"]
    assert headers["spin-full-url"] == "http://chain-back.spin.internal/items/7?x=1"
    assert headers["spin-path-info"] == "/items/7"
    assert headers["spin-matched-route"] == "/..."
    assert headers["spin-raw-component-route"] == "/..."
    assert headers["spin-component-route"] == ""
    assert headers["spin-base-path"] == "/"
    assert headers["spin-client-addr"] == "0.0.0.0:0"
    assert "host" not in headers and "spin-py-self-request" not in headers
    assert served.errors() == []


async def test_the_private_component_has_no_public_route(served: Served) -> None:
    response = await fetch(f"{served.base_url}/items/7")
    assert response.status == 404


async def test_large_bodies_stream_through_both_ways(served: Served) -> None:
    size = 3 * 1024 * 1024
    response = await fetch(f"{served.base_url}/front/big?size={size}", "PUT", b"u" * size)
    assert response.status == 200
    seen = json.loads(response.body)
    assert (seen["method"], seen["body_length"]) == ("PUT", size)
    assert seen["padding"] == "x" * size


async def test_a_component_not_allowed_is_denied(served: Served) -> None:
    response = await fetch(f"{served.base_url}/front/x?component=hello")
    assert (response.status, response.headers["x-proxy-error"]) == (
        502,
        error_case("HTTP-request-denied"),
    )
    assert any(
        "Outbound network destination not allowed: http://hello.spin.internal" in line
        for line in served.errors()
    )


async def test_every_component_with_the_wildcard_and_unknown_ids(
    built_component: Callable[[str], Path], tmp_path: Path
) -> None:
    path = chain_manifest(built_component, tmp_path, ["http://*.spin.internal"])
    async with serve(path, default_cache_dir(os.environ)) as served:
        hello = await fetch(f"{served.base_url}/front/?component=hello")
        assert hello.status == 200
        unknown = await fetch(f"{served.base_url}/front/?component=nope")
        assert (unknown.status, unknown.headers["x-proxy-error"]) == (
            502,
            error_case("destination-not-found"),
        )


async def test_the_trace_continues_into_the_chained_component(
    built_component: Callable[[str], Path],
    tmp_path: Path,
    otlp_receiver: OtlpReceiver,  # noqa: F811
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    telemetry = configure(env, app_name="chain", version="test")
    path = chain_manifest(built_component, tmp_path)
    try:
        async with serve(path, default_cache_dir(os.environ), telemetry=telemetry) as s:
            headers = {"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01"}
            response = await fetch(f"{s.base_url}/front/a", headers=headers)
            assert response.status == 200
            traceparent = json.loads(response.body)["headers"]["traceparent"]
    finally:
        await asyncio.to_thread(telemetry.shutdown, 5.0)
    spans = {span.name: span for span in otlp_receiver.spans() if span.trace_id == TRACE}
    server = spans["GET /front/..."]
    front = spans["execute_wasm_component chain-front"]
    client = spans["GET"]
    back = spans["execute_wasm_component chain-back"]
    assert server.parent_span_id == CALLER_SPAN and server.item.kind == SERVER
    assert front.parent_span_id == server.span_id
    assert client.parent_span_id == front.span_id and client.item.kind == CLIENT
    assert back.parent_span_id == client.span_id
    assert traceparent == f"00-{TRACE}-{client.span_id}-01"
    assert client.attributes["url.full"] == "http://chain-back.spin.internal/a"
    assert client.attributes["server.address"] == "chain-back.spin.internal"
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["http.request.method"] == "GET"
