"""`wasi:http/types` and `outgoing-handler` host functions, called directly.

Every call goes through `HttpHost`, which lowers the returned value with the function's real WIT
type (wasmtime-py's own conversion code), so a wrongly shaped `result`/`option`/`variant` fails
here. The first test links the interfaces against a component importing all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import wasmtime
from wasmtime.component import Component, Record, Variant

from spin_py.host.channels import ByteChannel, BytesInputStream
from spin_py.host.pollable import Pollable
from spin_py.host.streams import IoError, StreamClosed, StreamFailed
from spin_py.runtime.composition import WASI_IO, AddToLinker, build_linker
from spin_py.runtime.engine import get_engine
from spin_py.wasi.http import outgoing, types
from spin_py.wasi.http.body import (
    BodyAborted,
    BodyReader,
    FutureTrailers,
    IncomingBody,
    OutgoingBody,
    TrailersOutcome,
)
from spin_py.wasi.http.errors import ErrorCode, field_size_payload
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.kinds import (
    FIELDS,
    FUTURE_INCOMING_RESPONSE,
    FUTURE_TRAILERS,
    INCOMING_BODY,
    INCOMING_REQUEST,
    IO_ERROR,
    OUTGOING_RESPONSE,
    RESPONSE_OUTPARAM,
)
from spin_py.wasi.http.request import IncomingRequest, OutgoingRequest, RequestOptions
from spin_py.wasi.http.response import (
    FutureIncomingResponse,
    OutgoingResponse,
    ResponseHead,
    ResponseOutparam,
    ResponseSink,
)
from tests.support.http_host import WAT, HttpHost, imports_component

T = TypeVar("T")

HTTP_MODULES: tuple[AddToLinker, ...] = (
    *WASI_IO,
    types.add_to_linker,
    outgoing.add_to_linker,
)


@pytest.fixture
def host() -> HttpHost:
    return HttpHost()


def fields_handle(host: HttpHost, *entries: tuple[str, bytes]) -> object:
    return host.call("[static]fields.from-list", list(entries))


@pytest.mark.parametrize("version", ["0.2.0", "0.2.3", "0.2.6"])
def test_every_import_links_with_matching_types(version: str) -> None:
    """All of wasi:http/types and outgoing-handler, imported at 0.2.0 ... 0.2.6, link."""
    linker = build_linker(get_engine(), HTTP_MODULES)
    store = wasmtime.Store(get_engine())
    text = WAT.read_text().replace("@0.2.0", f"@{version}")
    component = imports_component() if version == "0.2.0" else Component(get_engine(), text)
    linker.instantiate(store, component)  # raises on a missing or mistyped import


# -- fields ------------------------------------------------------------------------------------


def test_fields_round_trip(host: HttpHost) -> None:
    handle = host.call("[constructor]fields")
    assert host.call("[method]fields.append", handle, "X-A", b"1") is None
    assert host.call("[method]fields.set", handle, "x-b", [b"2", b"3"]) is None
    assert host.call("[method]fields.get", handle, "x-b") == [b"2", b"3"]
    assert host.call("[method]fields.has", handle, "X-B") is True
    assert host.call("[method]fields.has", handle, "x-c") is False
    assert host.call("[method]fields.delete", handle, "x-a") is None
    assert host.call("[method]fields.entries", handle) == [("x-b", b"2"), ("x-b", b"3")]
    clone = host.call("[method]fields.clone", handle)
    host.call("[method]fields.append", clone, "x-c", b"4")
    assert host.call("[method]fields.entries", handle) == [("x-b", b"2"), ("x-b", b"3")]


@pytest.mark.parametrize(
    ("entries", "case"),
    [([("a b", b"v")], "invalid-syntax"), ([("upgrade", b"h2c")], "forbidden")],
)
def test_from_list_errors_are_header_error_variants(
    host: HttpHost, entries: list[tuple[str, bytes]], case: str
) -> None:
    result = host.call("[static]fields.from-list", entries)
    assert result == Variant(case)
    assert host.lower("[static]fields.from-list", result) == Variant(case)


def test_mutation_errors_are_header_error_variants(host: HttpHost) -> None:
    handle = fields_handle(host, ("x", b"1"))
    assert host.call("[method]fields.append", handle, "x", b"bad\n") == Variant("invalid-syntax")
    assert host.call("[method]fields.set", handle, "host", [b"h"]) == Variant("forbidden")
    assert host.call("[method]fields.delete", handle, "bad name") == Variant("invalid-syntax")
    view = host.push(Fields.trusted([("x", b"1")]), FIELDS)
    assert host.call("[method]fields.append", view, "y", b"2") == Variant("immutable")
    assert host.call("[method]fields.set", view, "y", [b"2"]) == Variant("immutable")
    assert host.call("[method]fields.delete", view, "x") == Variant("immutable")


# -- incoming-request --------------------------------------------------------------------------


def incoming(host: HttpHost, method: str = "GET", scheme: str | None = "http") -> object:
    body = IncomingBody(BytesInputStream(b"hello"), FutureTrailers.ready)
    request = IncomingRequest(
        method=method,
        path_with_query="/a/b?c=d",
        scheme=scheme,
        authority="example.com:3000",
        headers=Fields.trusted([("Host", b"example.com:3000"), ("x-a", b"1")]),
        body=body,
    )
    return host.push(request, INCOMING_REQUEST)


@pytest.mark.parametrize(
    ("method", "lowered"),
    [("GET", Variant("get")), ("PATCH", Variant("patch")), ("PURGE", Variant("other", "PURGE"))],
)
def test_incoming_method(host: HttpHost, method: str, lowered: Variant) -> None:
    result = host.call("[method]incoming-request.method", incoming(host, method))
    assert host.lower("[method]incoming-request.method", result) == lowered


@pytest.mark.parametrize(
    ("scheme", "lowered"),
    [
        ("http", Variant("HTTP")),
        ("https", Variant("HTTPS")),
        ("ws", Variant("other", "ws")),
        (None, None),
    ],
)
def test_incoming_scheme(host: HttpHost, scheme: str | None, lowered: Variant | None) -> None:
    result = host.call("[method]incoming-request.scheme", incoming(host, scheme=scheme))
    assert host.lower("[method]incoming-request.scheme", result) == lowered


def test_incoming_request_getters(host: HttpHost) -> None:
    request = incoming(host)
    assert host.call("[method]incoming-request.path-with-query", request) == "/a/b?c=d"
    assert host.call("[method]incoming-request.authority", request) == "example.com:3000"
    headers = host.call("[method]incoming-request.headers", request)
    assert host.call("[method]fields.entries", headers) == [
        ("host", b"example.com:3000"),
        ("x-a", b"1"),
    ]
    assert host.call("[method]fields.append", headers, "x-b", b"2") == Variant("immutable")


def test_incoming_body_streams_once_then_trailers_once(host: HttpHost) -> None:
    request = incoming(host)
    body = host.call("[method]incoming-request.consume", request)
    assert host.call("[method]incoming-request.consume", request) is None  # err: consumed
    stream = host.call("[method]incoming-body.stream", body)
    assert host.obj(stream).read(100) == b"hello"  # type: ignore[attr-defined]
    assert host.call("[method]incoming-body.stream", body) is None  # err: taken
    future = host.call("[static]incoming-body.finish", body)
    pollable = host.call("[method]future-trailers.subscribe", future)
    assert isinstance(host.obj(pollable), Pollable) and host.obj(pollable).ready()  # type: ignore[attr-defined]
    first = host.call("[method]future-trailers.get", future)
    assert host.lower("[method]future-trailers.get", first) == Variant("ok", None)
    second = host.call("[method]future-trailers.get", future)
    assert host.lower("[method]future-trailers.get", second) == Variant("err")


def test_future_trailers_pending_then_with_fields(host: HttpHost) -> None:
    outcome: list[TrailersOutcome] = []
    future = host.push(FutureTrailers(lambda: outcome[0] if outcome else None), FUTURE_TRAILERS)
    assert host.call("[method]future-trailers.get", future) is None  # none: pending
    outcome.append(TrailersOutcome(Fields.from_guest([("x-t", b"done")])))
    result = host.call("[method]future-trailers.get", future)
    trailers = result.payload
    assert host.call("[method]fields.get", trailers, "x-t") == [b"done"]
    assert host.call("[method]fields.append", trailers, "x", b"1") == Variant("immutable")


def test_future_trailers_error_is_an_error_code(host: HttpHost) -> None:
    # Lowering `err` here needs spin_py.runtime.wasmtime_patches (installed by get_engine()).
    failed = TrailersOutcome(error=ErrorCode.connection_terminated())
    future = host.push(FutureTrailers.ready(failed), FUTURE_TRAILERS)
    result = host.call("[method]future-trailers.get", future)
    assert host.lower("[method]future-trailers.get", result) == Variant(
        "ok", Variant("connection-terminated")
    )


# -- outgoing-request and request-options ------------------------------------------------------


def test_outgoing_request_defaults_and_setters(host: HttpHost) -> None:
    request = host.call("[constructor]outgoing-request", fields_handle(host, ("x", b"1")))
    assert host.call("[method]outgoing-request.method", request) == Variant("get")
    assert host.call("[method]outgoing-request.path-with-query", request) is None
    assert host.call("[method]outgoing-request.scheme", request) is None
    assert host.call("[method]outgoing-request.authority", request) is None
    ok, err = Variant("ok"), Variant("err")
    assert host.call("[method]outgoing-request.set-method", request, Variant("post")) == ok
    assert (
        host.call("[method]outgoing-request.set-method", request, Variant("other", "BAD METHOD"))
        == err
    )
    assert host.call("[method]outgoing-request.method", request) == Variant("post")
    assert host.call("[method]outgoing-request.set-path-with-query", request, "/x?y=1") == ok
    assert host.call("[method]outgoing-request.set-path-with-query", request, "/a b") == err
    assert host.call("[method]outgoing-request.set-scheme", request, Variant("HTTPS")) == ok
    assert host.call("[method]outgoing-request.set-scheme", request, Variant("other", "1x")) == err
    assert host.call("[method]outgoing-request.set-authority", request, "example.com:8080") == ok
    assert host.call("[method]outgoing-request.set-authority", request, "a/b") == err
    assert host.call("[method]outgoing-request.path-with-query", request) == "/x?y=1"
    assert host.call("[method]outgoing-request.scheme", request) == Variant("HTTPS")
    assert host.call("[method]outgoing-request.authority", request) == "example.com:8080"
    headers = host.call("[method]outgoing-request.headers", request)
    assert host.call("[method]fields.set", headers, "x", [b"2"]) == Variant("immutable")


def test_outgoing_request_body_once_and_invalid_length(host: HttpHost) -> None:
    request = host.call("[constructor]outgoing-request", fields_handle(host))
    body = host.call("[method]outgoing-request.body", request)
    assert isinstance(host.obj(body), OutgoingBody)
    assert host.call("[method]outgoing-request.body", request) is None
    bad = host.call("[constructor]outgoing-request", fields_handle(host, ("content-length", b"x")))
    assert host.call("[method]outgoing-request.body", bad) is None


def test_request_options(host: HttpHost) -> None:
    options = host.call("[constructor]request-options")
    for name in ("connect-timeout", "first-byte-timeout", "between-bytes-timeout"):
        assert host.call(f"[method]request-options.{name}", options) is None
        assert host.call(f"[method]request-options.set-{name}", options, 5_000_000) == Variant("ok")
        assert host.call(f"[method]request-options.{name}", options) == 5_000_000
    assert host.obj(options) == RequestOptions(5_000_000, 5_000_000, 5_000_000)


# -- outgoing-response, response-outparam ------------------------------------------------------


def run(host: HttpHost, awaitable: Awaitable[T]) -> T:
    """Run `awaitable` on the request's event loop (not running otherwise in these tests)."""
    return host.state.loop.run_until_complete(awaitable)


def new_sink(host: HttpHost) -> ResponseSink:
    return host.state.loop.create_future()


def read_body(host: HttpHost, reader: BodyReader) -> tuple[bytes, ErrorCode | None]:
    """Every byte of a finished or aborted body, and the error-code that aborted it."""
    out = bytearray()
    try:
        while (data := run(host, reader.read())) is not None:
            out += data
    except BodyAborted as aborted:
        return bytes(out), aborted.code
    return bytes(out), None


def test_outgoing_response_status_headers_body(host: HttpHost) -> None:
    response = host.call("[constructor]outgoing-response", fields_handle(host, ("x", b"1")))
    assert host.call("[method]outgoing-response.status-code", response) == 200
    assert host.call("[method]outgoing-response.set-status-code", response, 404) == Variant("ok")
    assert host.call("[method]outgoing-response.set-status-code", response, 99) == Variant("err")
    assert host.call("[method]outgoing-response.set-status-code", response, 1000) == Variant("err")
    assert host.call("[method]outgoing-response.status-code", response) == 404
    headers = host.call("[method]outgoing-response.headers", response)
    assert host.call("[method]fields.get", headers, "x") == [b"1"]
    assert host.call("[method]fields.delete", headers, "x") == Variant("immutable")
    body = host.call("[method]outgoing-response.body", response)
    assert isinstance(host.obj(body), OutgoingBody)
    assert host.call("[method]outgoing-response.body", response) is None


def test_response_body_owns_its_channel(host: HttpHost) -> None:
    response = host.call("[constructor]outgoing-response", fields_handle(host))
    body = host.obj(host.call("[method]outgoing-response.body", response))
    assert isinstance(body, OutgoingBody)
    stream = body.take_stream()
    assert isinstance(stream, ByteChannel)
    stream.write(b"hello")
    assert run(host, body.reader.read()) == b"hello"


def test_response_outparam_set_delivers_one_message(host: HttpHost) -> None:
    sink = new_sink(host)
    param = host.push(ResponseOutparam(sink), RESPONSE_OUTPARAM)
    response = host.call("[constructor]outgoing-response", fields_handle(host, ("x", b"1")))
    host.call("[method]outgoing-response.set-status-code", response, 201)
    body = host.obj(host.call("[method]outgoing-response.body", response))
    host.call("[static]response-outparam.set", param, response)
    assert host.state.table.peek(response.rep) is None  # ownership moved to the host
    head = run(host, sink)
    assert isinstance(head, ResponseHead) and isinstance(body, OutgoingBody)
    assert (head.status, head.headers, head.body) == (201, [("x", b"1")], body.reader)


def test_response_outparam_set_with_error_and_without_body(host: HttpHost) -> None:
    sink = new_sink(host)
    param = host.push(ResponseOutparam(sink), RESPONSE_OUTPARAM)
    host.call("[static]response-outparam.set", param, Variant("internal-error", "boom"))
    assert run(host, sink) == ErrorCode("internal-error", "boom")

    sink = new_sink(host)
    param = host.push(ResponseOutparam(sink), RESPONSE_OUTPARAM)
    response = host.call("[constructor]outgoing-response", fields_handle(host))
    host.call("[static]response-outparam.set", param, response)
    assert run(host, sink) == ResponseHead(200, [], None)


def test_send_informational_is_not_supported(host: HttpHost) -> None:
    param = host.push(ResponseOutparam(new_sink(host)), RESPONSE_OUTPARAM)
    result = host.call(
        "[method]response-outparam.send-informational", param, 103, fields_handle(host)
    )
    assert result.tag == "internal-error"
    result = host.call(
        "[method]response-outparam.send-informational", param, 200, fields_handle(host)
    )
    assert result == Variant("HTTP-protocol-error")


# -- outgoing-body -----------------------------------------------------------------------------


def response_body(host: HttpHost, *headers: tuple[str, bytes]) -> tuple[Any, BodyReader]:
    """An `outgoing-body` handle of a new response, and the reader end of its channel."""
    response = host.call("[constructor]outgoing-response", fields_handle(host, *headers))
    body = host.call("[method]outgoing-response.body", response)
    return body, host.obj(body).reader  # type: ignore[attr-defined]


def test_outgoing_body_write_once_finish_with_trailers(host: HttpHost) -> None:
    body, reader = response_body(host)
    stream = host.call("[method]outgoing-body.write", body)
    assert host.call("[method]outgoing-body.write", body) is None
    host.obj(stream).write(b"abc")  # type: ignore[attr-defined]
    trailers = fields_handle(host, ("x-t", b"1"))
    assert host.call("[static]outgoing-body.finish", body, trailers) is None
    assert read_body(host, reader) == (b"abc", None)
    assert reader.trailers is not None and reader.trailers.entries() == [("x-t", b"1")]
    assert not reader.trailers.mutable
    with pytest.raises(StreamClosed):  # finishing ends the body's stream
        host.obj(stream).write(b"more")  # type: ignore[attr-defined]


def test_outgoing_body_short_of_content_length(host: HttpHost) -> None:
    body, reader = response_body(host, ("content-length", b"5"))
    stream = host.call("[method]outgoing-body.write", body)
    host.obj(stream).write(b"abc")  # type: ignore[attr-defined]
    result = host.call("[static]outgoing-body.finish", body, None)
    assert result == Variant("HTTP-response-body-size", 3)
    assert read_body(host, reader) == (b"abc", ErrorCode.response_body_size(3))


def test_outgoing_body_past_content_length_fails_the_stream(host: HttpHost) -> None:
    body, reader = response_body(host, ("content-length", b"2"))
    stream = host.obj(host.call("[method]outgoing-body.write", body))
    with pytest.raises(StreamFailed) as failed:
        stream.write(b"abc")  # type: ignore[attr-defined]
    error_handle = host.push(failed.value.error, IO_ERROR)
    code = host.call("http-error-code", error_handle)
    assert code == Variant("HTTP-response-body-size", 3)
    assert read_body(host, reader) == (b"", ErrorCode.response_body_size(3))


def test_outgoing_body_exact_content_length_finishes(host: HttpHost) -> None:
    body, reader = response_body(host, ("content-length", b"3"))
    host.obj(host.call("[method]outgoing-body.write", body)).write(b"abc")  # type: ignore[attr-defined]
    assert host.call("[static]outgoing-body.finish", body, None) is None
    assert read_body(host, reader) == (b"abc", None) and reader.trailers is None


def test_dropping_an_unfinished_body_aborts(host: HttpHost) -> None:
    body, reader = response_body(host)
    host.state.table.drop(body.rep)  # what the resource destructor does
    assert read_body(host, reader) == (b"", ErrorCode.protocol())


def test_invalid_content_length_makes_body_fail(host: HttpHost) -> None:
    response = host.call(
        "[constructor]outgoing-response", fields_handle(host, ("content-length", b"-1"))
    )
    assert host.call("[method]outgoing-response.body", response) is None


# -- http-error-code, error-code payloads ------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (ErrorCode.denied(), Variant("HTTP-request-denied")),
        (ValueError("not http"), None),
        (None, None),
    ],
)
def test_http_error_code(host: HttpHost, detail: object, expected: Variant | None) -> None:
    handle = host.push(IoError("x", detail), IO_ERROR)
    assert host.lower("http-error-code", host.call("http-error-code", handle)) == expected


def _record(**values: object) -> Record:
    record = Record()
    for name, value in values.items():
        setattr(record, name, value)
    return record


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.internal(None),
        ErrorCode.internal("why"),
        ErrorCode.request_body_size(None),
        ErrorCode("HTTP-request-header-size", field_size_payload("x-big", 9000)),
        ErrorCode("HTTP-request-header-size", None),
        ErrorCode("HTTP-response-trailer-size", field_size_payload(None, None)),
        ErrorCode("DNS-error", _record(rcode="NXDOMAIN", **{"info-code": 3})),
    ],
)
def test_error_codes_with_payloads_lower(host: HttpHost, code: ErrorCode) -> None:
    handle = host.push(IoError("x", code), IO_ERROR)
    lifted = host.lower("http-error-code", host.call("http-error-code", handle))
    assert lifted.tag == code.case
    if isinstance(code.payload, Record):
        assert vars(lifted.payload) == vars(code.payload)
    else:
        assert lifted.payload == code.payload


def test_error_code_rejects_unknown_cases() -> None:
    with pytest.raises(ValueError):
        ErrorCode("no-such-case")


# -- outgoing-handler --------------------------------------------------------------------------


def test_outgoing_handle_is_denied_through_the_future(
    host: HttpHost, caplog: pytest.LogCaptureFixture
) -> None:
    request = host.call("[constructor]outgoing-request", fields_handle(host))
    host.call("[method]outgoing-request.set-authority", request, "example.com")
    host.call("[method]outgoing-request.set-scheme", request, Variant("HTTP"))
    with caplog.at_level(logging.ERROR):
        future = host.call("handle", request, None)
    assert "Outbound network destination not allowed: http://example.com" in caplog.text
    assert isinstance(host.obj(future), FutureIncomingResponse)
    pollable = host.call("[method]future-incoming-response.subscribe", future)
    assert host.obj(pollable).ready()  # type: ignore[attr-defined]
    first = host.call("[method]future-incoming-response.get", future)
    # option<result<result<own<incoming-response>, error-code>>>: the option is tagged, both
    # results are not (some(ok(err(denied))) is the bare error-code inside `some`).
    assert host.lower("[method]future-incoming-response.get", first) == Variant(
        "some", Variant("HTTP-request-denied")
    )
    second = host.call("[method]future-incoming-response.get", future)
    assert host.lower("[method]future-incoming-response.get", second) == Variant("some", None)


def test_outgoing_handle_takes_options(host: HttpHost) -> None:
    request = host.call("[constructor]outgoing-request", fields_handle(host))
    options = host.call("[constructor]request-options")
    host.call("handle", request, options)
    assert host.state.table.peek(options.rep) is None
    assert host.state.table.peek(request.rep) is None


def test_pending_future_incoming_response_is_none(host: HttpHost) -> None:
    future = host.push(FutureIncomingResponse(lambda: None), FUTURE_INCOMING_RESPONSE)
    assert host.call("[method]future-incoming-response.get", future) == Variant("none")
    assert not host.obj(host.call("[method]future-incoming-response.subscribe", future)).ready()  # type: ignore[attr-defined]


def test_outgoing_request_object_defaults() -> None:
    request = OutgoingRequest(Fields())
    assert request.method == "GET" and not request.headers.mutable


def test_outgoing_response_object_freezes_headers() -> None:
    response = OutgoingResponse(Fields())
    assert not response.headers.mutable


def test_incoming_body_object_once() -> None:
    body = IncomingBody(BytesInputStream(b""), FutureTrailers.ready)
    assert body.take_stream() is not None and body.take_stream() is None


def test_kinds_are_distinct() -> None:
    assert len({FIELDS.tag, INCOMING_BODY.tag, OUTGOING_RESPONSE.tag}) == 3
