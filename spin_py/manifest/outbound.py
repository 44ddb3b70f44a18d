"""Syntax of `allowed_outbound_hosts` entries, and conversion of the old `allowed_http_hosts`.

An entry is `scheme://host[:port]`: scheme `*` or one scheme; host `*`, `*.domain`, `self`,
`self.alt`, an IP address or CIDR block, or a domain name; port `*`, a number, or a range `a..b`
(end exclusive). Without a port the scheme's well-known port applies, and schemes without one
need an explicit port. Entries containing `{{ ... }}` are templates resolved at runtime; an entry
that resolves to one of `SKIPPED_ENTRIES` (empty, `http://`, `https://`) is skipped, so a variable
can switch a host off.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from spin_py.manifest.diagnostics import quote

WELL_KNOWN_PORTS = {
    "http": 80,
    "https": 443,
    "redis": 6379,
    "postgres": 5432,
    "mysql": 3306,
    "mqtt": 1883,
}

HostKind = Literal["any", "subdomain", "self", "ip", "name"]

SKIPPED_ENTRIES = frozenset({"", "http://", "https://"})
"""Resolved entries that allow nothing and are skipped rather than refused."""

_ALLOW_ALL = "insecure:allow-all"
_FORMAT_HINT = (
    "hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each"
)
_DOMAIN = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


class AllowedHostError(ValueError):
    """An `allowed_outbound_hosts` (or `allowed_http_hosts`) entry is malformed."""


@dataclass(frozen=True)
class AllowedHost:
    """One parsed `allowed_outbound_hosts` entry.

    `scheme` is `None` for `*://`. `host` is the host as written (for `subdomain`, the part after
    `*.`; for `ip`, the network in CIDR form). `ports` is a half-open range `(start, end)`, or
    `None` for any port.
    """

    scheme: str | None
    kind: HostKind
    host: str
    ports: tuple[int, int] | None


def parse_allowed_host(entry: str) -> AllowedHost:
    """Parse one literal entry (no templates); raise `AllowedHostError` saying what is wrong."""
    text = entry.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise AllowedHostError(_no_scheme_message(text))
    host, port = _split_authority(text, rest)
    return AllowedHost(
        scheme=_parse_scheme(scheme),
        kind=_host_kind(host),
        host=_host_value(host),
        ports=_parse_port(port, scheme),
    )


def _no_scheme_message(text: str) -> str:
    if text == _ALLOW_ALL:
        return (
            f"{quote(text)} is not allowed - use '*://*:*' instead if you really want to allow all "
            "outbound traffic"
        )
    if text in ("*", ":", "", "?"):
        return (
            f"{quote(text)} is not an allowed outbound host format: {_FORMAT_HINT}; to allow all "
            "outbound networking use '*://*:*'"
        )
    return f"{quote(text)} does not contain a scheme (e.g., 'http://' or '*://')"


def _split_authority(text: str, rest: str) -> tuple[str, str]:
    """Split `host[:port]` (IPv6 hosts in brackets); reject paths."""
    if rest.startswith("["):
        close = rest.find("]")
        host, tail = (rest[: close + 1], rest[close + 1 :]) if close > 0 else (rest, "")
        port = tail[1:] if tail.startswith(":") else tail
    else:
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    port, slash, path = port.partition("/")
    if (slash and path) or _has_path(host):
        raise AllowedHostError(f"{quote(text)} has a path but is not allowed to")
    return host.removesuffix("/") if not _is_network(host) else host, port


def _has_path(host: str) -> bool:
    if _is_network(host):
        return False
    return "/" in host.removesuffix("/")


def _parse_scheme(scheme: str) -> str | None:
    if scheme == "*":
        return None
    if scheme.startswith("{"):
        raise AllowedHostError("scheme lists are not supported")
    if not scheme or not all(ch.isascii() and ch.isalpha() for ch in scheme):
        raise AllowedHostError(f"scheme {quote(scheme)} contains non alphabetic character")
    return scheme


def _host_kind(host: str) -> HostKind:
    if host == "*":
        return "any"
    if host in ("self", "self.alt"):
        return "self"
    if host.startswith("{"):
        raise AllowedHostError("host lists are not yet supported")
    if _is_network(host):
        return "ip"
    if host.startswith("*."):
        if "*" in host[2:]:
            raise AllowedHostError(
                f"invalid host {quote(host)}: wildcards are allowed only as prefixes"
            )
        _check_domain(host[2:])
        return "subdomain"
    if "*" in host:
        raise AllowedHostError(
            f"invalid host {quote(host)}: wildcards are allowed only as subdomains"
        )
    _check_domain(host)
    return "name"


def _host_value(host: str) -> str:
    if host.startswith("*."):
        return host[2:]
    if _is_network(host):
        return str(ipaddress.ip_network(host.strip("[]"), strict=False))
    return host


def _check_domain(host: str) -> None:
    if not host:
        raise AllowedHostError("the host is empty")
    if not _DOMAIN.fullmatch(host):
        raise AllowedHostError(f"invalid host {quote(host)}: not a domain name, IP address or CIDR")


def _is_network(host: str) -> bool:
    try:
        ipaddress.ip_network(host.strip("[]") if host.startswith("[") else host, strict=False)
    except ValueError:
        return False
    return True


def _parse_port(port: str, scheme: str) -> tuple[int, int] | None:
    if not port:
        default = WELL_KNOWN_PORTS.get(scheme)
        if default is None:
            raise AllowedHostError(
                f"no port was provided and the scheme {quote(scheme)} does not have a known "
                "default port number"
            )
        return (default, default + 1)
    if port == "*":
        return None
    if port.startswith("{"):
        raise AllowedHostError("port lists are not yet supported")
    start, dots, end = port.partition("..")
    if dots:
        message = f"port range {quote(port)} contains non-number"
        return (_port_number(start, message), _port_number(end, message))
    number = _port_number(port, f"port {quote(port)} is not a valid port number")
    return (number, number + 1)


def _port_number(text: str, message: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise AllowedHostError(message)
    return int(text)


def convert_allowed_http_hosts(hosts: list[str], *, allow_databases: bool) -> list[str]:
    """Translate old `allowed_http_hosts` entries into `allowed_outbound_hosts` entries.

    `insecure:allow-all` becomes `http://*:*`, `https://*:*` and `http://self`; `self` becomes
    `http://self`; `host[:port]` (or an http/https URL of it) becomes both its http and https
    forms. `allow_databases` adds the redis/mysql/postgres wildcards that manifest version 1
    implied when it had no `allowed_outbound_hosts`.
    """
    out = ["redis://*:*", "mysql://*:*", "postgres://*:*"] if allow_databases else []
    if _ALLOW_ALL in hosts:
        return [*out, "http://*:*", "https://*:*", "http://self"]
    for entry in hosts:
        host = _parse_http_host(entry)
        out.extend(["http://self"] if host == "self" else [f"http://{host}", f"https://{host}"])
    return out


def _parse_http_host(entry: str) -> str:
    """`host[:port]` of an `allowed_http_hosts` entry (a bare host or an http(s) URL)."""
    text = entry
    if "//" in text:
        scheme, _, text = text.partition("://")
        if scheme not in ("http", "https"):
            raise AllowedHostError(f"{quote(entry)} isn't a valid host or host:port string")
    authority, _, path = text.partition("/")
    if path:
        raise AllowedHostError(
            f"{quote(entry)} contains a path, should be host and optional port only"
        )
    host, port = authority, ""
    if ":" in authority and not authority.endswith("]"):
        host, _, port = authority.rpartition(":")
    if (
        not host
        or (port and not (port.isascii() and port.isdigit()))
        or (host != "self" and not _valid_http_host(host))
    ):
        raise AllowedHostError(f"{quote(entry)} isn't a valid host or host:port string")
    return f"{host}:{port}" if port else host


def _valid_http_host(host: str) -> bool:
    return bool(_DOMAIN.fullmatch(host)) or _is_network(host)
