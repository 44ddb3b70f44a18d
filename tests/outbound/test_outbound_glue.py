"""The wasi:http outgoing-handler glue without a guest: request bodies (hand-off, backpressure,
abort, release), the response future and the response's release, error-code lowering, and the
placement and client span of refused requests. A real event loop runs in a thread, as the
server's does; the test thread plays the guest."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from wasmtime.component import Variant

from spin_py.host.state import RequestState, bind
from spin_py.host.streams import StreamClosed, StreamFailed
from spin_py.manifest.model import Component
from spin_py.outbound import OutboundError, SelfOrigin
from spin_py.outbound.host import OutboundHost, policy_for
from spin_py.outbound.request_body import release, request_chunks
from spin_py.outbound.response import (
    PendingResponse,
    error_code_from,
    incoming_response,
)
from spin_py.outbound.send import RequestOutbound
from spin_py.telemetry import configure, prepare_execute
from spin_py.wasi.http.body import OutgoingBody
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.request import OutgoingRequest
from tests.support.models import make_state


@pytest.fixture
def bg_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(5)
    running.close()


def caller_state(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path, allowed: tuple[str, ...] = ()
) -> RequestState:
    """A request of component "caller" with these `allowed_outbound_hosts`."""
    caller = Component(id="caller", source="caller.wasm", allowed_outbound_hosts=allowed)
    return make_state(bg_loop, tmp=tmp_path, component=caller)


def on_loop(bg_loop: asyncio.AbstractEventLoop, coro: object) -> concurrent.futures.Future[object]:
    return asyncio.run_coroutine_threadsafe(coro, bg_loop)  # type: ignore[arg-type]


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def wait_for(check: object, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- request bodies ------------------------------------------------------------------------------


def request_body(state: RequestState, capacity: int = 256 * 1024) -> OutgoingBody:
    """The body `outgoing-request.body` makes (it owns its channel)."""
    return OutgoingBody(state, None, "request", capacity)


def test_body_streams_to_the_reader_and_ends_on_finish(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    state = caller_state(bg_loop, tmp_path)
    body = request_body(state, capacity=4096)
    stream = body.take_stream()
    assert stream is not None
    reader = on_loop(bg_loop, collect(request_chunks(body.reader)))
    data = bytes(range(256)) * 200
    with bind(state):
        for start in range(0, len(data), 4096):
            stream.blocking_write_and_flush(data[start : start + 4096])
    body.finish(None)
    assert reader.result(5) == data


def test_body_applies_backpressure_until_read(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    body = request_body(caller_state(bg_loop, tmp_path), capacity=1024)
    stream = body.take_stream()
    assert stream is not None
    stream.write(b"x" * 1024)
    assert stream.check_write() == 0  # nobody reads: the guest must wait
    reader = on_loop(bg_loop, collect(request_chunks(body.reader)))
    wait_for(lambda: stream.check_write() == 1024)
    stream.write(b"y" * 1024)
    body.finish(None)
    assert reader.result(5) == b"x" * 1024 + b"y" * 1024


def test_abort_fails_the_reader_with_the_error_code(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    body = request_body(caller_state(bg_loop, tmp_path))
    stream = body.take_stream()
    assert stream is not None
    stream.write(b"abc")
    reader = on_loop(bg_loop, collect(request_chunks(body.reader)))
    body.abort(ErrorCode.request_body_size(3))
    with pytest.raises(OutboundError) as caught:
        reader.result(5)
    assert (caught.value.code, caught.value.payload) == ("HTTP-request-body-size", 3)


def test_release_wakes_a_blocked_writer_and_drops_its_writes(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    state = caller_state(bg_loop, tmp_path)
    body = request_body(state, capacity=1024)
    stream = body.take_stream()
    assert stream is not None
    outcome: list[BaseException] = []

    def guest() -> None:
        try:
            with bind(state):
                for _ in range(10):
                    stream.blocking_write_and_flush(b"z" * 1024)
        except (StreamClosed, StreamFailed) as exc:
            outcome.append(exc)

    writer = threading.Thread(target=guest)
    writer.start()
    time.sleep(0.1)
    assert writer.is_alive()  # blocked: nobody reads
    release(body.reader)
    writer.join(5)
    # Woken, and its remaining writes dropped without an error: the request's failure reaches
    # the guest through the response future, once.
    assert not writer.is_alive() and outcome == []


# -- responses and errors -----------------------------------------------------------------------


def test_incoming_response_strips_forbidden_headers_and_releases_once(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    released: list[int] = []

    async def no_body() -> bytes | None:
        return None

    response = incoming_response(
        caller_state(bg_loop, tmp_path),
        200,
        [("content-length", b"0"), ("Connection", b"close"), ("x-a", b"1"), ("host", b"h")],
        no_body,
        lambda: released.append(1),
    )
    assert response.headers.entries() == [("content-length", b"0"), ("x-a", b"1")]
    assert not response.headers.mutable
    body = response.consume()
    assert body is not None
    response.on_drop()
    assert released == []  # the body was taken: it owns the upstream response now
    body.on_drop()
    assert released == [1]  # dropped without reading


def test_dropping_a_pending_future_cancels_the_request(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    future: concurrent.futures.Future[object] = concurrent.futures.Future()
    pending = PendingResponse(caller_state(bg_loop, tmp_path), future)  # type: ignore[arg-type]
    assert pending.get() is None and not pending.subscribe().ready()
    pending.on_drop()
    assert future.cancelled()


def test_an_untaken_response_is_released_when_the_future_is_dropped(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    released: list[int] = []

    async def no_body() -> bytes | None:
        return None

    state = caller_state(bg_loop, tmp_path)
    response = incoming_response(state, 204, [], no_body, lambda: released.append(1))
    future: concurrent.futures.Future[object] = concurrent.futures.Future()
    pending = PendingResponse(state, future)  # type: ignore[arg-type]
    future.set_result(response)
    assert pending.subscribe().ready()
    pending.on_drop()
    assert released == [1]


def test_dns_error_payload_is_lowered_as_a_record() -> None:
    code = error_code_from(OutboundError.dns("nope"))
    lowered = code.lower()
    assert isinstance(lowered, Variant) and lowered.tag == "DNS-error"
    assert vars(lowered.payload) == {"rcode": "address not available", "info-code": 0}
    assert error_code_from(OutboundError("no-such-case")).case == "internal-error"


# -- placement and the client span of refused requests ------------------------------------------


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def refused(
    bg_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    memory: InMemorySpanExporter,
    allowed: tuple[str, ...],
    request: OutgoingRequest,
    origin: SelfOrigin | None = None,
) -> object:
    state = caller_state(bg_loop, tmp_path, allowed)
    telemetry = configure({}, app_name="t", version="0", span_exporter=memory)
    prepare_execute(state, telemetry, None)
    host = OutboundHost()
    host.origin = origin
    future = RequestOutbound(state, host).send(request, None)
    return future.get()


def test_denied_request_resolves_at_once_with_an_error_span(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path, memory: InMemorySpanExporter
) -> None:
    request = OutgoingRequest(Fields(), "POST", "/x?y=1", "http", "example.com:8080")
    outcome = refused(bg_loop, tmp_path, memory, ("http://127.0.0.1:*",), request)
    assert outcome == ErrorCode.denied()
    (span,) = memory.get_finished_spans()
    assert span.name == "POST" and span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": "http://example.com:8080/x?y=1",
        "server.address": "example.com",
        "server.port": 8080,
        "error.type": "HTTP-request-denied",
    }


def test_an_empty_host_is_a_self_request(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path, memory: InMemorySpanExporter
) -> None:
    # The Spin Python SDK sends a relative URL as authority ":443"; it is a self request:
    # denied without a self entry, and URI-invalid while the server address is unknown.
    request = OutgoingRequest(Fields(), "GET", "/hello", "http", ":443")
    assert (
        refused(bg_loop, tmp_path, memory, ("http://127.0.0.1:*",), request) == ErrorCode.denied()
    )
    outcome = refused(bg_loop, tmp_path, memory, ("http://self",), request)
    assert outcome == ErrorCode("HTTP-request-URI-invalid")


def test_a_malformed_allowed_list_denies_everything(
    bg_loop: asyncio.AbstractEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = caller_state(bg_loop, tmp_path, ("http://{{ missing }}",))
    policy = policy_for(state.component)
    assert policy.rules == ()
    assert "allowed_outbound_hosts cannot be used" in caplog.text
    assert policy_for(state.component) is policy  # built once per component
