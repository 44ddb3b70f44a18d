"""Guests that fail on purpose, behind real HTTP: every failure is answered (or cut) correctly,
logged once naming the component, and the next request is served normally.

One in-process server (real aiohttp app and wasi:http bridge) with a 1 s request timeout and a
256 MiB memory cap serves the misbehave component; each case is followed by `/ok`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.wasm_server import (
    MANIFESTS,
    Served,
    parse_chunked,
    raw_exchange,
    serve,
    split_response,
)

TIMEOUT = 1.0
MEMORY_CAP = 256 * 1024 * 1024


@pytest.fixture
async def served(built_component: Callable[[str], Path]) -> AsyncIterator[Served]:
    source = built_component("misbehave")
    async with serve(
        MANIFESTS / "misbehave",
        default_cache_dir(os.environ),
        request_timeout=TIMEOUT,
        max_instance_memory=MEMORY_CAP,
        sources={"misbehave": source},
    ) as running:
        yield running


async def get(served: Served, target: str) -> tuple[str, dict[str, str], bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode()
    status, headers, rest = split_response(
        await asyncio.to_thread(raw_exchange, served.base_url, request)
    )
    return status, {name.lower(): value for name, value in headers}, rest


async def assert_still_serving(served: Served) -> None:
    for _ in range(2):
        status, _, body = await get(served, "/ok")
        assert status == "HTTP/1.1 200 OK" and body == b"ok"


async def assert_empty_500(served: Served, target: str) -> None:
    status, headers, body = await get(served, target)
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert body == b"" and headers.get("content-length") == "0"


def one_error_naming_component(served: Served) -> str:
    errors = served.errors()
    assert len(errors) == 1, errors
    assert 'component "misbehave"' in errors[0]
    return errors[0]


async def test_trap_is_an_empty_500_with_backtrace(served: Served) -> None:
    await assert_empty_500(served, "/trap")
    error = one_error_naming_component(served)
    assert "trapped" in error and "\n" not in error, "one line (docs/security.md, Logs)"
    assert any("0x" in line for line in served.messages(logging.DEBUG)), "backtrace at debug"
    await assert_still_serving(served)


async def test_trap_after_response_cuts_the_body(served: Served) -> None:
    status, headers, rest = await get(served, "/trap-after-response")
    assert status == "HTTP/1.1 200 OK" and headers["transfer-encoding"] == "chunked"
    body = parse_chunked(rest)
    assert body.body == b"partial" and not body.complete
    assert any("trapped" in e for e in served.errors())
    await assert_still_serving(served)


async def test_endless_loop_hits_the_deadline(served: Served) -> None:
    started = time.monotonic()
    await assert_empty_500(served, "/loop")
    assert time.monotonic() - started < TIMEOUT + 2
    assert "request timeout" in one_error_naming_component(served)
    await assert_still_serving(served)


async def test_unbounded_allocation_hits_the_memory_cap(served: Served) -> None:
    await assert_empty_500(served, "/alloc")
    one_error_naming_component(served)
    await assert_still_serving(served)


async def test_no_response_is_an_empty_500(served: Served) -> None:
    await assert_empty_500(served, "/no-response")
    error = one_error_naming_component(served)
    assert "guest failed to produce a response prior to returning" in error
    await assert_still_serving(served)


async def test_write_after_finish_keeps_the_finished_response(served: Served) -> None:
    status, _, rest = await get(served, "/write-after-finish")
    assert status == "HTTP/1.1 200 OK"
    body = parse_chunked(rest)
    assert body.complete and body.body == b"partial"
    await assert_still_serving(served)
    assert any("trapped" in e for e in served.errors())  # the late write is guest misuse


async def test_exit_zero_after_the_response(served: Served) -> None:
    status, _, body = await get(served, "/exit0")
    assert status == "HTTP/1.1 200 OK" and body == b"bye"
    assert served.errors() == []
    await assert_still_serving(served)


async def test_exit_one_before_a_response(served: Served) -> None:
    await assert_empty_500(served, "/exit1")
    assert "exited with status 1" in one_error_naming_component(served)
    await assert_still_serving(served)


async def test_sleep_blocks_only_the_guest(served: Served) -> None:
    started = time.monotonic()
    status, _, body = await get(served, "/sleep?ms=200")
    assert status == "HTTP/1.1 200 OK" and body == b"slept 200"
    assert 0.2 <= time.monotonic() - started < 2
    await assert_still_serving(served)


async def test_unknown_route_is_the_guests_404(served: Served) -> None:
    status, _, body = await get(served, "/nope")
    assert status == "HTTP/1.1 404 Not Found" and body == b"no such misbehaviour: nope"
    assert served.errors() == []
