"""Outbound failures as wasi:http `error-code` cases.

Every way an outbound request can fail (denied, DNS, connect, timeouts, TLS, a broken response)
ends up as one `OutboundError` whose `code` is the WIT case name of `wasi:http/types.error-code`
(`"DNS-error"`, `"connection-refused"`, ...) and whose `payload` is the case's payload as plain
Python (`DnsErrorPayload`, `TlsAlertPayload`, an `int | None` size, a `str | None` message, or
None). The wasi:http glue lowers it to a WIT value; nothing here imports wasmtime.

`from_client_exception` is the single place that knows which aiohttp exception means which case.
Where Spin (hyper + wasmtime-wasi-http) distinguishes cases we do the same (a failed lookup is
`DNS-error` with rcode `address not available` and info-code 0; both read timeouts are
`connection-read-timeout`); where Spin lumps failures together (every other connect error is
`connection-refused`, every hyper error `HTTP-protocol-error`) we pick the precise case when it
is unambiguous (`connection-refused` only for ECONNREFUSED, `HTTP-response-incomplete` for a
response cut short).
"""

from __future__ import annotations

import errno
import ssl
from dataclasses import dataclass

import aiohttp

__all__ = [
    "DnsErrorPayload",
    "OutboundError",
    "TlsAlertPayload",
    "from_client_exception",
]

DNS_RCODE = "address not available"
"""The rcode Spin reports for a name that does not resolve (with info-code 0)."""


@dataclass(frozen=True)
class DnsErrorPayload:
    """Payload of `DNS-error` (WIT record `DNS-error-payload`: `rcode`, `info-code`)."""

    rcode: str | None
    info_code: int | None


@dataclass(frozen=True)
class TlsAlertPayload:
    """Payload of `TLS-alert-received` (WIT record: `alert-id`, `alert-message`)."""

    alert_id: int | None
    alert_message: str | None


class OutboundError(Exception):
    """An outbound request failed; `code` is the wasi:http `error-code` case name."""

    def __init__(self, code: str, payload: object = None, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.payload = payload

    def __repr__(self) -> str:
        return f"OutboundError({self.code!r}, {self.payload!r}, {str(self)!r})"

    @classmethod
    def denied(cls, described: str) -> OutboundError:
        """`HTTP-request-denied` for a destination outside `allowed_outbound_hosts`."""
        return cls("HTTP-request-denied", None, f"destination not allowed: {described}")

    @classmethod
    def dns(cls, message: str) -> OutboundError:
        """`DNS-error` with Spin's payload for a name that does not resolve."""
        return cls("DNS-error", DnsErrorPayload(DNS_RCODE, 0), message)

    @classmethod
    def uri_invalid(cls, message: str) -> OutboundError:
        """`HTTP-request-URI-invalid`: no usable URL could be formed."""
        return cls("HTTP-request-URI-invalid", None, message)

    @classmethod
    def internal(cls, message: str) -> OutboundError:
        """`internal-error(some(message))`: a failure that fits no other case."""
        return cls("internal-error", message, message)


_CONNECT_ERRNO_CODES = {
    errno.ETIMEDOUT: "connection-timeout",
    errno.ENETUNREACH: "destination-IP-unroutable",
    errno.EHOSTUNREACH: "destination-unavailable",
}


def from_client_exception(exc: BaseException) -> OutboundError:
    """The `OutboundError` for an exception raised while sending or reading a response.

    An `OutboundError` found in the cause chain (e.g. raised by the request body iterator) wins.
    A connection reset or other socket failure after connecting is `connection-terminated`; a
    clean close before the response was complete is `HTTP-response-incomplete`.
    """
    inner = _find_outbound_error(exc)
    if inner is not None:
        return inner
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return OutboundError.dns(message)
    if isinstance(exc, aiohttp.ClientSSLError):
        return _tls_error(exc, message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_error(exc, message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return OutboundError("connection-timeout", None, message)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return OutboundError("connection-read-timeout", None, message)
    return _response_error(exc, message)


def _find_outbound_error(exc: BaseException) -> OutboundError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OutboundError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _tls_error(exc: aiohttp.ClientSSLError, message: str) -> OutboundError:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return OutboundError("TLS-certificate-error", None, message)
    reason = (
        getattr(exc.os_error, "reason", None) if isinstance(exc.os_error, ssl.SSLError) else None
    )
    if isinstance(reason, str) and "ALERT" in reason.upper():
        return OutboundError("TLS-alert-received", TlsAlertPayload(None, reason), message)
    return OutboundError("TLS-protocol-error", None, message)


def _connect_error(exc: aiohttp.ClientConnectorError, message: str) -> OutboundError:
    number = exc.os_error.errno
    if number == errno.EADDRNOTAVAIL:
        return OutboundError.dns(message)
    if number in _CONNECT_ERRNO_CODES:
        return OutboundError(_CONNECT_ERRNO_CODES[number], None, message)
    # Spin reports every other connect failure as connection-refused.
    return OutboundError("connection-refused", None, message)


def _response_error(exc: BaseException, message: str) -> OutboundError:
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return OutboundError("HTTP-response-incomplete", None, message)
    if isinstance(exc, aiohttp.ClientResponseError):
        return OutboundError("HTTP-protocol-error", None, message)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return OutboundError.uri_invalid(message)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return OutboundError("connection-terminated", None, message)
    return OutboundError.internal(message)
