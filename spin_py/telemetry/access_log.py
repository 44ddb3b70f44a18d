"""One access log line per request (`spin-py up --access-log`), carrying the trace id.

Written at info level on the `spin_py.access` logger when the response is complete (for a
streamed body: after its last byte), so the duration is the whole exchange:

    127.0.0.1 "GET /hello?name=x HTTP/1.1" 200 23 4.2ms trace_id=4bf92f3577b34da6a3ce929d0e0e4736

Fields: client address (as the server span's `client.address`: X-Forwarded-For, Forwarded, else
the peer), request line, status (`-` when the client went away before the response head), body
size (its `Content-Length`; `-` for a chunked body, whose size is not known yet), duration, and
the trace id (the same as in the trace UI and any collector; present even when the trace is not
sampled or exported). Characters of the request target that could forge a log line (control
characters, quotes, backslashes) are escaped as `\\xHH`.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from spin_py.telemetry.request_attrs import forwarded_client

log = logging.getLogger("spin_py.access")

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\]')


def escape(text: str) -> str:
    """`text` with control characters, quotes and backslashes as `\\xHH`."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def access_line(
    request: web.BaseRequest,
    status: int | None,
    body_bytes: int | None,
    seconds: float,
    trace_id: int,
) -> str:
    """The log line of one finished request (see the module docstring)."""
    client = forwarded_client(request) or request.remote or "-"
    version = f"{request.version.major}.{request.version.minor}"
    line = f"{escape(request.method)} {escape(request.raw_path)} HTTP/{version}"
    shown = "-" if status is None else str(status)
    trace = f"{trace_id:032x}" if trace_id else "-"
    millis = seconds * 1000
    size = "-" if body_bytes is None else str(body_bytes)
    return f'{escape(client)} "{line}" {shown} {size} {millis:.1f}ms trace_id={trace}'


def log_access(
    request: web.BaseRequest,
    status: int | None,
    body_bytes: int | None,
    seconds: float,
    trace_id: int,
) -> None:
    """Write the access line of one finished request (if the logger is enabled for info)."""
    if log.isEnabledFor(logging.INFO):
        log.info("%s", access_line(request, status, body_bytes, seconds, trace_id))
