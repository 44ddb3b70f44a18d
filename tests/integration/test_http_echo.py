"""The echo component behind real HTTP: what the guest sees, and bodies streamed both ways.

Each test serves a manifest in-process (real aiohttp app, router and wasi:http bridge on a free
port) and talks to it with a real client. The JSON mode (paths ending in `/json`) reports the
request as the guest saw it; any other path streams the request body back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from spin_py.runtime.compile_cache import default_cache_dir
from spin_py.wasi.http.fields import FORBIDDEN_HEADERS
from tests.support.wasm_server import parse_chunked, raw_exchange, serve, split_response

MANIFEST = """\
spin_manifest_version = 2
[application]
name = "echo-routes"
[[trigger.http]]
route = "/exact/json"
component = "echo"
[[trigger.http]]
route = "/wild/..."
component = "echo"
[[trigger.http]]
route = "/users/:userId/json"
component = "echo"
[[trigger.http]]
route = "/..."
component = "echo"
[component.echo]
source = "{source}"
"""

ALLOWED_EXTRA = {"content-length", "date", "transfer-encoding"}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def echo_manifest(
    built_component: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("echo") / "spin.toml"
    path.write_text(MANIFEST.format(source=built_component("echo")))
    return path


@pytest.fixture
async def echo(echo_manifest: Path) -> AsyncIterator[str]:
    async with serve(echo_manifest, default_cache_dir(os.environ)) as served:
        yield served.base_url


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def seen(
    client: aiohttp.ClientSession, url: str | URL, **kwargs: object
) -> dict[str, object]:
    async with client.get(url, **kwargs) as resp:  # type: ignore[arg-type]
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/json"
        return json.loads(await resp.read())  # type: ignore[no-any-return]


def spin(headers: list[list[str]]) -> dict[str, str]:
    return {name: value for name, value in headers if name.startswith("spin-")}


# -- what the guest sees -----------------------------------------------------------------------


async def test_exact_route(echo: str, client: aiohttp.ClientSession) -> None:
    url = URL(echo + "/exact/json?x=1&y=%2F", encoded=True)  # sent exactly as written
    report = await seen(client, url, headers={"X-Custom": "v1"})
    assert report["method"] == "GET"
    assert report["path_with_query"] == "/exact/json?x=1&y=%2F"
    assert report["scheme"] == "http"
    host = echo.removeprefix("http://")
    assert report["authority"] == host
    headers = report["headers"]
    assert isinstance(headers, list)
    assert ["x-custom", "v1"] in headers
    assert "host" not in [name for name, _ in headers]  # the Host value is the authority
    found = spin(headers)  # type: ignore[arg-type]
    client_addr = found.pop("spin-client-addr")
    assert client_addr.startswith("127.0.0.1:") and int(client_addr.rsplit(":", 1)[1]) > 0
    assert found == {
        "spin-full-url": f"http://{host}/exact/json?x=1&y=%2F",
        "spin-path-info": "",
        "spin-matched-route": "/exact/json",
        "spin-raw-component-route": "/exact/json",
        "spin-component-route": "/exact/json",
        "spin-base-path": "/",
    }


async def test_wildcard_route(echo: str, client: aiohttp.ClientSession) -> None:
    report = await seen(client, echo + "/wild/a/b/json?q=1")
    found = spin(report["headers"])  # type: ignore[arg-type]
    assert found["spin-path-info"] == "/a/b/json"
    assert found["spin-matched-route"] == "/wild/..."
    assert found["spin-raw-component-route"] == "/wild/..."
    assert found["spin-component-route"] == "/wild"
    assert found["spin-full-url"].endswith("/wild/a/b/json?q=1")
    assert not any(name.startswith("spin-path-match-") for name in found)


async def test_param_route(echo: str, client: aiohttp.ClientSession) -> None:
    report = await seen(client, echo + "/users/42/json")
    found = spin(report["headers"])  # type: ignore[arg-type]
    assert found["spin-path-match-userid"] == "42"
    assert found["spin-matched-route"] == "/users/:userId/json"
    assert found["spin-component-route"] == "/users/:userId/json"
    assert found["spin-path-info"] == ""


async def test_client_cannot_forge_spin_headers(echo: str, client: aiohttp.ClientSession) -> None:
    forged = {"spin-path-info": "/forged", "spin-anything": "x", "Connection": "keep-alive"}
    report = await seen(client, echo + "/wild/json", headers=forged)
    names = [name for name, _ in report["headers"]]  # type: ignore[union-attr]
    assert "spin-anything" not in names and "connection" not in names
    assert spin(report["headers"])["spin-path-info"] == "/json"  # type: ignore[arg-type]
    assert names.count("spin-path-info") == 1


async def test_method_other_and_body_length(echo: str, client: aiohttp.ClientSession) -> None:
    async with client.request("PURGE", echo + "/x/json", data=b"12345") as resp:
        report = json.loads(await resp.read())
    assert report["method"] == "PURGE"
    assert report["body_length"] == 5
    assert report["trailers"] is None


async def test_forbidden_request_headers_do_not_reach_the_guest(echo: str) -> None:
    # wasmtime's default forbidden set is removed from incoming requests (Spin builds guest
    # requests with it); the Host value stays visible as the authority and in spin-full-url.
    request = (
        b"POST /x/json HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n"
        b"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\n"
        b"Proxy-Authenticate: Basic\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Kept: yes\r\nTE: trailers\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    status, _, rest = split_response(await asyncio.to_thread(raw_exchange, echo, request))
    assert status == "HTTP/1.1 200 OK"
    report = json.loads(rest)
    names = [name for name, _ in report["headers"]]
    assert not set(names) & FORBIDDEN_HEADERS
    assert ["x-kept", "yes"] in report["headers"] and ["te", "trailers"] in report["headers"]
    assert report["authority"] == "example.test:8080"
    assert spin(report["headers"])["spin-full-url"] == "http://example.test:8080/x/json"
    assert report["body_length"] == 3


async def test_request_trailers_are_not_visible(echo: str) -> None:
    # aiohttp's parsers drop request trailers (docs/compatibility.md#request-trailers): a guest
    # that reads the body and then waits on its future-trailers gets "none" at once.
    request = (
        b"POST /x/json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\nTrailer: x-trailer\r\n\r\n"
        b"3\r\nabc\r\n0\r\nx-trailer: t\r\n\r\n"
    )
    exchange = asyncio.to_thread(raw_exchange, echo, request, 10.0)
    status, _, rest = split_response(await asyncio.wait_for(exchange, 15.0))
    assert status == "HTTP/1.1 200 OK"
    report = json.loads(rest)
    assert report["body_length"] == 3 and report["trailers"] is None


async def test_no_headers_added_to_responses(echo: str) -> None:
    request = b"GET /x/json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    _, headers, _ = split_response(await asyncio.to_thread(raw_exchange, echo, request))
    names = {name.lower() for name, _ in headers}
    assert names - ALLOWED_EXTRA - {"connection"} == {"content-type"}


# -- bodies ------------------------------------------------------------------------------------


def pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [0, 1, 20 * MB])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_body_streams_back(
    echo: str, client: aiohttp.ClientSession, size: int, framing: str
) -> None:
    data = pattern(size)
    payload: object = data if framing == "content-length" else chunks_of(data)
    async with client.post(echo + "/stream", data=payload) as resp:  # type: ignore[arg-type]
        assert resp.status == 200
        assert resp.headers["x-echo-method"] == "POST"
        assert resp.headers.get("transfer-encoding") == "chunked"
        got = await resp.read()
    assert len(got) == size
    assert got == data


async def test_large_body_is_streamed_not_buffered(
    echo: str, client: aiohttp.ClientSession
) -> None:
    """20 MB through the guest while Python allocations stay far below the body size."""
    size, step = 20 * MB, 64 * 1024
    block = pattern(step)
    expected = hashlib.sha256(block * (size // step)).hexdigest()

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(size // step):
            yield block

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        digest, received = hashlib.sha256(), 0
        async with client.post(echo + "/stream", data=upload()) as resp:
            async for chunk in resp.content.iter_any():
                digest.update(chunk)
                received += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == size and digest.hexdigest() == expected
    assert peak < 8 * MB, f"peak Python allocations {peak / MB:.1f} MB while streaming 20 MB"


async def test_response_starts_before_the_upload_ends(echo: str) -> None:
    """The guest sets the response, then echoes chunk by chunk: the first bytes come back
    while the client is still sending."""
    host, port = echo.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200 OK")
    first = await asyncio.wait_for(reader.readuntil(b"first\r\n"), 10)
    assert first.endswith(b"5\r\nfirst\r\n")
    writer.write(b"4\r\nlast\r\n0\r\n\r\n")
    await writer.drain()
    rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 10)
    assert rest == b"4\r\nlast\r\n0\r\n\r\n"
    writer.close()


# -- trailers, HEAD, keep-alive ----------------------------------------------------------------


async def test_response_trailers_are_sent(echo: str) -> None:
    request = (
        b"POST /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
        b"x-echo-trailers: 1\r\nContent-Length: 3\r\n\r\nabc"
    )
    status, headers, rest = split_response(await asyncio.to_thread(raw_exchange, echo, request))
    assert status == "HTTP/1.1 200 OK"
    assert ("trailer", "x-trailer, x-echo-bytes") in headers
    body = parse_chunked(rest)
    assert body.complete and body.body == b"abc"
    assert body.trailers == [("x-trailer", "done"), ("x-echo-bytes", "3")]


async def test_keep_alive_after_trailers(echo: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            headers = {"x-echo-trailers": "1"}
            async with session.post(echo + "/stream", data=b"xyz", headers=headers) as resp:
                assert await resp.read() == b"xyz"
        async with session.get(echo + "/x/json") as resp:
            assert resp.status == 200


async def test_head_response_has_no_body(echo: str) -> None:
    request = b"HEAD /x/json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    status, headers, rest = split_response(await asyncio.to_thread(raw_exchange, echo, request))
    assert status == "HTTP/1.1 200 OK"
    assert int(dict(headers)["content-length"]) > 0  # the guest's declared length is kept
    assert rest == b""


async def test_guest_status_code(echo: str, client: aiohttp.ClientSession) -> None:
    async with client.post(echo + "/s", data=b"", headers={"x-echo-status": "418"}) as resp:
        assert resp.status == 418
    async with client.post(echo + "/s", data=b"", headers={"x-echo-status": "599"}) as resp:
        assert resp.status == 599


async def test_client_leaving_mid_response_does_not_hurt(
    echo: str, client: aiohttp.ClientSession
) -> None:
    host, port = echo.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (4 * MB))
    writer.write(pattern(MB))
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.transport.abort()
    for _ in range(3):
        async with client.post(echo + "/stream", data=b"still fine") as resp:
            assert await resp.read() == b"still fine"
