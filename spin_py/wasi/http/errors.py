"""`wasi:http/types` `error-code` values: building them, lowering them, reading the guest's.

`error-code` is a variant with many payload-less cases, so wasmtime-py always sees it tagged:
`Variant("HTTP-request-denied")`, `Variant("internal-error", "why")`,
`Variant("HTTP-response-body-size", 12)`. Record payloads (`DNS-error`, `TLS-alert-received`,
the `*-size` cases with `field-size-payload`) are `wasmtime.component.Record`s whose attributes
carry the WIT field names, dashes included.

Host code works with `ErrorCode` (a frozen tag + payload) and lowers it with `.lower()` only at
the boundary. An `ErrorCode` travelling inside a `wasi:io/error` is recovered by
`http-error-code` from `IoError.detail`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmtime.component import Record, Variant

from spin_py.host.streams import IoError

__all__ = [
    "ERROR_CODE_CASES",
    "ErrorCode",
    "error_code_of",
    "field_size_payload",
    "io_error",
]

ERROR_CODE_CASES: frozenset[str] = frozenset(
    {
        "DNS-timeout",
        "DNS-error",
        "destination-not-found",
        "destination-unavailable",
        "destination-IP-prohibited",
        "destination-IP-unroutable",
        "connection-refused",
        "connection-terminated",
        "connection-timeout",
        "connection-read-timeout",
        "connection-write-timeout",
        "connection-limit-reached",
        "TLS-protocol-error",
        "TLS-certificate-error",
        "TLS-alert-received",
        "HTTP-request-denied",
        "HTTP-request-length-required",
        "HTTP-request-body-size",
        "HTTP-request-method-invalid",
        "HTTP-request-URI-invalid",
        "HTTP-request-URI-too-long",
        "HTTP-request-header-section-size",
        "HTTP-request-header-size",
        "HTTP-request-trailer-section-size",
        "HTTP-request-trailer-size",
        "HTTP-response-incomplete",
        "HTTP-response-header-section-size",
        "HTTP-response-header-size",
        "HTTP-response-body-size",
        "HTTP-response-trailer-section-size",
        "HTTP-response-trailer-size",
        "HTTP-response-transfer-coding",
        "HTTP-response-content-coding",
        "HTTP-response-timeout",
        "HTTP-upgrade-failed",
        "HTTP-protocol-error",
        "loop-detected",
        "configuration-error",
        "internal-error",
    }
)
"""Every case of `error-code` in wasi:http 0.2.0 ... 0.2.6 (the variant did not change)."""


@dataclass(frozen=True)
class ErrorCode:
    """One `error-code` value: the WIT case name and its payload (already in lowered form)."""

    case: str
    payload: Any = None

    def __post_init__(self) -> None:
        if self.case not in ERROR_CODE_CASES:
            raise ValueError(f"not an error-code case: {self.case!r}")

    def lower(self) -> Variant:
        """The value wasmtime-py lowers as this `error-code`."""
        return Variant(self.case, self.payload)

    @classmethod
    def lift(cls, value: Variant) -> ErrorCode:
        """An `error-code` received from the guest (e.g. `response-outparam.set(err(..))`)."""
        return cls(value.tag, value.payload)

    def __str__(self) -> str:
        return self.case if self.payload is None else f"{self.case}({_describe(self.payload)})"

    # Constructors for the cases the host produces.

    @classmethod
    def denied(cls) -> ErrorCode:
        """`HTTP-request-denied`: the outbound request is not allowed."""
        return cls("HTTP-request-denied")

    @classmethod
    def internal(cls, message: str | None = None) -> ErrorCode:
        """`internal-error(option<string>)`."""
        return cls("internal-error", message)

    @classmethod
    def protocol(cls) -> ErrorCode:
        """`HTTP-protocol-error`."""
        return cls("HTTP-protocol-error")

    @classmethod
    def request_body_size(cls, size: int | None) -> ErrorCode:
        """`HTTP-request-body-size(option<u64>)`: a request body of the wrong length."""
        return cls("HTTP-request-body-size", size)

    @classmethod
    def response_body_size(cls, size: int | None) -> ErrorCode:
        """`HTTP-response-body-size(option<u64>)`: a response body of the wrong length."""
        return cls("HTTP-response-body-size", size)

    @classmethod
    def connection_terminated(cls) -> ErrorCode:
        """`connection-terminated`: the peer went away mid-message."""
        return cls("connection-terminated")


def field_size_payload(name: str | None, size: int | None) -> Record:
    """A `field-size-payload` record (`field-name`, `field-size`)."""
    record = Record()
    setattr(record, "field-name", name)
    setattr(record, "field-size", size)
    return record


def io_error(message: str, code: ErrorCode) -> IoError:
    """A `wasi:io/error` object that `http-error-code` maps back to `code`."""
    return IoError(message, detail=code)


def error_code_of(detail: object) -> ErrorCode | None:
    """The `error-code` behind an `IoError.detail`, if it carries one.

    Streams built by the HTTP host pass `error_detail=` hooks that put an `ErrorCode` there.
    """
    return detail if isinstance(detail, ErrorCode) else None


def _describe(payload: Any) -> str:
    if isinstance(payload, Record):
        return ", ".join(f"{k}={v!r}" for k, v in vars(payload).items())
    return repr(payload)
