"""`allowed_outbound_hosts` enforcement: may this component send a request to this URL?

`OutboundPolicy.build` takes a component's entries (after `{{ var }}` templates are resolved),
parses each with the manifest's parser (`spin_py.manifest.outbound.parse_allowed_host`, the same
syntax check `spin-py up` runs at load time) and keeps the parsed rules. An entry that resolves
to an empty string, `http://` or `https://` is skipped, so a variable can switch a host off.

Matching follows Spin (`crates/factor-outbound-networking`):

- scheme: `*` or exactly the URL's scheme;
- host: `*` anything; `*.example.com` any name ending in `.example.com` (`a.example.com`,
  `a.b.example.com`; not `example.com` itself, never an IP address); a name, compared
  case-insensitively; an IP address or CIDR block, matching IP-literal URLs inside it (never
  names); `self` / `self.alt` match no absolute URL (see below);
- port: `*` anything; a number; a range `a..b` meaning a <= port < b (Rust's `a..b`, end
  excluded); no port in the entry means the scheme's well-known port. A URL without a port
  uses its scheme's well-known port; a URL whose scheme has none matches only `*` ports.

A *self request* is a URL without a host (relative, `/path`) or with host `self.alt`. It is
allowed when some entry has host `self`, `self.alt` or `*` and a scheme of `*`, `http` or
`https`; its port is not checked. (Spin decides "self" by the form of the URL, not by comparing
addresses, so the policy needs no bound address: `chaining.SelfOrigin` rewrites allowed self
requests to the address the server actually bound.)

`http://*.spin.internal` is an ordinary subdomain rule and so allows every component of the app
through service chaining; `http://<id>.spin.internal` allows one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yarl

from spin_py.manifest.outbound import (
    SKIPPED_ENTRIES,
    WELL_KNOWN_PORTS,
    AllowedHost,
    AllowedHostError,
    parse_allowed_host,
)
from spin_py.manifest.templates import is_template

__all__ = [
    "SELF_ALT_HOST",
    "AllowedHostError",
    "OutboundPolicy",
    "describe",
    "is_self_request",
]

SELF_ALT_HOST = "self.alt"
_SELF_SCHEMES = (None, "http", "https")

TemplateResolver = Callable[[str], str]
"""Resolves every `{{ var }}` in an entry; raises if a variable has no value."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    port: int | None


@dataclass(frozen=True)
class OutboundPolicy:
    """A component's parsed `allowed_outbound_hosts`; an empty policy denies everything."""

    rules: tuple[AllowedHost, ...] = ()

    @classmethod
    def build(
        cls, entries: Sequence[str], resolve_template: TemplateResolver | None = None
    ) -> OutboundPolicy:
        """Resolve templates, skip empty entries, parse the rest.

        Raises `AllowedHostError` (a ValueError) when an entry is malformed, including a
        template that resolves to something malformed, or a template with no resolver.
        Whatever `resolve_template` raises (e.g. a missing variable) propagates.
        """
        rules: list[AllowedHost] = []
        for entry in entries:
            text = _resolve(entry, resolve_template).strip()
            if text not in SKIPPED_ENTRIES:
                rules.append(parse_allowed_host(text))
        return cls(tuple(rules))

    def allows(self, url: yarl.URL | str) -> bool:
        """True if a request to `url` is allowed (self requests: see `allows_self`).

        An unparsable URL is never allowed.
        """
        try:
            parsed = _as_url(url)
            if is_self_request(parsed):
                return self.allows_self()
            target = _target(parsed)
        except ValueError:  # unparsable URL (bad port, bad IPv6 literal): never allowed
            return False
        return target is not None and any(_matches(rule, target) for rule in self.rules)

    def allows_self(self) -> bool:
        """True if relative (`/path`) and `self.alt` requests are allowed."""
        return any(
            rule.kind in ("self", "any") and rule.scheme in _SELF_SCHEMES for rule in self.rules
        )


def is_self_request(url: yarl.URL | str) -> bool:
    """True for a URL with no host (relative) or with host `self.alt`."""
    parsed = _as_url(url)
    host = parsed.raw_host
    return not host or host.lower() == SELF_ALT_HOST


def describe(url: yarl.URL | str) -> str:
    """`<scheme>://<authority>` of `url`, as in `Outbound network destination not allowed: ...`.

    The port appears only when it is written and is not the scheme's default; an IPv6 host is
    bracketed. A self request is described as `<scheme>://self` (scheme `http` if none), as
    Spin does.
    """
    parsed = _as_url(url)
    scheme = parsed.scheme or "http"
    if is_self_request(parsed):
        return f"{scheme}://self"
    port = parsed.explicit_port
    authority = _bracket(parsed.raw_host or "")
    if port is not None and port != WELL_KNOWN_PORTS.get(scheme):
        authority = f"{authority}:{port}"
    return f"{scheme}://{authority}"


def _resolve(entry: str, resolve_template: TemplateResolver | None) -> str:
    if not is_template(entry):
        return entry
    if resolve_template is None:
        raise AllowedHostError(f"'{entry}' is a template but no variables are available")
    return resolve_template(entry)


def _as_url(url: yarl.URL | str) -> yarl.URL:
    return url if isinstance(url, yarl.URL) else yarl.URL(url)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _target(url: yarl.URL) -> _Target | None:
    host = (url.raw_host or "").lower()
    if not host or not url.scheme:
        return None
    scheme = url.scheme.lower()
    port = url.explicit_port
    if port is None:
        port = WELL_KNOWN_PORTS.get(scheme)
    return _Target(scheme, host, _ip(host), port)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _matches(rule: AllowedHost, target: _Target) -> bool:
    return (
        (rule.scheme is None or rule.scheme.lower() == target.scheme)
        and _host_matches(rule, target)
        and _port_matches(rule, target)
    )


def _host_matches(rule: AllowedHost, target: _Target) -> bool:
    if rule.kind == "any":
        return True
    if rule.kind == "subdomain":
        return target.ip is None and target.host.endswith("." + rule.host.lower())
    if rule.kind == "name":
        return target.ip is None and target.host == rule.host.lower()
    if rule.kind == "ip":
        return target.ip is not None and target.ip in ipaddress.ip_network(rule.host)
    return False  # "self": only relative / self.alt requests, handled by allows_self


def _port_matches(rule: AllowedHost, target: _Target) -> bool:
    if rule.ports is None:
        return True
    start, end = rule.ports
    return target.port is not None and start <= target.port < end
