"""The proxy component (Spin Python SDK) calling real upstream servers through spin-py's
wasi:http outgoing-handler: bodies both ways, framing, headers, timeouts and failures as the
guest sees them (the error-code case comes back in `x-proxy-error`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.outbound_support import (
    closed_port,
    error_case,
    raw_listener,
    run_upstream,
    sha256,
    unaccepting_port,
    write_manifest,
)
from tests.support.outbound_upstreams import MIB, payload
from tests.support.wasm_server import Served, serve

BIG = 20 * MIB
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=120)


@pytest.fixture
def proxy_manifest(built_component: Callable[[str], Path], tmp_path: Path) -> Path:
    components = {
        "proxy": (
            built_component("proxy"),
            ["http://127.0.0.1:*", "http://self", "http://*.test:*"],
        ),
        "hello": (built_component("hello"), []),
    }
    return write_manifest(tmp_path, components, {"/...": "proxy", "/hello": "hello"})


@pytest.fixture
async def served(proxy_manifest: Path) -> AsyncIterator[Served]:
    async with serve(proxy_manifest, default_cache_dir(os.environ)) as server:
        yield server


async def fetch(
    url: str, method: str = "GET", data: object = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as session,
        session.request(method, url, data=data, headers=headers, allow_redirects=False) as response,
    ):
        return response.status, dict(response.headers), await response.read()


async def test_get_through_the_sdk_send(served: Served) -> None:
    async with run_upstream() as upstream:
        status, headers, body = await fetch(f"{served.base_url}/proxy?url={upstream.url}/inspect")
    assert status == 200
    assert headers["x-upstream"] == "inspect"
    seen = json.loads(body)
    assert (seen["method"], seen["path_qs"], seen["length"]) == ("GET", "/inspect", 0)
    names = [name.lower() for name, _ in seen["headers"]]
    assert "host" in names and "traceparent" in names
    assert "user-agent" not in names and "spin-py-self-request" not in names
    assert served.errors() == []


async def test_sdk_send_with_a_body_larger_than_the_stream_buffer(served: Served) -> None:
    # spin_sdk.http.send writes the body and waits for the response at the same time: its poll
    # loop then polls two pollables at once (the body stream and the response future).
    data = payload(3 * MIB)
    async with run_upstream() as upstream:
        status, _, body = await fetch(
            f"{served.base_url}/proxy?url={upstream.url}/inspect", "PUT", data
        )
    assert status == 200
    seen = json.loads(body)
    assert (seen["method"], seen["length"], seen["sha256"]) == ("PUT", len(data), sha256(data))
    assert served.errors() == []


async def test_upstream_status_and_headers_come_back(served: Served) -> None:
    async with run_upstream() as upstream:
        status, _, body = await fetch(f"{served.base_url}/stream?url={upstream.url}/status/418")
        assert (status, body) == (418, b"status")
        status, _, _ = await fetch(f"{served.base_url}/proxy?url={upstream.url}/status/503")
        assert status == 503


async def test_redirects_are_not_followed(served: Served) -> None:
    async with run_upstream() as upstream:
        status, headers, _ = await fetch(f"{served.base_url}/stream?url={upstream.url}/redirect")
        assert (status, headers["Location"]) == (302, "/inspect")
        assert [seen["path_qs"] for seen in upstream.seen] == ["/redirect"]


@pytest.mark.parametrize("mode", ["length", "chunked"])
@pytest.mark.parametrize("size", [0, MIB])  # 20 MiB each way: test_post_both_ways
async def test_download(served: Served, size: int, mode: str) -> None:
    async with run_upstream() as upstream:
        url = f"{served.base_url}/stream?url={upstream.url}/download?size={size}%26mode={mode}"
        started = time.monotonic()
        status, headers, body = await fetch(url)
        elapsed = time.monotonic() - started
    assert status == 200
    assert len(body) == size and sha256(body) == sha256(payload(size)), elapsed
    if mode == "length":
        assert headers["Content-Length"] == str(size)
    else:
        assert "Content-Length" not in headers and headers["Transfer-Encoding"] == "chunked"


@pytest.mark.parametrize(
    ("up_size", "up_mode", "down_size", "down_mode"),
    [
        (0, "length", 0, "length"),
        (0, "chunked", 0, "chunked"),
        (BIG, "length", BIG, "chunked"),
        (BIG, "chunked", BIG, "length"),
    ],
)
async def test_post_both_ways(
    served: Served, up_size: int, up_mode: str, down_size: int, down_mode: str
) -> None:
    data = payload(up_size)

    async def chunked_body() -> AsyncIterator[bytes]:
        for start in range(0, up_size, 256 * 1024):
            yield data[start : start + 256 * 1024]

    body_arg: object = data if up_mode == "length" else chunked_body()
    async with run_upstream() as upstream:
        target = f"{upstream.url}/sink?size={down_size}%26mode={down_mode}"
        status, headers, body = await fetch(
            f"{served.base_url}/stream?url={target}", "POST", body_arg
        )
        framing = upstream.header(0, "content-length"), upstream.header(0, "transfer-encoding")
    assert status == 200
    assert headers["x-received-length"] == str(up_size)
    assert headers["x-received-sha256"] == sha256(data)
    assert len(body) == down_size and sha256(body) == sha256(payload(down_size))
    if up_mode == "length":
        assert framing == ([str(up_size)], [])
    else:
        assert framing == ([], ["chunked"])


async def test_request_headers_go_upstream(served: Served) -> None:
    async with run_upstream() as upstream:
        headers = {"x-custom": "one", "content-type": "text/plain", "traceparent": "bogus"}
        await fetch(f"{served.base_url}/stream?url={upstream.url}/inspect", "PUT", b"abc", headers)
        assert upstream.header(0, "x-custom") == ["one"]
        assert upstream.header(0, "content-type") == ["text/plain"]
        (traceparent,) = upstream.header(0, "traceparent")
        assert traceparent.startswith("00-") and traceparent != "bogus"
        assert upstream.header(0, "host") == [f"127.0.0.1:{upstream.port}"]
        assert upstream.seen[0]["method"] == "PUT" and upstream.seen[0]["length"] == 3


async def proxy_error(served: Served, query: str) -> tuple[str, bytes, float]:
    started = time.monotonic()
    status, headers, body = await fetch(f"{served.base_url}/stream?{query}")
    assert status == 502, body
    return headers["x-proxy-error"], body, time.monotonic() - started


async def test_connect_timeout(served: Served) -> None:
    with unaccepting_port() as port:
        case, _, elapsed = await proxy_error(served, f"url=http://127.0.0.1:{port}/&connect_ms=300")
    assert case == error_case("connection-timeout")
    assert elapsed < 5


async def test_first_byte_timeout(served: Served) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.Event().wait()

    async with raw_listener(silent) as port:
        case, _, elapsed = await proxy_error(
            served, f"url=http://127.0.0.1:{port}/&first_byte_ms=300"
        )
    assert case == error_case("connection-read-timeout")
    assert 0.25 < elapsed < 5


async def test_stall_mid_body(served: Served) -> None:
    async def stalling(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        await asyncio.Event().wait()

    async with raw_listener(stalling) as port:
        query = f"url=http://127.0.0.1:{port}/&between_ms=300&buffer=1"
        case, _, elapsed = await proxy_error(served, query)
    assert case == error_case("connection-read-timeout")
    assert 0.25 < elapsed < 5


async def test_stall_mid_body_while_streaming_cuts_the_response(served: Served) -> None:
    async def stalling(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        await asyncio.Event().wait()

    async with raw_listener(stalling) as port:
        url = f"{served.base_url}/stream?url=http://127.0.0.1:{port}/&between_ms=300"
        with pytest.raises(aiohttp.ClientPayloadError):
            await fetch(url)


async def test_truncated_upstream_body(served: Served) -> None:
    async def truncating(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()

    async with raw_listener(truncating) as port:
        case, _, _ = await proxy_error(served, f"url=http://127.0.0.1:{port}/&buffer=1")
    assert case == error_case("HTTP-response-incomplete")


async def test_connection_refused(served: Served) -> None:
    case, _, _ = await proxy_error(served, f"url=http://127.0.0.1:{closed_port()}/")
    assert case == error_case("connection-refused")
    status, headers, _ = await fetch(
        f"{served.base_url}/proxy?url=http://127.0.0.1:{closed_port()}/"
    )
    assert (status, headers["x-proxy-error"]) == (502, error_case("connection-refused"))


async def test_unresolvable_name(served: Served) -> None:
    case, body, _ = await proxy_error(served, "url=http://nowhere.test/")
    assert case == error_case("DNS-error")
    assert b"address not available" in body


async def test_resolvable_name_with_the_host_header_from_the_url(served: Served) -> None:
    async with run_upstream() as upstream:
        status, _, _ = await fetch(
            f"{served.base_url}/stream?url=http://upstream.test:{upstream.port}/inspect"
        )
        assert status == 200
        assert upstream.header(0, "host") == [f"upstream.test:{upstream.port}"]


@pytest.mark.parametrize("url", ["/hello", "http://self.alt/hello"])
async def test_self_request(served: Served, url: str) -> None:
    status, _, body = await fetch(f"{served.base_url}/stream?url={url}")
    assert (status, body) == (200, b"Hello from spin-py!")
    status, _, body = await fetch(f"{served.base_url}/proxy?url={url}")
    assert (status, body) == (200, b"Hello from spin-py!")


async def test_self_request_to_a_component_that_calls_out_again(served: Served) -> None:
    # proxy -> (self) proxy -> upstream: the inner call runs nested, so the one guest thread
    # the outer call holds does not deadlock it.
    async with run_upstream() as upstream:
        inner = f"/stream?url={upstream.url}/inspect"
        status, _, body = await fetch(
            f"{served.base_url}/stream?url={inner.replace('?', '%3F')}", "POST", b"xyz"
        )
    assert status == 200
    assert json.loads(body)["length"] == 3


async def test_denied_host_is_logged_and_refused(served: Served) -> None:
    case, _, _ = await proxy_error(served, "url=http://10.1.2.3:8080/x")
    assert case == error_case("HTTP-request-denied")
    assert any(
        "Outbound network destination not allowed: http://10.1.2.3:8080" in message
        for message in served.errors()
    )
