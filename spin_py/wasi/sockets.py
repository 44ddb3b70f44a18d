"""`wasi:sockets` 0.2, linked but closed: every operation answers `access-denied`.

Components built with wasi-libc import these interfaces even when they never open a socket,
so every resource and function is defined. The guest can get the `network` handle; name
lookups and socket creation are denied, so no socket resource ever exists and the socket
methods below only run on handles that cannot be valid (they trap in the table lookup).
Socket support is a later issue: it replaces these bodies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wasmtime.component import LinkerInstance, ResourceAny, ResourceHost

from spin_py.host import wit
from spin_py.host.linking import HostFunc, add_funcs, add_resource, wasi
from spin_py.host.pollable import AlwaysReady
from spin_py.host.state import current
from spin_py.host.table import ResourceKind, Store, resource_kind

NETWORK = resource_kind("wasi:sockets/network", "network")
RESOLVE_ADDRESS_STREAM = resource_kind("wasi:sockets/ip-name-lookup", "resolve-address-stream")
TCP_SOCKET = resource_kind("wasi:sockets/tcp", "tcp-socket")
UDP_SOCKET = resource_kind("wasi:sockets/udp", "udp-socket")
INCOMING_DATAGRAM_STREAM = resource_kind("wasi:sockets/udp", "incoming-datagram-stream")
OUTGOING_DATAGRAM_STREAM = resource_kind("wasi:sockets/udp", "outgoing-datagram-stream")
POLLABLE = resource_kind("wasi:io/poll", "pollable")

DENIED = wit.result(wit.NONE, wit.STR).err("access-denied")
"""`access-denied`: every sockets result has a non-`str` ok side, so the enum lowers bare."""


class Network:
    """The `network` resource: the capability the guest would use to open sockets."""


class Unreachable:
    """Host class of socket resources; never instantiated while sockets are denied."""


def _end_borrows(store: Store, args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, ResourceAny):
            arg.to_host(store)


def _denied_method(store: Store, this: ResourceAny | ResourceHost, *args: Any) -> Any:
    current().table.get(store, this, Unreachable)
    _end_borrows(store, args)
    return DENIED


def _constant_method(value: Any) -> HostFunc:
    def method(store: Store, this: ResourceAny | ResourceHost) -> Any:
        current().table.get(store, this, Unreachable)
        return value

    return method


def _subscribe(store: Store, this: ResourceAny | ResourceHost) -> ResourceHost:
    state = current()
    state.table.get(store, this, Unreachable)
    return state.table.push(AlwaysReady(), POLLABLE)


def instance_network(store: Store) -> ResourceHost:
    return current().table.push(Network(), NETWORK)


def network_error_code(store: Store, err: ResourceAny) -> str | None:
    """No stream error ever comes from a socket."""
    current().table.get(store, err, object)
    return None


def resolve_addresses(store: Store, network: ResourceAny, name: str) -> Any:
    current().table.get(store, network, Network)
    return DENIED


def create_socket(store: Store, family: str) -> Any:
    return DENIED


TCP_DENIED = [
    "start-bind",
    "finish-bind",
    "start-connect",
    "finish-connect",
    "start-listen",
    "finish-listen",
    "accept",
    "local-address",
    "remote-address",
    "set-listen-backlog-size",
    "keep-alive-enabled",
    "set-keep-alive-enabled",
    "keep-alive-idle-time",
    "set-keep-alive-idle-time",
    "keep-alive-interval",
    "set-keep-alive-interval",
    "keep-alive-count",
    "set-keep-alive-count",
    "hop-limit",
    "set-hop-limit",
    "receive-buffer-size",
    "set-receive-buffer-size",
    "send-buffer-size",
    "set-send-buffer-size",
    "shutdown",
]
UDP_DENIED = [
    "start-bind",
    "finish-bind",
    "stream",
    "local-address",
    "remote-address",
    "unicast-hop-limit",
    "set-unicast-hop-limit",
    "receive-buffer-size",
    "set-receive-buffer-size",
    "send-buffer-size",
    "set-send-buffer-size",
]


def _methods(resource: str, denied: Iterable[str], extra: dict[str, HostFunc]) -> dict[str, Any]:
    funcs: dict[str, HostFunc] = {name: _denied_method for name in denied}
    funcs.update(extra)
    return {f"[method]{resource}.{name}": fn for name, fn in funcs.items()}


def _instance(
    root: LinkerInstance, name: str, kinds: Iterable[ResourceKind], funcs: dict[str, HostFunc]
) -> None:
    with root.add_instance(wasi(name)) as i:
        for kind in kinds:
            add_resource(i, kind)
        add_funcs(i, funcs)


def add_to_linker(root: LinkerInstance) -> None:
    """Define every `wasi:sockets` interface."""
    _instance(root, "wasi:sockets/network", [NETWORK], {"network-error-code": network_error_code})
    _instance(root, "wasi:sockets/instance-network", [], {"instance-network": instance_network})
    lookup = _methods("resolve-address-stream", ["resolve-next-address"], {"subscribe": _subscribe})
    lookup["resolve-addresses"] = resolve_addresses
    _instance(root, "wasi:sockets/ip-name-lookup", [RESOLVE_ADDRESS_STREAM], lookup)
    tcp_extra = {
        "is-listening": _constant_method(False),
        "address-family": _constant_method("ipv4"),
        "subscribe": _subscribe,
    }
    _instance(root, "wasi:sockets/tcp", [TCP_SOCKET], _methods("tcp-socket", TCP_DENIED, tcp_extra))
    _instance(root, "wasi:sockets/tcp-create-socket", [], {"create-tcp-socket": create_socket})
    udp = _methods(
        "udp-socket",
        UDP_DENIED,
        {"address-family": _constant_method("ipv4"), "subscribe": _subscribe},
    )
    udp |= _methods("incoming-datagram-stream", ["receive"], {"subscribe": _subscribe})
    udp |= _methods("outgoing-datagram-stream", ["check-send", "send"], {"subscribe": _subscribe})
    kinds = [UDP_SOCKET, INCOMING_DATAGRAM_STREAM, OUTGOING_DATAGRAM_STREAM]
    _instance(root, "wasi:sockets/udp", kinds, udp)
    _instance(root, "wasi:sockets/udp-create-socket", [], {"create-udp-socket": create_socket})
