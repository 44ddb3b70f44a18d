"""SQLite: `fermyon:spin/sqlite@2.0.0`, `spin:sqlite/sqlite@3.0.0` and `@3.1.0`.

All three sit on one backend protocol (`SqliteBackend` opening `SqliteConnection`s by database
label). Until SQLite lands, `make_backend` returns a backend whose `open` raises
`Unsupported`, answered as `io("spin-py does not support SQLite yet")` with one warning per
component; the real backend replaces `make_backend` and nothing else.

SQL values cross as plain Python values: the WIT `value` variant (`integer`, `real`, `text`,
`blob`, `null`) lowers untagged as `int`, `float`, `str`, `bytes`, `None`. The `*-async`
functions of `@3.1.0` are component-model async, which wasmtime-py cannot host; they are left
out (a component importing them does not link).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance, Record, ResourceAny

from spin_py.runtime import wit
from spin_py.runtime.context import ComponentContext
from spin_py.runtime.state import current
from spin_py.runtime.table import ResourceKind, resource_kind
from spin_py.spin._support import ERROR, Interface, InterfaceDef, Unsupported, define, resource

SqlValue = int | float | str | bytes | None

SPIN_SQLITE = Interface("fermyon:spin/sqlite@2.0.0", "io")
SQLITE_3_0 = Interface("spin:sqlite/sqlite@3.0.0", "io")
SQLITE_3_1 = Interface("spin:sqlite/sqlite@3.1.0", "io")

R_HANDLE = wit.result(wit.RESOURCE, ERROR)
R_QUERY = wit.result(wit.RECORD, ERROR)


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows of one statement."""

    columns: list[str]
    rows: list[list[SqlValue]]


class SqliteConnection(Protocol):
    """An open database. Failures raise errors carrying `case`/`payload` (the WIT cases, e.g.
    `InterfaceError`) or `Unsupported`."""

    def execute(self, statement: str, parameters: list[SqlValue]) -> QueryResult: ...
    def last_insert_rowid(self) -> int: ...
    def changes(self) -> int: ...


class SqliteBackend(Protocol):
    """Opens databases by label for one component (`no-such-database`, `access-denied`)."""

    def open(self, database: str) -> SqliteConnection: ...


class UnsupportedSqlite:
    """The backend until SQLite is implemented: every open is unsupported."""

    def open(self, database: str) -> SqliteConnection:
        raise Unsupported("SQLite")


@dataclass(frozen=True)
class _Backend:
    backend: SqliteBackend


def make_backend(ctx: ComponentContext) -> SqliteBackend:
    """The SQLite backend of one component."""
    return UnsupportedSqlite()


def backend() -> SqliteBackend:
    """The current request's component's backend (made once per component)."""
    return current().component.ext(_Backend, lambda c: _Backend(make_backend(c))).backend


@dataclass(eq=False)
class ConnectionHandle:
    """Host object of a `connection` handle."""

    database: str
    connection: SqliteConnection


def query_record(result: QueryResult) -> Record:
    """A WIT `query-result` record."""
    rows = []
    for values in result.rows:
        row = Record()
        row.values = list(values)  # type: ignore[attr-defined]
        rows.append(row)
    record = Record()
    record.columns = list(result.columns)  # type: ignore[attr-defined]
    record.rows = rows  # type: ignore[attr-defined]
    return record


def _functions(iface: Interface, kind: ResourceKind, v3: bool) -> dict[str, Any]:
    """The host functions of one version of the interface."""

    def open_(store: Any, database: str) -> Any:
        def run() -> Any:
            handle = ConnectionHandle(database, backend().open(database))
            return current().table.push(handle, kind)

        return iface.guarded(R_HANDLE, run)

    def execute(store: Any, this: ResourceAny, statement: str, params: list[SqlValue]) -> Any:
        conn = resource(store, this, ConnectionHandle).connection
        return iface.guarded(R_QUERY, lambda: query_record(conn.execute(statement, params)))

    funcs: dict[str, Any] = {
        "[static]connection.open": open_,
        "[method]connection.execute": execute,
    }
    if v3:

        def last_insert_rowid(store: Any, this: ResourceAny) -> int:
            return resource(store, this, ConnectionHandle).connection.last_insert_rowid()

        def changes(store: Any, this: ResourceAny) -> int:
            return resource(store, this, ConnectionHandle).connection.changes()

        funcs["[method]connection.last-insert-rowid"] = last_insert_rowid
        funcs["[method]connection.changes"] = changes
    return funcs


def definitions() -> list[InterfaceDef]:
    """The SQLite interfaces, each version with its own `connection` resource."""
    defs = []
    for iface, v3 in ((SPIN_SQLITE, False), (SQLITE_3_0, True), (SQLITE_3_1, True)):
        kind = resource_kind(iface.name, "connection")
        defs.append(InterfaceDef(iface.name, (kind,), _functions(iface, kind, v3)))
    return defs


def add_to_linker(root: LinkerInstance) -> None:
    """Define the SQLite interfaces."""
    define(root, definitions())
