"""proxy: fetches an upstream URL for the caller (Spin Python SDK 3.4.1, world ``spin-http``).

Two routes, chosen by the request path (the query holds the parameters, URL-encoded):

* ``<METHOD> .../proxy?url=<URL>``: fetches ``URL`` with ``spin_sdk.http.send`` (the SDK's
  buffered client), sending the caller's method, ``content-type`` and body, and answers with
  the upstream status, headers and body.
* ``<any method> .../stream?url=<URL>[&connect_ms=N][&first_byte_ms=N][&between_ms=N][&buffer=1]``:
  the raw ``wasi:http`` path. The caller's method, headers (minus hop-by-hop ones, ``host`` and
  ``spin-*``) and body go upstream as they arrive (with ``content-length`` if the caller sent
  one, else chunked), with the given ``request-options`` timeouts (milliseconds); the upstream
  status and headers come back and the body is streamed through. ``buffer=1`` reads the
  whole upstream body before answering, so a failure in the middle of it still becomes a 502.

A URL without scheme and host (``/hello``) is a self request; ``http://self.alt/hello`` too.

Failures answer ``502`` with the header ``x-proxy-error: <case>``, where ``<case>`` is the
``error-code`` case as componentize-py names it without its ``ErrorCode_`` prefix
(``ConnectionRefused``, ``DnsError``, ``HttpRequestDenied``, ``ConnectionReadTimeout``, ...),
and the error's repr as the text body. Anything else is ``404``.
"""

from urllib.parse import parse_qs, urlsplit

from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.imports import outgoing_handler
from spin_sdk.wit.imports.streams import (
    InputStream,
    OutputStream,
    StreamError_Closed,
    StreamError_LastOperationFailed,
)
from spin_sdk.wit.imports.types import (
    Fields,
    FutureIncomingResponse,
    IncomingBody,
    IncomingRequest,
    IncomingResponse,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    RequestOptions,
    ResponseOutparam,
    Scheme_Http,
    Scheme_Https,
    http_error_code,
)
from spin_sdk.wit.types import Err, Ok

READ_CHUNK = 65536
NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "transfer-encoding",
        "upgrade",
        "host",
        "te",
        "trailer",
        "http2-settings",
    }
)
TIMEOUTS = (
    ("connect_ms", "set_connect_timeout"),
    ("first_byte_ms", "set_first_byte_timeout"),
    ("between_ms", "set_between_bytes_timeout"),
)


class ProxyError(Exception):
    """An upstream failure, reported to the caller as a 502."""

    def __init__(self, case: str, detail: str) -> None:
        super().__init__(detail)
        self.case = case


class IncomingHandler(http.IncomingHandler):
    """Dispatches on the path: ``/stream`` here, ``/proxy`` through the SDK's buffered path."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        """Run the raw streaming proxy, or let the SDK call `handle_request`."""
        path = (request.path_with_query() or "/").partition("?")[0]
        if not path.endswith("/stream"):
            super().handle(request, response_out)
            return
        try:
            stream_proxy(request, response_out, query_params(request.path_with_query()))
        except ProxyError as error:
            send(response_out, error_response(error))

    def handle_request(self, request: Request) -> Response:
        """``/proxy?url=...`` with ``spin_sdk.http.send``."""
        path, _, _ = request.uri.partition("?")
        if not path.endswith("/proxy"):
            return Response(404, {}, b"")
        url = query_params(request.uri).get("url", "")
        headers = {k: v for k, v in request.headers.items() if k == "content-type"}
        try:
            upstream = http.send(Request(request.method, url, headers, request.body))
        except Err as err:
            return error_response(as_proxy_error(err))
        return Response(upstream.status, dict(upstream.headers), upstream.body)


def query_params(target: str | None) -> dict[str, str]:
    """The query parameters of a request target (last value wins)."""
    query = (target or "").partition("?")[2]
    return {name: values[-1] for name, values in parse_qs(query).items()}


def as_proxy_error(err: Err) -> ProxyError:
    """A `ProxyError` for an `Err` raised by the bindings (error-code or stream error)."""
    value = err.value
    if isinstance(value, StreamError_LastOperationFailed):
        code = http_error_code(value.value)
        if code is not None:
            value = code
    if isinstance(value, StreamError_Closed):
        return ProxyError("Closed", "stream closed")
    return ProxyError(type(value).__name__.removeprefix("ErrorCode_"), repr(value))


def error_response(error: ProxyError) -> Response:
    """``502`` naming the error-code case."""
    headers = {"content-type": "text/plain; charset=utf-8", "x-proxy-error": error.case}
    return Response(502, headers, str(error).encode())


def stream_proxy(
    request: IncomingRequest, response_out: ResponseOutparam, params: dict[str, str]
) -> None:
    """The ``/stream`` route (see the module docstring)."""
    outgoing = outgoing_request(request, params.get("url", ""))
    out_body = outgoing.body()
    future = outgoing_handler.handle(outgoing, request_options(params))
    copy_body(request.consume(), out_body)
    response = await_response(future)
    headers = response.headers().entries()
    if params.get("buffer") == "1":
        body = read_all(response.consume())
        kept = [(n, v) for n, v in headers if n != "content-length"]
        kept.append(("content-length", str(len(body)).encode()))
        send(response_out, (response.status(), kept, body))
        return
    answer = OutgoingResponse(Fields.from_list(headers))
    answer.set_status_code(response.status())
    answer_body = answer.body()
    ResponseOutparam.set(response_out, Ok(answer))
    pipe(response.consume(), answer_body)  # a failure cuts the caller's response short


def outgoing_request(request: IncomingRequest, url: str) -> OutgoingRequest:
    """The upstream request: the caller's method and forwardable headers, aimed at `url`."""
    headers = [
        (name, value)
        for name, value in request.headers().entries()
        if name not in NOT_FORWARDED and not name.startswith("spin-")
    ]
    outgoing = OutgoingRequest(Fields.from_list(headers))
    outgoing.set_method(request.method())
    parts = urlsplit(url)
    if parts.scheme:
        outgoing.set_scheme(Scheme_Https() if parts.scheme == "https" else Scheme_Http())
    if parts.netloc:
        outgoing.set_authority(parts.netloc)
    outgoing.set_path_with_query((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    return outgoing


def request_options(params: dict[str, str]) -> RequestOptions:
    """`request-options` with the timeouts given in milliseconds."""
    options = RequestOptions()
    for name, setter in TIMEOUTS:
        if name in params:
            getattr(options, setter)(int(float(params[name]) * 1_000_000))
    return options


def copy_body(source: IncomingBody, sink: OutgoingBody) -> None:
    """Stream the caller's body upstream. If either side fails, the upstream body is dropped
    unfinished (the host then aborts the request); the response future says why."""
    pipe(source, sink)


def pipe(source: IncomingBody, sink: OutgoingBody) -> bool:
    """Copy a body to the end and finish the sink; on a failure, drop the sink unfinished (the
    host treats that as a corrupted body) and return False."""
    src = source.stream()
    dst = sink.write()
    try:
        while (chunk := read_chunk(src)) is not None:
            write_all(dst, chunk)
    except Err:
        for resource in (src, dst, source, sink):
            resource.__exit__(None, None, None)
        return False
    src.__exit__(None, None, None)
    IncomingBody.finish(source)
    dst.__exit__(None, None, None)
    OutgoingBody.finish(sink, None)
    return True


def await_response(future: FutureIncomingResponse) -> IncomingResponse:
    """Block until the response head arrives; `ProxyError` if the request failed."""
    pollable = future.subscribe()
    pollable.block()
    pollable.__exit__(None, None, None)
    outcome = future.get()
    future.__exit__(None, None, None)
    if outcome is None or not isinstance(outcome, Ok):
        raise ProxyError("NoResponse", repr(outcome))
    inner = outcome.value
    if isinstance(inner, Ok):
        return inner.value
    raise as_proxy_error(inner)


def read_chunk(stream: InputStream) -> bytes | None:
    """The next chunk of an input stream, None at its end; raises `Err` if it failed."""
    try:
        return stream.blocking_read(READ_CHUNK)
    except Err as err:
        if isinstance(err.value, StreamError_Closed):
            return None
        raise


def write_all(stream: OutputStream, data: bytes) -> None:
    """Write all of `data`, waiting whenever the stream asks for it (backpressure)."""
    offset = 0
    while offset < len(data):
        permit = stream.check_write()
        if permit == 0:
            pollable = stream.subscribe()
            pollable.block()
            pollable.__exit__(None, None, None)
            continue
        stream.write(data[offset : offset + permit])
        offset += permit


def read_all(body: IncomingBody) -> bytes:
    """The whole upstream body; `ProxyError` if reading it failed."""
    stream = body.stream()
    data = bytearray()
    try:
        while (chunk := read_chunk(stream)) is not None:
            data += chunk
    except Err as err:
        raise as_proxy_error(err) from None
    stream.__exit__(None, None, None)
    IncomingBody.finish(body)
    return bytes(data)


Whole = tuple[int, list[tuple[str, bytes]], bytes]


def send(response_out: ResponseOutparam, response: Response | Whole) -> None:
    """Answer with a whole response: a `Response`, or (status, header entries, body)."""
    if isinstance(response, Response):
        entries = [(n, v.encode()) for n, v in response.headers.items()]
        status, body = response.status, response.body or b""
    else:
        status, entries, body = response
    entries = [(n, v) for n, v in entries if n != "content-length"]
    entries.append(("content-length", str(len(body)).encode()))
    answer = OutgoingResponse(Fields.from_list(entries))
    answer.set_status_code(status)
    answer_body = answer.body()
    ResponseOutparam.set(response_out, Ok(answer))
    stream = answer_body.write()
    write_all(stream, body)
    stream.__exit__(None, None, None)
    OutgoingBody.finish(answer_body, None)
