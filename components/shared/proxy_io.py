"""Small helpers over the raw wasi:http 0.2.0 bindings, shared by the proxy-world components.

componentize-py generates the ``wit_world`` bindings module at build time, so this module only
exists inside a component build (components/build.py copies it next to the app). It keeps each
component's ``app.py`` down to its behaviour: reading a whole body, writing bytes in chunks that
``blocking-write-and-flush`` accepts, sending a complete response.
"""

from collections.abc import Iterator

from wit_world.imports import streams
from wit_world.imports.types import (
    Fields,
    IncomingBody,
    IncomingRequest,
    Method,
    Method_Other,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
    Scheme,
    Scheme_Http,
    Scheme_Https,
)
from wit_world.types import Err, Ok

# blocking-write-and-flush accepts at most this many bytes per call (wasi:io 0.2.0).
WRITE_CHUNK = 4096
# How much to ask for per read of an incoming body.
READ_CHUNK = 65536

Headers = list[tuple[str, bytes]]


def method_name(method: Method) -> str:
    """The HTTP method as text: ``Method_Get`` -> ``GET``; ``other(s)`` -> ``s``."""
    if isinstance(method, Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


def scheme_name(scheme: Scheme | None) -> str | None:
    """The scheme as text (``http``, ``https``, an other value), or None when absent."""
    if scheme is None:
        return None
    if isinstance(scheme, Scheme_Http):
        return "http"
    if isinstance(scheme, Scheme_Https):
        return "https"
    return scheme.value


def path_of(request: IncomingRequest) -> str:
    """The request path without its query string (``/`` when the host gives none)."""
    return (request.path_with_query() or "/").partition("?")[0]


def query_of(request: IncomingRequest) -> str:
    """The raw query string, without the ``?`` (empty when there is none)."""
    return (request.path_with_query() or "").partition("?")[2]


def is_closed(error: Err[streams.StreamError]) -> bool:
    """True when a stream error is the normal end of stream, not a failure."""
    return isinstance(error.value, streams.StreamError_Closed)


def read_chunks(stream: streams.InputStream, size: int = READ_CHUNK) -> Iterator[bytes]:
    """Yield the chunks of an input stream until it is closed (blocking-read in a loop)."""
    while True:
        try:
            chunk = stream.blocking_read(size)
        except Err as error:
            if is_closed(error):
                return
            raise
        if chunk:
            yield chunk


def write_all(stream: streams.OutputStream, data: bytes) -> None:
    """Write ``data`` with blocking-write-and-flush, in chunks of at most 4096 bytes."""
    view = memoryview(data)
    for start in range(0, len(view), WRITE_CHUNK):
        stream.blocking_write_and_flush(bytes(view[start : start + WRITE_CHUNK]))


def read_body(request: IncomingRequest) -> tuple[bytes, Headers | None]:
    """Read a request's whole body, then wait for its trailers (None when there were none)."""
    body = request.consume()
    stream = body.stream()
    data = b"".join(read_chunks(stream))
    stream.__exit__(None, None, None)
    return data, wait_trailers(body)


def wait_trailers(body: IncomingBody) -> Headers | None:
    """Finish an incoming body whose stream is dropped; block until its trailers arrive."""
    future = IncomingBody.finish(body)
    pollable = future.subscribe()
    pollable.block()
    pollable.__exit__(None, None, None)
    outcome = future.get()
    if outcome is None or isinstance(outcome, Err):
        raise RuntimeError("future-trailers not ready after its pollable was ready")
    inner = outcome.value
    if isinstance(inner, Err):
        raise RuntimeError(f"request body failed: {inner.value!r}")
    entries = None
    if inner.value is not None:
        entries = inner.value.entries()
        inner.value.__exit__(None, None, None)  # a child of the future: drop it first
    future.__exit__(None, None, None)
    return entries


def start_response(
    response_out: ResponseOutparam, status: int, headers: Headers
) -> tuple[OutgoingBody, streams.OutputStream]:
    """Set the response (status, headers) and return its body with the body's output stream."""
    response = OutgoingResponse(Fields.from_list(headers))
    response.set_status_code(status)
    body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    return body, body.write()


def finish_body(
    body: OutgoingBody, stream: streams.OutputStream, trailers: Headers | None = None
) -> None:
    """Drop the body's stream, then finish the body, with trailers when given."""
    stream.__exit__(None, None, None)
    OutgoingBody.finish(body, Fields.from_list(trailers) if trailers is not None else None)


def send(response_out: ResponseOutparam, status: int, headers: Headers, data: bytes) -> None:
    """Send a complete response: status, headers (content-length added) and the body."""
    headers = [*headers, ("content-length", str(len(data)).encode())]
    body, stream = start_response(response_out, status, headers)
    write_all(stream, data)
    finish_body(body, stream)


def send_text(response_out: ResponseOutparam, status: int, text: str) -> None:
    """Send a complete ``text/plain`` response."""
    send(response_out, status, [("content-type", b"text/plain; charset=utf-8")], text.encode())
