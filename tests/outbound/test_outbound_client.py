"""The outbound client against real servers on 127.0.0.1: bodies, headers, timeouts, failures."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from spin_py.outbound import client as client_module
from spin_py.outbound.client import (
    DEFAULT_TIMEOUT,
    OutboundClient,
    OutboundResponse,
    Timeouts,
    close_default_client,
    default_client,
)
from spin_py.outbound.errors import DnsErrorPayload, OutboundError
from tests.support.outbound_upstreams import GZIPPED, MIB, Handler, chunks, payload, read_head

RawServer = Callable[[Handler], Awaitable[int]]
BIG = 20 * MIB


async def read_all(response: OutboundResponse, max_bytes: int = 64 * 1024) -> bytes:
    parts = []
    while (data := await response.next_chunk(max_bytes)) is not None:
        assert 0 < len(data) <= max_bytes
        parts.append(data)
    return b"".join(parts)


async def digest_all(response: OutboundResponse) -> tuple[int, str]:
    digest, length = hashlib.sha256(), 0
    while (data := await response.next_chunk()) is not None:
        digest.update(data)
        length += len(data)
    return length, digest.hexdigest()


async def inspect(
    client: OutboundClient,
    url: str,
    method: str = "GET",
    headers: list[tuple[str, bytes | str]] | None = None,
    body: AsyncIterator[bytes] | None = None,
) -> dict[str, Any]:
    response = await client.send(method, url, headers or [], body)
    assert response.status == 200
    seen: dict[str, Any] = json.loads(await read_all(response))
    return seen


def names(seen: dict[str, Any]) -> list[str]:
    return [name.lower() for name, _ in seen["headers"]]


def header(seen: dict[str, Any], name: str) -> str | None:
    values = [v for k, v in seen["headers"] if k.lower() == name]
    return values[0] if values else None


async def send_error(client: OutboundClient, url: str, **kwargs: Any) -> OutboundError:
    with pytest.raises(OutboundError) as caught:
        await client.send("GET", url, [], None, **kwargs)
    return caught.value


# --- what goes out --------------------------------------------------------------------------


async def test_get_sends_only_host(client: OutboundClient, upstream: str) -> None:
    seen = await inspect(client, f"{upstream}/inspect?a=1")
    assert seen["method"] == "GET"
    assert seen["path_qs"] == "/inspect?a=1"
    assert names(seen) == ["host"]
    assert header(seen, "host") == upstream.removeprefix("http://")
    assert seen["length"] == 0


async def test_guest_headers_kept_no_auto_headers(client: OutboundClient, upstream: str) -> None:
    headers: list[tuple[str, bytes | str]] = [
        ("x-a", b"1"),
        ("X-A", b"2"),
        ("user-agent", b"guest/1"),
        ("accept", b"text/plain"),
        ("host", b"evil.example"),
        ("connection", b"close"),
    ]
    seen = await inspect(client, f"{upstream}/inspect", headers=headers)
    assert names(seen) == ["host", "x-a", "x-a", "user-agent", "accept"]
    assert [v for k, v in seen["headers"] if k.lower() == "x-a"] == ["1", "2"]
    assert header(seen, "user-agent") == "guest/1"
    assert header(seen, "accept") == "text/plain"
    assert header(seen, "host") == upstream.removeprefix("http://")


async def test_host_header_follows_the_url_name(client: OutboundClient, upstream: str) -> None:
    port = upstream.rsplit(":", 1)[1]
    seen = await inspect(client, f"http://upstream.test:{port}/inspect")
    assert header(seen, "host") == f"upstream.test:{port}"


async def test_path_and_query_sent_verbatim(client: OutboundClient, raw_server: RawServer) -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await read_head(reader))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    port = await raw_server(handler)
    response = await client.send("GET", f"http://127.0.0.1:{port}/a%2Fb/%7e?x=%20&y=a+b", [])
    assert response.status == 204
    assert heads[0].startswith(b"GET /a%2Fb/%7e?x=%20&y=a+b HTTP/1.1\r\n")


async def test_utf8_header_bytes_sent_exactly(
    client: OutboundClient, raw_server: RawServer
) -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await read_head(reader))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    port = await raw_server(handler)
    await client.send("GET", f"http://127.0.0.1:{port}/", [("x-name", "caf\xe9".encode())])
    assert b"\r\nx-name: caf\xc3\xa9\r\n" in heads[0]


@pytest.mark.parametrize(
    ("headers", "body", "framing"),
    [
        ([], None, ("content-length", "0")),
        ([("content-length", b"0")], chunks(0), ("content-length", "0")),
        ([], chunks(0), ("transfer-encoding", "chunked")),
    ],
    ids=["no-body", "empty-with-length", "empty-chunked"],
)
async def test_post_zero_bytes(
    client: OutboundClient,
    upstream: str,
    headers: list[tuple[str, bytes | str]],
    body: AsyncIterator[bytes] | None,
    framing: tuple[str, str],
) -> None:
    seen = await inspect(client, f"{upstream}/inspect", "POST", headers, body)
    assert seen["length"] == 0
    assert header(seen, framing[0]) == framing[1]
    assert "content-type" not in names(seen)


@pytest.mark.parametrize("with_length", [False, True], ids=["chunked", "content-length"])
async def test_post_20_mib(client: OutboundClient, upstream: str, with_length: bool) -> None:
    headers: list[tuple[str, bytes | str]] = [("content-length", str(BIG))] if with_length else []
    seen = await inspect(client, f"{upstream}/inspect", "POST", headers, chunks(BIG))
    assert seen["length"] == BIG
    assert seen["sha256"] == hashlib.sha256(payload(BIG)).hexdigest()
    if with_length:
        assert header(seen, "content-length") == str(BIG)
        assert header(seen, "transfer-encoding") is None
    else:
        assert header(seen, "transfer-encoding") == "chunked"
        assert header(seen, "content-length") is None


async def test_body_error_is_what_send_raises(client: OutboundClient, upstream: str) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"12345"
        raise OutboundError("HTTP-request-body-size", 5, "body longer than content-length")

    with pytest.raises(OutboundError) as caught:
        await client.send("POST", f"{upstream}/inspect", [("content-length", b"3")], failing())
    assert caught.value.code == "HTTP-request-body-size"
    assert caught.value.payload == 5


# --- what comes back ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["chunked", "length"])
async def test_download_20_mib(client: OutboundClient, upstream: str, mode: str) -> None:
    response = await client.send("GET", f"{upstream}/download?size={BIG}&mode={mode}", [])
    assert response.status == 200
    framing = dict(response.headers)
    if mode == "chunked":
        assert framing["transfer-encoding"] == b"chunked"
    else:
        assert framing["content-length"] == str(BIG).encode()
    assert await digest_all(response) == (BIG, hashlib.sha256(payload(BIG)).hexdigest())
    assert response.finished
    assert await response.next_chunk() is None
    assert response.trailers() is None


@pytest.mark.parametrize("mode", ["chunked", "length"])
async def test_download_zero_bytes(client: OutboundClient, upstream: str, mode: str) -> None:
    response = await client.send("GET", f"{upstream}/download?size=0&mode={mode}", [])
    assert await response.next_chunk() is None


async def test_echo_20_mib_both_ways(client: OutboundClient, upstream: str) -> None:
    response = await client.send("PUT", f"{upstream}/echo", [], chunks(BIG, 100_000))
    assert response.status == 200
    assert await digest_all(response) == (BIG, hashlib.sha256(payload(BIG)).hexdigest())


async def test_small_reads_respect_max_bytes(client: OutboundClient, upstream: str) -> None:
    response = await client.send("GET", f"{upstream}/download?size=10000", [])
    assert await read_all(response, max_bytes=1000) == payload(10000)


async def test_head_has_no_body(client: OutboundClient, upstream: str) -> None:
    response = await client.send("HEAD", f"{upstream}/download?size=10", [])
    assert response.status == 200
    assert dict(response.headers)["content-length"] == b"10"
    assert await response.next_chunk() is None


async def test_redirects_are_not_followed(client: OutboundClient, upstream: str) -> None:
    response = await client.send("GET", f"{upstream}/redirect", [])
    assert response.status == 302
    assert dict(response.headers)["location"] == b"/inspect"


async def test_bodies_are_not_decompressed(client: OutboundClient, upstream: str) -> None:
    response = await client.send("GET", f"{upstream}/gzip", [])
    assert dict(response.headers)["content-encoding"] == b"gzip"
    body = await read_all(response)
    assert body == GZIPPED
    assert gzip.decompress(body).startswith(b"hello outbound")


async def test_cookies_are_not_kept(client: OutboundClient, upstream: str) -> None:
    # A host name, not an IP: aiohttp's default jar ignores cookies from IP addresses.
    base = upstream.replace("127.0.0.1", "upstream.test")
    response = await client.send("GET", f"{base}/cookie", [])
    assert b"session=abc" in dict(response.headers)["set-cookie"]
    await read_all(response)
    seen = await inspect(client, f"{base}/inspect")
    assert "cookie" not in names(seen)


async def test_connections_are_pooled(client: OutboundClient, upstream: str) -> None:
    first = await inspect(client, f"{upstream}/inspect")
    second = await inspect(client, f"{upstream}/inspect")
    assert first["peer_port"] == second["peer_port"]


async def test_raw_response_headers(client: OutboundClient, raw_server: RawServer) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(
            b"HTTP/1.1 201 Made\r\nX-B: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            b"X-Raw: caf\xe9\r\nContent-Length: 2\r\n\r\nok"
        )
        await writer.drain()

    port = await raw_server(handler)
    response = await client.send("GET", f"http://127.0.0.1:{port}/", [])
    assert (response.status, response.reason) == (201, "Made")
    assert response.headers == [
        ("x-b", b"1"),
        ("set-cookie", b"a=1"),
        ("set-cookie", b"b=2"),
        ("x-raw", b"caf\xe9"),
        ("content-length", b"2"),
    ]
    assert await read_all(response) == b"ok"


async def test_closing_early_does_not_reuse_the_connection(
    client: OutboundClient, upstream: str
) -> None:
    response = await client.send("GET", f"{upstream}/download?size={BIG}&mode=chunked", [])
    assert await response.next_chunk() is not None
    response.close()
    assert response.finished
    assert await response.next_chunk() is None
    seen = await inspect(client, f"{upstream}/inspect")
    again = await inspect(client, f"{upstream}/inspect")
    assert seen["peer_port"] == again["peer_port"]  # the pool still works afterwards


# --- failures -------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused(client: OutboundClient) -> None:
    error = await send_error(client, f"http://127.0.0.1:{closed_port()}/")
    assert error.code == "connection-refused"


async def test_unresolvable_name(client: OutboundClient) -> None:
    error = await send_error(client, "http://nonexistent.invalid/")
    assert error.code == "DNS-error"
    assert error.payload == DnsErrorPayload("address not available", 0)


async def test_connect_timeout() -> None:
    # A listener with a full accept queue: Linux drops further SYNs, so connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    outbound = OutboundClient()
    try:
        started = time.monotonic()
        error = await send_error(outbound, f"http://127.0.0.1:{port}/", connect_timeout=0.3)
        assert error.code == "connection-timeout"
        assert time.monotonic() - started < 5
    finally:
        await outbound.close()
        filler.close()
        listener.close()


async def test_first_byte_timeout(client: OutboundClient, raw_server: RawServer) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.Event().wait()

    port = await raw_server(silent)
    started = time.monotonic()
    error = await send_error(client, f"http://127.0.0.1:{port}/", first_byte_timeout=0.3)
    assert error.code == "connection-read-timeout"
    assert 0.25 < time.monotonic() - started < 5


async def test_zero_timeout_means_no_waiting(client: OutboundClient, raw_server: RawServer) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.Event().wait()

    port = await raw_server(silent)
    error = await send_error(client, f"http://127.0.0.1:{port}/", first_byte_timeout=0)
    assert error.code == "connection-read-timeout"


async def test_first_byte_clock_starts_after_the_body(
    client: OutboundClient, upstream: str
) -> None:
    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(4):
            await asyncio.sleep(0.15)
            yield b"x" * 10

    response = await client.send(
        "POST", f"{upstream}/inspect", [], slow_body(), first_byte_timeout=0.3
    )
    assert json.loads(await read_all(response))["length"] == 40


def stalling(first: bytes, pause: float | None, rest: bytes = b"") -> Handler:
    """Send the head and `first`; then stall forever (pause None) or send `rest` later."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        total = len(first) + len(rest) if pause is not None else 100
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total + first)
        await writer.drain()
        if pause is None:
            await asyncio.Event().wait()
            return
        await asyncio.sleep(pause)
        writer.write(rest)
        await writer.drain()

    return handler


async def test_between_bytes_timeout(client: OutboundClient, raw_server: RawServer) -> None:
    port = await raw_server(stalling(b"0123456789", None))
    response = await client.send(
        "GET", f"http://127.0.0.1:{port}/", [], between_bytes_timeout=0.3, first_byte_timeout=5
    )
    assert await response.next_chunk() == b"0123456789"
    started = time.monotonic()
    with pytest.raises(OutboundError) as caught:
        await response.next_chunk()
    assert caught.value.code == "connection-read-timeout"
    assert 0.25 < time.monotonic() - started < 5
    assert await response.next_chunk() is None  # closed after the error


async def test_between_bytes_runs_only_while_waiting(
    client: OutboundClient, raw_server: RawServer
) -> None:
    # 10 bytes, then 90 more 0.6 s later. The reader idles 0.5 s before reading, so it
    # waits only ~0.1 s for the rest: within 0.4 s even though the socket was silent 0.6 s.
    port = await raw_server(stalling(b"0" * 10, 0.6, b"1" * 90))
    response = await client.send("GET", f"http://127.0.0.1:{port}/", [], between_bytes_timeout=0.4)
    await asyncio.sleep(0.5)
    assert await read_all(response) == b"0" * 10 + b"1" * 90


async def test_truncated_body(client: OutboundClient, raw_server: RawServer) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        writer.close()

    port = await raw_server(handler)
    response = await client.send("GET", f"http://127.0.0.1:{port}/", [])
    with pytest.raises(OutboundError) as caught:
        await read_all(response)
    assert caught.value.code == "HTTP-response-incomplete"


async def test_closed_before_response(client: OutboundClient, raw_server: RawServer) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.close()

    port = await raw_server(handler)
    error = await send_error(client, f"http://127.0.0.1:{port}/")
    assert error.code == "HTTP-response-incomplete"


async def test_garbage_response(client: OutboundClient, raw_server: RawServer) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"SPEAK FRIEND AND ENTER\r\n\r\n")
        await writer.drain()

    port = await raw_server(handler)
    error = await send_error(client, f"http://127.0.0.1:{port}/")
    assert error.code == "HTTP-protocol-error"


async def test_relative_url_is_rejected(client: OutboundClient) -> None:
    error = await send_error(client, "/just/a/path")
    assert error.code == "HTTP-request-URI-invalid"


# --- TLS ------------------------------------------------------------------------------------


async def test_untrusted_certificate(client: OutboundClient, tls_upstream: int) -> None:
    error = await send_error(client, f"https://127.0.0.1:{tls_upstream}/inspect")
    assert error.code == "TLS-certificate-error"


async def test_trusted_certificate(tls_files: tuple[Path, Path], tls_upstream: int) -> None:
    context = ssl.create_default_context(cafile=str(tls_files[0]))
    outbound = OutboundClient(ssl_context=context)
    try:
        seen = await inspect(outbound, f"https://127.0.0.1:{tls_upstream}/inspect")
        assert header(seen, "host") == f"127.0.0.1:{tls_upstream}"
    finally:
        await outbound.close()


async def test_tls_to_a_plain_http_server(client: OutboundClient, upstream: str) -> None:
    error = await send_error(client, upstream.replace("http://", "https://") + "/inspect")
    assert error.code == "TLS-protocol-error"


# --- the process-wide client and options ----------------------------------------------------


async def test_default_client_is_shared_and_closable(upstream: str) -> None:
    assert default_client() is default_client()
    first = await inspect(default_client(), f"{upstream}/inspect")
    await close_default_client()
    assert client_module._default is not None and client_module._default._session is None
    second = await inspect(default_client(), f"{upstream}/inspect")
    assert first["peer_port"] != second["peer_port"]  # a new session, new connection
    await close_default_client()


def test_timeouts_from_request_options() -> None:
    assert Timeouts.from_nanos(1_500_000_000, None, 250_000_000) == Timeouts(1.5, None, 0.25)
    assert DEFAULT_TIMEOUT == 600.0
