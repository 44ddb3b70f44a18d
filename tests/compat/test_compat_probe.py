"""Header and trailer rules seen from a real guest (the `compat-probe` component).

Forbidden headers, as wasmtime's wasi:http (and so Spin) treats them: the component reports
what it gets when it builds `fields` with each name of wasmtime's default forbidden set,
changes the headers of requests and responses, and forwards the incoming headers on an
outgoing request (docs/compatibility.md#headers-a-component-builds).
The request it gets carries every forbidden header, so the test also shows that none of them
reaches a guest (docs/compatibility.md#request-headers).

Request trailers (docs/compatibility.md#request-trailers): aiohttp cannot deliver them, so a
guest waiting on its body's `future-trailers` gets "none", at once, even while the client is
still sending the body.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from spin_py.wasi.http.fields import FORBIDDEN_HEADERS
from tests.support.wasm_server import raw_exchange, serve, split_response

MANIFEST = """\
spin_manifest_version = 2
[application]
name = "compat-probe"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{source}"
"""

REQUEST = (
    b"POST /rules HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n"
    b"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nProxy-Authenticate: Basic\r\n"
    b"Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
    b"X-Forwarded: yes\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
)


@pytest.fixture(scope="module")
def probe_manifest(
    built_component: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("compat-probe") / "spin.toml"
    path.write_text(MANIFEST.format(source=built_component("compat-probe")))
    return path


@pytest.fixture
async def report(probe_manifest: Path) -> AsyncIterator[dict[str, object]]:
    async with serve(probe_manifest, default_cache_dir(os.environ)) as served:
        data = await asyncio.to_thread(raw_exchange, served.base_url, REQUEST)
        status, _, body = split_response(data)
        assert status == "HTTP/1.1 200 OK"
        yield json.loads(body)
        assert served.errors() == []


async def test_every_forbidden_name_is_refused_however_it_is_added(
    report: dict[str, dict[str, dict[str, str]]],
) -> None:
    construct = report["construct"]
    for name in [*FORBIDDEN_HEADERS, "Host", "TRANSFER-ENCODING"]:
        assert construct[name] == dict.fromkeys(
            ("from-list", "append", "set", "delete"), "forbidden"
        )
    assert construct["x-allowed"] == dict.fromkeys(("from-list", "append", "set", "delete"), "ok")
    assert construct["bad name"] == dict.fromkeys(
        ("from-list", "append", "set", "delete"), "invalid-syntax"
    )


async def test_header_values_and_immutable_headers(report: dict[str, object]) -> None:
    assert report["bad-value"] == "invalid-syntax"
    assert report["incoming-headers-append"] == "immutable"
    # On a request or response already built, a forbidden name is still "forbidden" (checked
    # before mutability, as in wasmtime); any other name is "immutable".
    assert report["outgoing-request-headers-append"] == {
        "host": "forbidden",
        "x-added": "immutable",
    }
    assert report["outgoing-response-headers-append"] == {
        "transfer-encoding": "forbidden",
        "x-added": "immutable",
    }


async def test_no_forbidden_header_reaches_the_guest_or_is_forwarded(
    report: dict[str, list[str]],
) -> None:
    seen = report["seen"]
    assert "x-forwarded" in seen and "spin-full-url" in seen
    assert not set(seen) & FORBIDDEN_HEADERS
    assert report["outgoing-request-from-incoming"] == seen


async def test_waiting_on_request_trailers_gets_none_while_the_body_is_still_coming(
    probe_manifest: Path,
) -> None:
    async with serve(probe_manifest, default_cache_dir(os.environ)) as served:
        host, port = served.base_url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                b"POST /trailers HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                b"Trailer: x-checksum\r\n\r\n5\r\nhello\r\n"
            )  # the body goes on: no last chunk, no trailers yet
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200 OK")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await asyncio.wait_for(reader.readexactly(length), 10)
            assert json.loads(body) == {"trailers": None}
            writer.write(b"0\r\nx-checksum: 1\r\n\r\n")  # the rest arrives after the answer
            await writer.drain()
        finally:
            writer.close()
        assert served.errors() == []
