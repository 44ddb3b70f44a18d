"""The outbound HTTP client: one pooled aiohttp session per process, Spin's wire behaviour.

`OutboundClient.send` sends one request and returns once the response head has arrived; the
body is then read with `OutboundResponse.next_chunk`. What the upstream sees is what the guest
built, and what the guest sees is what the upstream sent:

- no headers of aiohttp's own (no `User-Agent`, `Accept`, `Accept-Encoding`, `Content-Type`);
  only `Host` (always derived from the URL: a guest-supplied `host` is dropped, as Spin does)
  and the framing header (`Content-Length` if the guest set one, else `Transfer-Encoding:
  chunked` for a streamed body; `Content-Length: 0` for a body-less POST/PUT/PATCH);
- redirects are not followed, bodies are not decompressed, cookies are not kept, proxy
  environment variables are ignored;
- header names go out lower-cased (as hyper sends them), values byte for byte when UTF-8;
- response headers are the raw bytes off the wire, in order, duplicates kept, names
  lower-cased.

Timeouts (seconds; Spin's default for each is 600): `connect_timeout` bounds the TCP connect
(`connection-timeout`); `first_byte_timeout` runs from the moment the request (body included)
has been written until the response starts arriving, and `between_bytes_timeout` bounds every
later wait for body bytes (it runs only while the reader waits); both are
`connection-read-timeout`. Every failure is an `OutboundError` (see `errors.py`), never an
aiohttp exception.

The session is created on first use on the running event loop and must be closed with
`close()` at shutdown (`close_default_client()` for the process-wide one).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from spin_py.outbound.errors import OutboundError, from_client_exception

__all__ = [
    "DEFAULT_TIMEOUT",
    "OutboundClient",
    "OutboundResponse",
    "Timeouts",
    "close_default_client",
    "default_client",
]

DEFAULT_TIMEOUT = 600.0
"""Spin's default for each of the connect, first-byte and between-bytes timeouts (seconds)."""

DEFAULT_CHUNK = 64 * 1024

_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_CLIENT_OWNED_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)
"""Headers the client itself writes; a guest's own value is dropped (Host comes from the URL)."""

_MAX_HEAD_LINE = 64 * 1024

HeaderValue = bytes | str


@dataclass(frozen=True)
class Timeouts:
    """Per-request timeouts in seconds; None means the default."""

    connect: float | None = None
    first_byte: float | None = None
    between_bytes: float | None = None

    @classmethod
    def from_nanos(
        cls, connect: int | None, first_byte: int | None, between_bytes: int | None
    ) -> Timeouts:
        """From wasi:http `request-options` durations (nanoseconds, None for unset)."""
        return cls(_seconds(connect), _seconds(first_byte), _seconds(between_bytes))


def _seconds(nanos: int | None) -> float | None:
    return None if nanos is None else nanos / 1e9


class OutboundResponse:
    """A response whose head has arrived; the body streams through `next_chunk`."""

    def __init__(self, response: aiohttp.ClientResponse, between_bytes_timeout: float) -> None:
        self._response = response
        self._between_bytes = between_bytes_timeout
        self.status: int = response.status
        self.reason: str | None = response.reason
        self.headers: list[tuple[str, bytes]] = [
            (name.decode("latin-1").lower(), value) for name, value in response.raw_headers
        ]
        self._done = False

    @property
    def finished(self) -> bool:
        """True once the body has been read to its end (or the response was closed)."""
        return self._done

    async def next_chunk(self, max_bytes: int = DEFAULT_CHUNK) -> bytes | None:
        """The next piece of the body (at most `max_bytes`), or None at its end.

        Waits for data; raises `OutboundError` (`connection-read-timeout` after
        `between_bytes_timeout` of silence, `HTTP-response-incomplete` if the upstream closed
        early, ...). After an error the response is closed.
        """
        if self._done:
            return None
        try:
            async with asyncio.timeout(self._between_bytes):
                data = await self._response.content.read(max_bytes)
        except TimeoutError as error:
            self.close()
            raise OutboundError(
                "connection-read-timeout", None, "no response body bytes within the timeout"
            ) from error
        except Exception as error:
            self.close()
            raise from_client_exception(error) from error
        if data:
            return data
        self._done = True
        self._response.release()
        return None

    def trailers(self) -> list[tuple[str, bytes]] | None:
        """Trailer fields: always None (aiohttp's HTTP/1.1 client parser discards trailers)."""
        return None

    def close(self) -> None:
        """Stop reading; an unfinished body closes the connection instead of pooling it."""
        if not self._done:
            self._done = True
            self._response.close()


class OutboundClient:
    """A pooled HTTP/1.1 client with Spin's outbound behaviour (see the module docstring).

    `ssl_context` replaces the default verifying context (e.g. to trust a test CA);
    `resolver` replaces aiohttp's getaddrinfo resolver; `limit` caps open connections
    (0: no cap, as in Spin).
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
        limit: int = 0,
        keepalive_timeout: float = 15.0,
    ) -> None:
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._resolver = resolver
        self._limit = limit
        self._keepalive_timeout = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(
        self,
        method: str,
        url: yarl.URL | str,
        headers: Iterable[tuple[str, HeaderValue]],
        body: AsyncIterable[bytes] | None = None,
        *,
        connect_timeout: float | None = None,
        first_byte_timeout: float | None = None,
        between_bytes_timeout: float | None = None,
        own_listener: bool = False,
    ) -> OutboundResponse:
        """Send a request to the absolute `url` (path and query are sent as given).

        `body` is streamed as it is produced; an `OutboundError` it raises (e.g. a body longer
        than its content-length) is what `send` raises. Returns when the response head is in.
        `own_listener`: `url` is this server's own bound address (a self request): over HTTPS
        its certificate is not verified, since the connection cannot reach anyone else (and
        a development certificate would not verify).
        """
        session = self._session_for_loop()
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=_or_default(connect_timeout),
            sock_read=_or_default(first_byte_timeout),
        )
        try:
            response = await session.request(
                method,
                _request_url(url),
                headers=_request_headers(headers),
                data=body,
                timeout=timeout,
                allow_redirects=False,
                ssl=False if own_listener else self._ssl,
            )
        except Exception as error:
            raise from_client_exception(error) from error
        _stop_socket_read_timeout(response)
        return OutboundResponse(response, _or_default(between_bytes_timeout))

    async def close(self) -> None:
        """Close the session and its pooled connections (at server shutdown)."""
        session, self._session, self._loop = self._session, None, None
        if session is not None and not session.closed:
            await session.close()

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed():
                raise RuntimeError("OutboundClient is in use on another event loop")
            self._session = None  # its loop is gone; so are its connections
        if self._session is None or self._session.closed:
            self._session = self._new_session()
            self._loop = loop
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            ssl=self._ssl,
            resolver=self._resolver,
            keepalive_timeout=self._keepalive_timeout,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=_NO_AUTO_HEADERS,
            auto_decompress=False,
            trust_env=False,
            max_line_size=_MAX_HEAD_LINE,
            max_field_size=_MAX_HEAD_LINE,
            requote_redirect_url=False,
        )


_MIN_TIMEOUT = 1e-6
"""A zero timeout means "no waiting at all"; aiohttp would read 0 as "no timeout"."""


def _or_default(seconds: float | None) -> float:
    return DEFAULT_TIMEOUT if seconds is None else max(seconds, _MIN_TIMEOUT)


def _request_url(url: yarl.URL | str) -> yarl.URL:
    parsed = url if isinstance(url, yarl.URL) else yarl.URL(url, encoded=True)
    if not parsed.absolute:
        raise OutboundError.uri_invalid(f"not an absolute URL: {parsed}")
    return parsed.with_user(None) if parsed.raw_user is not None else parsed


def _request_headers(headers: Iterable[tuple[str, HeaderValue]]) -> list[tuple[str, str]]:
    """Guest headers, names lower-cased (as hyper sends them), client-owned ones dropped.

    Lower-casing also matters to aiohttp: it merges `x-a` and `X-A` into one header otherwise.
    """
    lowered = ((name.lower(), value) for name, value in headers)
    return [
        (name, _header_text(value)) for name, value in lowered if name not in _CLIENT_OWNED_HEADERS
    ]


def _header_text(value: HeaderValue) -> str:
    """aiohttp writes header values as UTF-8; bytes that are not UTF-8 go through as latin-1."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _stop_socket_read_timeout(response: aiohttp.ClientResponse) -> None:
    """Turn off aiohttp's socket read timer now that the response head is in.

    aiohttp has one `sock_read` timeout; it served as the first-byte timeout. The between-bytes
    timeout is enforced per read in `next_chunk` instead, so (as in wasmtime-wasi-http) it only
    runs while the guest is waiting for body bytes, never while a slow guest leaves them
    buffered. The connection is None when the whole response is already in.
    """
    connection = response.connection
    protocol = connection.protocol if connection is not None else None
    if protocol is not None:
        protocol.read_timeout = None
        protocol.start_timeout()  # with no timeout set, this cancels the pending timer


_default: OutboundClient | None = None


def default_client() -> OutboundClient:
    """The process-wide client (created on first call)."""
    global _default
    if _default is None:
        _default = OutboundClient()
    return _default


async def close_default_client() -> None:
    """Close the process-wide client's session, if it was ever used (server shutdown hook)."""
    if _default is not None:
        await _default.close()
