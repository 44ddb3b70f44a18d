"""Host objects behind `incoming-request`, `outgoing-request` and `request-options`.

Methods and schemes cross the boundary as tagged variants (`Variant("get")`,
`Variant("other", "PURGE")`, `Variant("HTTP")`); host code keeps them as text (`"GET"`,
`"http"`) and converts with `lower_method` / `lift_method` / `lower_scheme` / `lift_scheme`.
Setter validation follows the `http` crate's URI rules closely enough for guests built
against wasmtime: a method must be a token, a scheme `ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")`,
an authority and a path printable ASCII without spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wasmtime.component import Variant

from spin_py.wasi.http.body import IncomingBody, OutgoingBody
from spin_py.wasi.http.fields import Fields

__all__ = [
    "IncomingRequest",
    "OutgoingRequest",
    "RequestOptions",
    "lift_method",
    "lift_scheme",
    "lower_method",
    "lower_scheme",
    "valid_authority",
    "valid_method",
    "valid_path_with_query",
    "valid_scheme",
]

_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_AUTHORITY = re.compile(r"[!$&'()*+,\-.0-9:;=@A-Z\[\]_a-z~%]*")
_PATH = re.compile(r"[\x21-\x7e]*")


def lower_method(method: str) -> Variant:
    """`"GET"` -> `Variant("get")`; anything else -> `Variant("other", method)`."""
    if method in _KNOWN_METHODS:
        return Variant(method.lower())
    return Variant("other", method)


def lift_method(value: Variant) -> str:
    """The method a guest passed, as text."""
    if value.tag == "other":
        return str(value.payload)
    return value.tag.upper()


def lower_scheme(scheme: str) -> Variant:
    """`"http"` -> `Variant("HTTP")`, `"https"` -> `Variant("HTTPS")`, else `other`."""
    lowered = scheme.lower()
    if lowered == "http":
        return Variant("HTTP")
    if lowered == "https":
        return Variant("HTTPS")
    return Variant("other", scheme)


def lift_scheme(value: Variant) -> str:
    """The scheme a guest passed, as lower-case text for `HTTP`/`HTTPS`."""
    if value.tag == "other":
        return str(value.payload)
    return value.tag.lower()


def valid_method(method: str) -> bool:
    """True for a syntactically valid method (an HTTP token)."""
    return _TOKEN.fullmatch(method) is not None


def valid_scheme(scheme: str) -> bool:
    """True for a syntactically valid URI scheme."""
    return _SCHEME.fullmatch(scheme) is not None


def valid_authority(authority: str) -> bool:
    """True for `host[:port]` (with optional userinfo) made of URI characters."""
    return _AUTHORITY.fullmatch(authority) is not None


def valid_path_with_query(path: str) -> bool:
    """True for a path and query of printable ASCII without spaces or a fragment."""
    return _PATH.fullmatch(path) is not None and "#" not in path


@dataclass
class IncomingRequest:
    """A request the host received and hands to the guest's `incoming-handler.handle`."""

    method: str
    path_with_query: str | None
    scheme: str | None
    authority: str | None
    headers: Fields
    body: IncomingBody | None

    def __post_init__(self) -> None:
        self.headers.freeze()

    def consume(self) -> IncomingBody | None:
        """The body the first time; None afterwards."""
        body, self.body = self.body, None
        return body


@dataclass
class RequestOptions:
    """Timeouts (nanoseconds) a guest attaches to an outbound request."""

    connect_timeout: int | None = None
    first_byte_timeout: int | None = None
    between_bytes_timeout: int | None = None


@dataclass
class OutgoingRequest:
    """A request a guest builds for `outgoing-handler.handle`."""

    headers: Fields
    method: str = "GET"
    path_with_query: str | None = None
    scheme: str | None = None
    authority: str | None = None
    body: OutgoingBody | None = None
    body_taken: bool = field(default=False)

    def __post_init__(self) -> None:
        self.headers.freeze()

    def set_method(self, method: str) -> bool:
        """Set the method; False (and unchanged) when it is not a token."""
        if not valid_method(method):
            return False
        self.method = method
        return True

    def set_path_with_query(self, path: str | None) -> bool:
        """Set the path and query; False when it is not valid URI text."""
        if path is not None and not valid_path_with_query(path):
            return False
        self.path_with_query = path
        return True

    def set_scheme(self, scheme: str | None) -> bool:
        """Set the scheme; False when it is not a valid scheme."""
        if scheme is not None and not valid_scheme(scheme):
            return False
        self.scheme = scheme
        return True

    def set_authority(self, authority: str | None) -> bool:
        """Set the authority; False when it is not valid URI text."""
        if authority is not None and not valid_authority(authority):
            return False
        self.authority = authority
        return True
