"""`fermyon:spin/redis@2.0.0` (outbound Redis): not served by spin-py; calls answer `other(...)`.

No `connection` is ever opened, so the methods exist only for linking.
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.host.table import resource_kind
from spin_py.spin_api._support import ERROR, Interface, InterfaceDef, define, unsupported_functions

REDIS = Interface("fermyon:spin/redis@2.0.0", "other")
CONNECTION = resource_kind(REDIS.name, "connection")

_UNIT = wit.result(wit.NONE, ERROR)
_INT = wit.result(wit.INT, ERROR)
_LIST = wit.result(wit.LIST, ERROR)

SHAPES = {
    "[static]connection.open": wit.result(wit.RESOURCE, ERROR),
    "[method]connection.publish": _UNIT,
    "[method]connection.get": wit.result(wit.option(wit.BYTES), ERROR),
    "[method]connection.set": _UNIT,
    "[method]connection.incr": _INT,
    "[method]connection.del": _INT,
    "[method]connection.sadd": _INT,
    "[method]connection.smembers": _LIST,
    "[method]connection.srem": _INT,
    "[method]connection.execute": _LIST,
}


def definitions() -> list[InterfaceDef]:
    """`fermyon:spin/redis@2.0.0`."""
    functions = unsupported_functions(REDIS, "outbound Redis", SHAPES)
    return [InterfaceDef(REDIS.name, (CONNECTION,), functions)]


def add_to_linker(root: LinkerInstance) -> None:
    """Define `fermyon:spin/redis@2.0.0`."""
    define(root, definitions())
