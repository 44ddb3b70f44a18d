"""The hello (Spin Python SDK) and tiny (component WAT) components behind real HTTP."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.wasm_server import MANIFESTS, raw_exchange, serve, split_response

ALLOWED_EXTRA = {"content-length", "date", "transfer-encoding", "connection"}


async def test_tiny_answers_hello_with_no_added_headers() -> None:
    async with serve(MANIFESTS / "tiny", default_cache_dir(os.environ)) as served:
        request = b"GET /anything?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        data = await asyncio.to_thread(raw_exchange, served.base_url, request)
        status, headers, rest = split_response(data)
        assert status == "HTTP/1.1 200 OK"
        assert {name.lower() for name, _ in headers} <= ALLOWED_EXTRA
        assert rest == b"5\r\nhello\r\n0\r\n\r\n"
        async with aiohttp.ClientSession() as client:
            for method in ("GET", "POST", "DELETE"):
                async with client.request(method, served.base_url + "/") as resp:
                    assert resp.status == 200 and await resp.read() == b"hello"
        assert served.errors() == []


@pytest.mark.parametrize("path", ["/hello", "/hello/a/b", "/hello-proxy/x"])
async def test_hello_answers(built_component: Callable[[str], Path], path: str) -> None:
    sources = {name: built_component(name) for name in ("hello", "hello-proxy")}
    async with serve(MANIFESTS / "hello", default_cache_dir(os.environ), sources=sources) as served:
        async with aiohttp.ClientSession() as client, client.get(served.base_url + path) as resp:
            assert resp.status == 200
            assert resp.headers["content-type"].startswith("text/plain")
            assert await resp.read() == b"Hello from spin-py!"
        assert served.errors() == []
