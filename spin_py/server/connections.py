"""Slow and idle clients: header-read timeout, keep-alive idle timeout, connections per worker.

A client must not hold a worker's connections without sending requests (docs/security.md,
"Connections"). `GuardedAppRunner` is aiohttp's `AppRunner` with three limits from
`spin_py.config.ConnectionLimits`:

- `header_timeout` (`--header-timeout`, default 30 s, as hyper, Spin's HTTP server): a request
  head must arrive complete within this long of the connection opening, or of its first byte
  after an idle keep-alive connection; otherwise the server answers `408 Request Timeout` and
  closes the connection;
- `keepalive_timeout` (`--keep-alive-timeout`, default 75 s, as nginx): an idle keep-alive
  connection (no request in progress, no byte of the next one) is closed after this long
  (aiohttp's own keep-alive timer);
- `max_connections` (`--max-connections`, default 1,000 per worker process, and never more
  than half the process's open-file limit): one more connection is answered
  `503 Service Unavailable` with `Retry-After: 1` and closed at once, and a warning counts the
  refusals (at most one line per 10 s, `spin_py.server.refusals`).

aiohttp has no header-read timeout and no connection limit, so the server's protocol class is
replaced by `GuardedRequestHandler`, a subclass of aiohttp's `RequestHandler` that watches its
parser's request count (`_request_count`) and idle waiter (`_waiter`, `_request_in_progress`);
tests/security/test_connections.py pins that behaviour on the aiohttp version installed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from spin_py.config import ConnectionLimits
from spin_py.server.refusals import RefusalLog

__all__ = ["GuardedAppRunner"]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
)
REFUSED_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n"
    b"content-length: 0\r\n\r\n"
)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol for one connection, with the header timeout and connection cap."""

    def __init__(self, manager: _GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = manager.spin_limits
        self._refusals = manager.spin_refusals
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        server = self._manager
        if server is not None and len(server.connections) > self._limits.max_connections:
            self._refusals.count()
            self._reply_and_close(REFUSED_503)
            return
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        requests = self._request_count
        super().data_received(data)
        if self._request_count != requests:  # a request head is complete
            self._stop_head_timer()
        elif self._head_timer is None and self._waiting_for_request():
            self._start_head_timer()  # the first bytes of a head after an idle period

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _waiting_for_request(self) -> bool:
        return self._waiter is not None and not self._request_in_progress

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self._loop.call_later(self._limits.header_timeout, self._head_late)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self._waiting_for_request():
            log.debug(
                "closing a connection whose request head took over %ss", self._limits.header_timeout
            )
            self._reply_and_close(REQUEST_TIMEOUT_408)

    def _reply_and_close(self, response: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(response)
        self.force_close()
        if transport is not None:
            transport.close()


class _GuardedServer(web.Server):
    """aiohttp's `Server` making `GuardedRequestHandler`s (set up by `GuardedAppRunner`)."""

    spin_limits: ConnectionLimits
    spin_refusals: RefusalLog

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """`web.AppRunner` whose connections have `limits` (aiohttp's `keepalive_timeout` is set
    from them too)."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.keepalive_timeout, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _GuardedServer  # same layout, one more method: the protocol factory
        assert isinstance(server, _GuardedServer)
        server.spin_limits = self._limits
        server.spin_refusals = RefusalLog(
            log,
            "refused {count} connection(s) with 503: this process already has "
            f"{self._limits.max_connections} open connections (--max-connections); "
            "{total} refused since start",
        )
        return server
