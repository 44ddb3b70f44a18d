"""wasi:sockets: linked, and every operation answers `access-denied` (no traffic is attempted)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wasmtime.component import FuncType, ResourceHost, ResultType

from spin_py.host.streams import IoError
from spin_py.host.table import HostTrap, resource_kind
from spin_py.wasi import sockets
from tests.support.host_calls import Host, hello_import_types, lower
from tests.support.models import make_context

Types = dict[str, dict[str, FuncType]]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    h = Host(make_context(tmp_path))
    yield h
    h.close()


@pytest.fixture(scope="module")
def types(built_component: Callable[[str], Path]) -> Types:
    return hello_import_types(built_component("hello"))


def test_network_is_available_but_lookups_and_sockets_are_denied(host: Host, types: Types) -> None:
    net = host.lowered(
        types["wasi:sockets/instance-network@0.2.0"], "instance-network", sockets.instance_network
    )
    assert isinstance(host.obj(net), sockets.Network)
    lookup = types["wasi:sockets/ip-name-lookup@0.2.0"]
    denied = host.lowered(lookup, "resolve-addresses", sockets.resolve_addresses, net, "localhost")
    assert denied == "access-denied"
    tcp = types["wasi:sockets/tcp-create-socket@0.2.0"]
    udp = types["wasi:sockets/udp-create-socket@0.2.0"]
    for family in ("ipv4", "ipv6"):
        assert host.lowered(tcp, "create-tcp-socket", sockets.create_socket, family) == (
            "access-denied"
        )
        assert host.lowered(udp, "create-udp-socket", sockets.create_socket, family) == (
            "access-denied"
        )
    assert len(host.state.table) == 1  # only the network: no socket was ever made


def test_network_error_code_is_none(host: Host) -> None:
    err = host.state.table.push(IoError("x"), resource_kind("wasi:io/error", "error"))
    assert host.call(sockets.network_error_code, err) is None


def test_socket_methods_trap_on_handles_that_cannot_exist(host: Host) -> None:
    fake = ResourceHost.own(999, sockets.TCP_SOCKET.tag)
    with pytest.raises(HostTrap):
        host.call(sockets._denied_method, fake)
    with pytest.raises(HostTrap):
        host.call(sockets._subscribe, fake)


def test_denied_results_lower_for_every_socket_function(host: Host, types: Types) -> None:
    """`access-denied` is a valid value for every result-returning sockets function."""
    for iface in ("tcp", "udp", "ip-name-lookup"):
        for name, fty in types[f"wasi:sockets/{iface}@0.2.0"].items():
            if isinstance(fty.result, ResultType):
                assert lower(host.store, fty, sockets.DENIED) == "access-denied", name
