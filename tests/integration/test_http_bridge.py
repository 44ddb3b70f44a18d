"""The request bridge's edge cases, driven by `data/bridge_cases.wat` (behaviour by method).

What a client sees when the guest sets an error instead of a response, never asks for a body,
drops its body unfinished, returns with the body still open, or finishes short of its declared
content-length; and that the server keeps serving after each.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.wasm_server import Served, parse_chunked, raw_exchange, serve, split_response

MANIFEST = Path(__file__).parent / "data" / "bridge-cases" / "spin.toml"


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with serve(MANIFEST, default_cache_dir(os.environ)) as running:
        yield running


async def send(served: Served, method: str) -> tuple[str, dict[str, str], bytes]:
    request = f"{method} /case HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode()
    data = await asyncio.to_thread(raw_exchange, served.base_url, request)
    status, headers, rest = split_response(data)
    return status, {name.lower(): value for name, value in headers}, rest


async def assert_control_case(served: Served) -> None:
    status, _headers, rest = await send(served, "GET")
    assert status == "HTTP/1.1 200 OK"
    body = parse_chunked(rest)
    assert body.complete and body.body == b"hello"


async def test_control_case(served: Served) -> None:
    await assert_control_case(served)
    assert served.errors() == []


async def test_error_code_instead_of_a_response(served: Served) -> None:
    status, headers, rest = await send(served, "POST")
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert rest == b"" and headers["content-length"] == "0"
    errors = served.errors()
    assert len(errors) == 1
    assert 'component "bridge-cases"' in errors[0] and "internal-error" in errors[0]
    await assert_control_case(served)


async def test_response_without_a_body(served: Served) -> None:
    status, _headers, rest = await send(served, "PUT")
    assert status == "HTTP/1.1 200 OK"
    assert parse_chunked(rest).complete and parse_chunked(rest).body == b""
    assert served.errors() == []
    await assert_control_case(served)


async def test_body_dropped_unfinished_is_cut(served: Served) -> None:
    status, _, rest = await send(served, "DELETE")
    assert status == "HTTP/1.1 200 OK"
    body = parse_chunked(rest)
    assert body.body == b"hello" and not body.complete
    assert any("cut short" in m for m in served.messages())
    await assert_control_case(served)


async def test_body_left_open_by_a_clean_return_is_completed(served: Served) -> None:
    status, _, rest = await send(served, "PATCH")
    assert status == "HTTP/1.1 200 OK"
    body = parse_chunked(rest)
    assert body.complete and body.body == b"hello"
    await assert_control_case(served)


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
async def test_body_short_of_its_content_length_is_cut(served: Served, method: str) -> None:
    status, headers, rest = await send(served, method)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-length"] == "10" and "transfer-encoding" not in headers
    assert rest == b"hello"  # 5 of the 10 promised bytes, then the connection closes
    assert any("cut short" in m and "HTTP-response-body-size" in m for m in served.messages())
    await assert_control_case(served)


async def test_head_writes_no_body_bytes(served: Served) -> None:
    status, _headers, rest = await send(served, "HEAD")
    assert status == "HTTP/1.1 200 OK"
    assert rest == b""
    await assert_control_case(served)
