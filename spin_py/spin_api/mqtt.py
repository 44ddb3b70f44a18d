"""`fermyon:spin/mqtt@2.0.0`: not served by spin-py; every call answers `other(...)`."""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.host.table import resource_kind
from spin_py.spin_api._support import ERROR, Interface, InterfaceDef, define, unsupported_functions

MQTT = Interface("fermyon:spin/mqtt@2.0.0", "other")
CONNECTION = resource_kind(MQTT.name, "connection")

SHAPES = {
    "[static]connection.open": wit.result(wit.RESOURCE, ERROR),
    "[method]connection.publish": wit.result(wit.NONE, ERROR),
}


def definitions() -> list[InterfaceDef]:
    """`fermyon:spin/mqtt@2.0.0`."""
    return [InterfaceDef(MQTT.name, (CONNECTION,), unsupported_functions(MQTT, "MQTT", SHAPES))]


def add_to_linker(root: LinkerInstance) -> None:
    """Define `fermyon:spin/mqtt@2.0.0`."""
    define(root, definitions())
