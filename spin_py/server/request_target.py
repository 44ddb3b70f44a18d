"""The request line and `Host` a component sees: checked first, then normalised.

aiohttp's parser is lenient where a component must not be: it answers `HTTP/0.9` and
`HTTP/2.0` request lines, passes any `Host` value through, and hands an absolute-form target
(`GET http://host/path HTTP/1.1`) over as the "path" (docs/security.md, "Requests"). So before
routing, `protocol_problem` refuses

- a request line whose version is not HTTP/1.0 or HTTP/1.1: `505 HTTP Version Not Supported`;
- a `Host` header (or an absolute-form target's authority) that is not `host[:port]` as
  RFC 3986 defines it (a registered name, an IPv4 address or a bracketed IPv6 address, ASCII
  only, a port of at most 5 digits up to 65535): `400 Bad Request`. `user@evil.example/x?y`
  is refused; a missing or empty `Host` (HTTP/1.0) stays allowed, and the URL the component
  sees then says `localhost`, as in Spin;
- an absolute-form target whose scheme is not `http` or `https`: `400`.

`request_target` gives the authority and path-with-query the component sees: for an
absolute-form target, the target's authority (which replaces `Host`, as RFC 9112 says) and its
path and query, so `spin-full-url` is `http://host/path?query`, not `http://hosthttp://...`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Target", "protocol_problem", "request_target", "valid_authority"]

SUPPORTED_VERSIONS = frozenset({(1, 0), (1, 1)})

_AUTHORITY = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::(?P<port>[0-9]{0,5}))?",
    re.ASCII,
)
_ABSOLUTE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)", re.ASCII | re.S)


@dataclass(frozen=True)
class Target:
    """What a component sees of the request line and `Host`."""

    authority: str | None
    """The `Host` header, or an absolute-form target's authority (None: neither)."""
    path_with_query: str


def valid_authority(value: str) -> bool:
    """True for `host[:port]` as a `Host` header may carry it."""
    match = _AUTHORITY.fullmatch(value)
    if match is None:
        return False
    port = match.group("port")
    return not port or int(port) <= 65535


def _split_absolute(target: str) -> tuple[str, str, str] | None:
    """(scheme, authority, path-with-query) of an absolute-form target, else None."""
    match = _ABSOLUTE.fullmatch(target)
    if match is None:
        return None
    rest = match.group("rest")
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    path = rest[cut:] or "/"
    if path.startswith("?"):
        path = "/" + path
    return match.group("scheme").lower(), rest[:cut], path


def request_target(raw_target: str, host: str | None) -> Target:
    """The authority and path-with-query a component sees (see the module docstring)."""
    absolute = None if raw_target.startswith("/") else _split_absolute(raw_target)
    if absolute is not None:
        return Target(absolute[1], absolute[2])
    return Target(host or None, raw_target)


def protocol_problem(version: tuple[int, int], raw_target: str, host: str | None) -> int | None:
    """The status to refuse the request with (505, 400), or None when it may be served."""
    if tuple(version) not in SUPPORTED_VERSIONS:
        return 505
    absolute = None if raw_target.startswith("/") else _split_absolute(raw_target)
    if absolute is not None:
        scheme, authority, _ = absolute
        if scheme not in ("http", "https") or not valid_authority(authority):
            return 400
    elif host and not valid_authority(host):
        return 400
    return None
