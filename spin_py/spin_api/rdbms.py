"""Relational databases spin-py does not serve: PostgreSQL and MySQL.

Defines `fermyon:spin/{rdbms-types,postgres,mysql}@2.0.0` and `spin:postgres/postgres@3.0.0`
and `@4.0.0`. Every call answers the interface's `other(...)` error; no `connection` is ever
opened, so the methods exist only for linking.
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.host.table import resource_kind
from spin_py.spin_api._support import ERROR, Interface, InterfaceDef, define, unsupported_functions

RDBMS_TYPES = "fermyon:spin/rdbms-types@2.0.0"
POSTGRES_2 = Interface("fermyon:spin/postgres@2.0.0", "other")
MYSQL_2 = Interface("fermyon:spin/mysql@2.0.0", "other")
POSTGRES_3 = Interface("spin:postgres/postgres@3.0.0", "other")
POSTGRES_4 = Interface("spin:postgres/postgres@4.0.0", "other")

_OPEN = wit.result(wit.RESOURCE, ERROR)
_QUERY = wit.result(wit.RECORD, ERROR)
_COUNT = wit.result(wit.INT, ERROR)
_UNIT = wit.result(wit.NONE, ERROR)


def _shapes(execute: wit.ResultShape) -> dict[str, wit.ResultShape]:
    return {
        "[static]connection.open": _OPEN,
        "[method]connection.query": _QUERY,
        "[method]connection.execute": execute,
    }


def definitions() -> list[InterfaceDef]:
    """The PostgreSQL and MySQL interfaces, and the types-only `rdbms-types`."""
    defs = [InterfaceDef(RDBMS_TYPES, (), {})]
    for iface, feature, execute in (
        (POSTGRES_2, "PostgreSQL", _COUNT),
        (MYSQL_2, "MySQL", _UNIT),
        (POSTGRES_3, "PostgreSQL", _COUNT),
        (POSTGRES_4, "PostgreSQL", _COUNT),
    ):
        kind = resource_kind(iface.name, "connection")
        functions = unsupported_functions(iface, feature, _shapes(execute))
        defs.append(InterfaceDef(iface.name, (kind,), functions))
    return defs


def add_to_linker(root: LinkerInstance) -> None:
    """Define the PostgreSQL and MySQL interfaces."""
    define(root, definitions())
