"""Responses that carry exactly the headers spin-py was asked to send.

aiohttp adds two headers of its own when a response is prepared: `Server: Python/x aiohttp/y`
always, and `Content-Type: application/octet-stream` when a non-empty body has no content type.
Spin adds neither, and Spin's conformance suite fails on any header beyond the ones configured plus
`content-length`, `date` and `transfer-encoding`. So every response built here records whether its
content type was authored, and `strip_added_headers` (an `on_response_prepare` signal handler,
which runs after aiohttp has filled in its defaults and before the head is written) removes what
aiohttp added.

Build responses with `make_response` (whole body) or `make_stream_response` (body written later,
e.g. by a guest); both accept header pairs in order, repeated names allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import hdrs, web
from multidict import CIMultiDict

AUTHORED_CONTENT_TYPE = web.ResponseKey("spin_py_authored_content_type", bool)
"""Set on every response built here: True when the content type came from the app/guest."""

RESPONSE_STARTED = web.RequestKey("spin_py_response_started", bool)
"""Set on a request once a response to it has been prepared (its head handed to aiohttp)."""

_CONTENT_LENGTH = "content-length"
_TRANSFER_ENCODING = "transfer-encoding"
_AIOHTTP_DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _headers(pairs: Iterable[tuple[str, str]], *, keep_length: bool) -> CIMultiDict[str]:
    """Copy header pairs. Framing is aiohttp's job: `transfer-encoding` is always dropped, and
    `content-length` too unless the caller promises a body of that length."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in pairs:
        lowered = name.lower()
        if lowered == _TRANSFER_ENCODING or (lowered == _CONTENT_LENGTH and not keep_length):
            continue
        headers.add(name, value)
    return headers


def _mark(response: web.StreamResponse) -> web.StreamResponse:
    response[AUTHORED_CONTENT_TYPE] = hdrs.CONTENT_TYPE in response.headers
    return response


def make_response(
    status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> web.Response:
    """A complete response with exactly these headers (aiohttp computes `content-length`)."""
    response = web.Response(
        status=status, headers=_headers(headers, keep_length=False), body=body or None
    )
    _mark(response)
    return response


def make_stream_response(
    status: int, headers: Iterable[tuple[str, str]] = ()
) -> web.StreamResponse:
    """A streamed response with exactly these headers; a `content-length` given here is kept
    (the body written must match it), otherwise HTTP/1.1 uses chunked transfer encoding."""
    response = web.StreamResponse(status=status, headers=_headers(headers, keep_length=True))
    _mark(response)
    return response


async def strip_added_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` handler: remove the headers aiohttp adds on its own, and note on
    the request that its response has started."""
    request[RESPONSE_STARTED] = True
    response.headers.popall(hdrs.SERVER, None)
    authored = response.get(AUTHORED_CONTENT_TYPE, False)
    if not authored and response.headers.get(hdrs.CONTENT_TYPE) == _AIOHTTP_DEFAULT_CONTENT_TYPE:
        del response.headers[hdrs.CONTENT_TYPE]
