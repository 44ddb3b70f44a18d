"""The echo component: plain wasi:http/proxy world, raw bindings (``wit_world``), no Spin SDK.

Two behaviours, chosen by the request path (query string ignored):

* path ending in ``/json``: reads the whole body, waits for the request trailers, and answers
  ``200`` ``application/json`` describing what the guest saw::

      {"method": "POST", "path_with_query": "/a/json?x=1", "scheme": "http",
       "authority": "127.0.0.1:3000", "headers": [["name", "value"], ...],
       "body_length": 3, "trailers": [["name", "value"], ...] or null}

  Header and trailer values are decoded as latin-1, so every byte maps to one character.
* any other path: streams the request body back as the response body, chunk by chunk
  (blocking-read, then blocking-write-and-flush in chunks of at most 4096 bytes). The response
  is set before the body is read, so it starts before the upload ends. Response headers:
  ``x-echo-method: <METHOD>``, plus the request's ``content-type`` when it had one. With the
  request header ``x-echo-trailers: 1`` the response also has the header
  ``trailer: x-trailer, x-echo-bytes`` and carries trailers ``x-trailer: done`` and
  ``x-echo-bytes: <bytes echoed>``.

In both modes a request header ``x-echo-status: <code>`` sets the response status (default 200).
"""

import json

import proxy_io
from wit_world import exports
from wit_world.imports.types import IncomingBody, IncomingRequest, ResponseOutparam


class IncomingHandler(exports.IncomingHandler):
    """Echoes the request: described as JSON, or its body streamed back."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        """Dispatch on the path: ``.../json`` describes the request, anything else echoes it."""
        headers = request_headers(request)
        if proxy_io.path_of(request).endswith("/json"):
            describe(request, headers, response_out)
        else:
            stream_back(request, headers, response_out)


def request_headers(request: IncomingRequest) -> proxy_io.Headers:
    """The request's header entries (the headers resource is dropped right away)."""
    fields = request.headers()
    entries = fields.entries()
    fields.__exit__(None, None, None)
    return entries


def header(headers: proxy_io.Headers, name: str) -> bytes | None:
    """The first value of a header (names compared case-insensitively), or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def status_of(headers: proxy_io.Headers) -> int:
    """The status asked for with ``x-echo-status``, else 200."""
    value = header(headers, "x-echo-status")
    return int(value) if value else 200


def as_pairs(entries: proxy_io.Headers) -> list[list[str]]:
    """Header entries as JSON-ready ``[name, value]`` pairs (values decoded as latin-1)."""
    return [[name, value.decode("latin-1")] for name, value in entries]


def describe(
    request: IncomingRequest, headers: proxy_io.Headers, response_out: ResponseOutparam
) -> None:
    """Answer with a JSON description of the request, its body length and its trailers."""
    data, trailers = proxy_io.read_body(request)
    report = {
        "method": proxy_io.method_name(request.method()),
        "path_with_query": request.path_with_query(),
        "scheme": proxy_io.scheme_name(request.scheme()),
        "authority": request.authority(),
        "headers": as_pairs(headers),
        "body_length": len(data),
        "trailers": None if trailers is None else as_pairs(trailers),
    }
    content_type = [("content-type", b"application/json")]
    proxy_io.send(response_out, status_of(headers), content_type, json.dumps(report).encode())


def stream_back(
    request: IncomingRequest, headers: proxy_io.Headers, response_out: ResponseOutparam
) -> None:
    """Start the response, then copy the request body into it chunk by chunk."""
    method = proxy_io.method_name(request.method())
    reply = [("x-echo-method", method.encode())]
    content_type = header(headers, "content-type")
    if content_type is not None:
        reply.append(("content-type", content_type))
    send_trailers = header(headers, "x-echo-trailers") == b"1"
    if send_trailers:
        reply.append(("trailer", b"x-trailer, x-echo-bytes"))
    body_out, stream_out = proxy_io.start_response(response_out, status_of(headers), reply)

    body_in = request.consume()
    stream_in = body_in.stream()
    echoed = 0
    for chunk in proxy_io.read_chunks(stream_in):
        proxy_io.write_all(stream_out, chunk)
        echoed += len(chunk)
    stream_in.__exit__(None, None, None)
    IncomingBody.finish(body_in).__exit__(None, None, None)

    trailers = None
    if send_trailers:
        trailers = [("x-trailer", b"done"), ("x-echo-bytes", str(echoed).encode())]
    proxy_io.finish_body(body_out, stream_out, trailers)
