"""The HTTP server, hit by real clients.

Most tests share one real `spin-py up` serving the example static app (`manifests/static`): static
responses, 404s, the reserved `/.well-known/spin/` endpoints, and that spin-py adds no headers of
its own. The last tests serve an in-process app (`create_web_app` on a real aiohttp test server)
whose component triggers go to a small `ComponentHandler` written here, to pin down the seam the
runtime plugs into.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from spin_py.manifest.model import App, Component, HttpTrigger
from spin_py.routing import RouteMatch, Router
from spin_py.server.app import create_web_app
from spin_py.server.responses import make_stream_response
from tests.support.server_fixtures import SpinPyProcess, raw_request, start_spin_py

STATIC_APP = Path(__file__).resolve().parents[2] / "manifests" / "static"
ALLOWED_EXTRA = {"content-length", "date", "transfer-encoding"}


@pytest.fixture(scope="module")
def server() -> Iterator[SpinPyProcess]:
    running = start_spin_py(STATIC_APP)
    yield running
    running.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_html_page_at_root(server: SpinPyProcess, client: aiohttp.ClientSession) -> None:
    async with client.get(server.base_url + "/") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<h1>Hello from spin-py</h1>" in await resp.text()


async def test_custom_header_and_text(server: SpinPyProcess, client: aiohttp.ClientSession) -> None:
    async with client.get(server.base_url + "/hello") as resp:
        assert resp.status == 200
        assert resp.headers["x-greeting"] == "hello"
        assert resp.headers["content-type"] == "text/plain"
        assert await resp.text() == "Hello, static world!\n"


async def test_any_method_and_query_string(
    server: SpinPyProcess, client: aiohttp.ClientSession
) -> None:
    async with client.post(server.base_url + "/hello?x=1&y=/teapot", data=b"ignored") as resp:
        assert resp.status == 200
        assert await resp.text() == "Hello, static world!\n"


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/users/42", "/api/a/b/c?q=1"])
async def test_wildcard_route(
    server: SpinPyProcess, client: aiohttp.ClientSession, path: str
) -> None:
    async with client.get(server.base_url + path) as resp:
        assert resp.status == 200
        assert await resp.json() == {"message": "every path under /api/ gets this"}


def test_status_code_without_content_type(server: SpinPyProcess) -> None:
    response = raw_request(server.base_url, "GET", "/teapot")
    assert response.status == 418
    assert response.body == b"I'm a teapot\n"
    assert response.header_names() == {"content-length", "date"}


@pytest.mark.parametrize("path", ["/nope", "/hello/more", "/apix", "/.well-known/spin/other"])
def test_unknown_path_is_empty_404(server: SpinPyProcess, path: str) -> None:
    response = raw_request(server.base_url, "GET", path)
    assert response.status == 404
    assert response.body == b""
    assert response.header_names() <= ALLOWED_EXTRA
    assert response.header("content-length") == "0"


def test_routing_uses_raw_path(server: SpinPyProcess) -> None:
    # `%68ello` decodes to `hello`, but Spin routes on the raw path: no match.
    assert raw_request(server.base_url, "GET", "/%68ello").status == 404


async def test_health(server: SpinPyProcess, client: aiohttp.ClientSession) -> None:
    async with client.get(server.base_url + "/.well-known/spin/health") as resp:
        assert resp.status == 200
        assert await resp.text() == "OK"


async def test_info(server: SpinPyProcess, client: aiohttp.ClientSession) -> None:
    async with client.get(server.base_url + "/.well-known/spin/info") as resp:
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/json"
        assert json.loads(await resp.read()) == {"name": "static", "version": "0.1.0"}


def test_reserved_app_route_not_served_but_warned(server: SpinPyProcess) -> None:
    response = raw_request(server.base_url, "GET", "/.well-known/spin/custom")
    assert response.status == 404
    assert response.body == b""
    assert "/.well-known/spin/custom" in server.stderr_so_far()


@pytest.mark.parametrize(
    ("path", "configured"),
    [
        ("/", {"content-type"}),
        ("/hello", {"content-type", "x-greeting"}),
        ("/teapot", set()),
        ("/nope", set()),
        ("/.well-known/spin/health", set()),
        ("/.well-known/spin/info", {"content-type"}),
    ],
)
def test_no_headers_of_our_own(server: SpinPyProcess, path: str, configured: set[str]) -> None:
    response = raw_request(server.base_url, "GET", path)
    assert "server" not in response.header_names()
    assert response.header_names() - configured <= ALLOWED_EXTRA


def test_head_request(server: SpinPyProcess) -> None:
    response = raw_request(server.base_url, "HEAD", "/hello")
    assert response.status == 200
    assert response.body == b""
    assert response.header("x-greeting") == "hello"


def test_absolute_form_target_routes_on_its_path(server: SpinPyProcess) -> None:
    response = raw_request(server.base_url, "GET", "http://example.com/hello?x=1")
    assert response.status == 200
    assert response.body == b"Hello, static world!\n"


def test_target_outside_any_path_is_empty_404(server: SpinPyProcess) -> None:
    response = raw_request(server.base_url, "OPTIONS", "*")
    assert response.status == 404
    assert response.body == b""
    assert response.header_names() <= ALLOWED_EXTRA


# -- the component seam ------------------------------------------------------------------------


class StreamingComponents:
    """A `ComponentHandler` that streams a response, or fails for the component `boom`."""

    def __init__(self) -> None:
        self.matches: list[RouteMatch] = []
        self.closed = False

    async def handle(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        self.matches.append(match)
        if match.trigger.component == "boom":
            raise RuntimeError("guest trapped")
        response = make_stream_response(201, [("x-guest", "yes")])
        await response.prepare(request)
        for chunk in (b"chunk1", b"chunk2"):
            await response.write(chunk)
            if match.trigger.component == "late-boom":
                raise RuntimeError("guest trapped mid-body")
        await response.write_eof()
        return response

    async def aclose(self) -> None:
        self.closed = True


SEAM_APP = App(
    manifest_path=Path("/nowhere/spin.toml"),
    name="seam",
    triggers=(
        HttpTrigger(id="stream-t", route="/stream/:name/...", component="stream"),
        HttpTrigger(id="boom-t", route="/boom", component="boom"),
        HttpTrigger(id="late-boom-t", route="/late-boom", component="late-boom"),
    ),
    components={
        "stream": Component(id="stream", source="stream.wasm"),
        "boom": Component(id="boom", source="boom.wasm"),
        "late-boom": Component(id="late-boom", source="late-boom.wasm"),
    },
)


@pytest.fixture
async def seam() -> AsyncIterator[
    tuple[TestClient[web.Request, web.Application], StreamingComponents]
]:
    components = StreamingComponents()
    web_app = create_web_app(SEAM_APP, Router.build(SEAM_APP.triggers), components)
    async with TestClient(TestServer(web_app)) as test_client:
        yield test_client, components


async def raw_head(host: str, port: int, target: str) -> tuple[str, set[str], bytes]:
    """Status line, header names and raw rest of a `Connection: close` request."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    return status_line, {line.split(":", 1)[0].lower() for line in lines}, rest


async def test_seam_gets_the_match_and_streams(
    seam: tuple[TestClient[web.Request, web.Application], StreamingComponents],
) -> None:
    test_client, components = seam
    async with test_client.get("/stream/Ann/a/b?q=1") as resp:
        assert resp.status == 201
        assert await resp.read() == b"chunk1chunk2"
    (match,) = components.matches
    assert (match.trigger.component, match.path_info, match.params) == (
        "stream",
        "/a/b",
        (("name", "Ann"),),
    )


async def test_seam_response_has_only_guest_and_framing_headers(
    seam: tuple[TestClient[web.Request, web.Application], StreamingComponents],
) -> None:
    test_client, _ = seam
    server = test_client.server
    status_line, names, _ = await raw_head(str(server.host), int(server.port or 0), "/stream/x")
    assert status_line.startswith("HTTP/1.1 201")
    assert names <= {"x-guest", "transfer-encoding", "date", "connection"}
    assert "x-guest" in names and "server" not in names and "content-type" not in names


async def test_seam_exception_is_empty_500_and_logged(
    seam: tuple[TestClient[web.Request, web.Application], StreamingComponents],
    caplog: pytest.LogCaptureFixture,
) -> None:
    test_client, _ = seam
    with caplog.at_level(logging.ERROR, logger="spin_py"):
        async with test_client.get("/boom") as resp:
            assert resp.status == 500
            assert await resp.read() == b""
    assert 'component "boom"' in caplog.text


async def test_seam_failure_after_start_cuts_the_response_short(
    seam: tuple[TestClient[web.Request, web.Application], StreamingComponents],
    caplog: pytest.LogCaptureFixture,
) -> None:
    test_client, _ = seam
    with caplog.at_level(logging.ERROR, logger="spin_py"):
        async with test_client.get("/late-boom") as resp:
            assert resp.status == 201
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
    assert 'component "late-boom"' in caplog.text


async def test_seam_is_closed_at_cleanup() -> None:
    components = StreamingComponents()
    web_app = create_web_app(SEAM_APP, Router.build(SEAM_APP.triggers), components)
    async with TestClient(TestServer(web_app)) as test_client:
        async with test_client.get("/stream/x") as resp:
            assert resp.status == 201
        assert not components.closed
    assert components.closed
