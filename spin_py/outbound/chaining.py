"""Service chaining (`http://<component-id>.spin.internal/...`) and self requests.

A request to `<component-id>.spin.internal` never touches the network: Spin hands it to that
component in-process, as if its route `/...` had matched (the component may be private). The
host must be exactly one label followed by `.spin.internal`; any scheme and port are accepted
(the policy has already checked them). `chain_target` recognises such a URL and checks that the
component exists; an unknown id is `destination-not-found` (Spin's interceptor fails the call
with a trap there; spin-py never traps for an outbound failure).

A self request (a relative URL, or host `self.alt`) goes over the network to the address the
server actually bound, the way Spin's "self request origin" works. `SelfOrigin` is that
address; `SelfOrigin.url(path_with_query)` is where to send it. An unspecified bind address
(`0.0.0.0`, `::`) is replaced by the loopback address of the same family, since that is where
the listener is reachable from this host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass

import yarl

from spin_py.outbound.errors import OutboundError

__all__ = [
    "SERVICE_CHAINING_DOMAIN",
    "ChainTarget",
    "SelfOrigin",
    "chain_target",
    "chained_component_id",
]

SERVICE_CHAINING_DOMAIN = "spin.internal"


@dataclass(frozen=True)
class ChainTarget:
    """A service-chained request: which component, and the path (with query) it asked for."""

    component_id: str
    path_with_query: str

    @property
    def path(self) -> str:
        """The path without the query (what the chained component's route matches)."""
        return self.path_with_query.partition("?")[0]

    @property
    def query(self) -> str:
        """The raw query string, without `?` (empty if none)."""
        return self.path_with_query.partition("?")[2]


def chained_component_id(url: yarl.URL) -> str | None:
    """The `<id>` of a `<id>.spin.internal` host; None for any other host."""
    host = (url.raw_host or "").lower()
    label, dot, rest = host.partition(".")
    if dot and label and rest == SERVICE_CHAINING_DOMAIN:
        return label
    return None


def chain_target(url: yarl.URL, component_ids: Collection[str]) -> ChainTarget | None:
    """The chained request `url` stands for, None if it is not a `*.spin.internal` URL.

    Raises `OutboundError("destination-not-found")` when no component has that id.
    """
    component_id = chained_component_id(url)
    if component_id is None:
        return None
    if component_id not in component_ids:
        raise OutboundError(
            "destination-not-found",
            None,
            f"no component '{component_id}' in this application (service chaining to "
            f"{url.raw_host})",
        )
    return ChainTarget(component_id, url.raw_path_qs or "/")


@dataclass(frozen=True)
class SelfOrigin:
    """The scheme and address the HTTP listener actually bound (e.g. after `--listen :0`)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def from_sockname(cls, scheme: str, sockname: tuple[object, ...]) -> SelfOrigin:
        """From `socket.getsockname()` of the listening socket (IPv4 or IPv6 tuple)."""
        host, port = sockname[0], sockname[1]
        if not isinstance(host, str) or not isinstance(port, int):
            raise ValueError(f"not an IP socket address: {sockname!r}")
        return cls(scheme, host, port)

    @property
    def connect_host(self) -> str:
        """The host to connect to: the bound address, loopback for an unspecified one."""
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return self.host
        if address.is_unspecified:
            return "::1" if address.version == 6 else "127.0.0.1"
        return self.host

    @property
    def authority(self) -> str:
        """`host:port` to connect to (IPv6 bracketed); also the self request's Host header."""
        host = self.connect_host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def reaches(self, host: str | None, port: int | None) -> bool:
        """Whether connecting to `host:port` reaches this listener, however the address is
        spelled: `127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1` (the forms the resolver
        accepts for 127.0.0.1), `[::ffff:127.0.0.1]`, `localhost`, or the unspecified address
        of the bound family (which connects to this host)."""
        if port != self.port or not host:
            return False
        address = parse_address(host)
        if address is None:
            return host.lower().rstrip(".") == self.host.lower()
        try:
            bound = ipaddress.ip_address(self.host)
        except ValueError:
            return False
        bound = _unmapped(bound)
        if address.version != bound.version and not _is_localhost_name(host):
            return bound.is_unspecified and bound.version == 6 and address.is_loopback
        if bound.is_unspecified:
            return address.is_loopback or address.is_unspecified
        if _is_localhost_name(host):
            return bound.is_loopback
        return address == bound or address.is_unspecified

    def url(self, path_with_query: str | None) -> yarl.URL:
        """The absolute URL a self request for `path_with_query` is sent to."""
        path = path_with_query or "/"
        if not path.startswith("/"):
            path = "/" + path
        return yarl.URL(f"{self.scheme}://{self.authority}{path}", encoded=True)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(host: str) -> Address | None:
    """The IP address a URL host names without a DNS lookup, in any spelling the system
    resolver accepts (`inet_aton` forms for IPv4, IPv4-mapped IPv6 unmapped); `localhost`
    names the IPv4 loopback. None for any other name."""
    name = host.strip("[]").rstrip(".").lower()
    if _is_localhost_name(name):
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return _unmapped(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name or not all(part for part in name.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_localhost_name(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")
