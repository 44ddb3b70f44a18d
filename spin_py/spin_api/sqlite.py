"""SQLite: `fermyon:spin/sqlite@2.0.0`, `spin:sqlite/sqlite@3.0.0` and `@3.1.0`.

All three sit on one backend protocol (`SqliteBackend` opening `SqliteConnection`s by database
label): `BACKEND` gives a component the process's databases (`spin_py.platform`) seen
through its `sqlite_databases` gate: an unlisted label is `access-denied` (checked first, as in
Spin), a listed one no database has `no-such-database` (startup already refuses that).
Each `connection` handle is its own SQLite connection, closed when the guest drops it (or at
the end of the request). A request may hold at most `MAX_OPEN_CONNECTIONS` (`io` error beyond).
Every statement runs with the request's stop check: it is interrupted (`io`) once the request
deadline passes or the request is cancelled, e.g. at server shutdown (docs/security.md).

SQL values cross as plain Python values: the WIT `value` variant (`integer`, `real`, `text`,
`blob`, `null`) lowers untagged as `int`, `float`, `str`, `bytes`, `None`. The `*-async`
functions of `@3.1.0` are component-model async, which wasmtime-py cannot host; they are left
out (a component importing them does not link).

`open` and `execute` run in host-call spans `spin_sqlite.open` / `spin_sqlite.execute` with
`db.system.name = sqlite`, the database label and `db.operation.name` (the statement's first
keyword); neither the statement text nor its parameters are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance, Record, ResourceAny

from spin_py.host import wit
from spin_py.host.context import ComponentContext
from spin_py.host.state import RequestState, current
from spin_py.host.table import ResourceKind, Store, resource_kind
from spin_py.platform.services import PlatformServices
from spin_py.platform.sqlite_db import QueryResult
from spin_py.spin_api._support import (
    ERROR,
    Interface,
    InterfaceDef,
    InterfaceError,
    NotConfigured,
    PlatformBackend,
    define,
    resource,
    traced,
)
from spin_py.telemetry.semconv import DB_OPERATION_NAME, DB_SYSTEM_NAME, SPIN_SQLITE_DATABASE

__all__ = ["QueryResult", "SqliteBackend", "SqliteConnection", "add_to_linker", "definitions"]

log = logging.getLogger(__name__)

SqlValue = int | float | str | bytes | None

SPIN_SQLITE = Interface("fermyon:spin/sqlite@2.0.0", "io")
SQLITE_3_0 = Interface("spin:sqlite/sqlite@3.0.0", "io")
SQLITE_3_1 = Interface("spin:sqlite/sqlite@3.1.0", "io")

R_HANDLE = wit.result(wit.RESOURCE, ERROR)
R_QUERY = wit.result(wit.RECORD, ERROR)

SYSTEM = "sqlite"
MAX_OPEN_CONNECTIONS = 256
"""Connection handles one request may hold at once."""


class SqliteConnection(Protocol):
    """An open database. Failures raise errors carrying `case`/`payload` (the WIT cases, e.g.
    `InterfaceError`) or `Unsupported`."""

    def execute(
        self, statement: str, parameters: list[SqlValue], stop: Callable[[], bool] | None = None
    ) -> QueryResult: ...
    def last_insert_rowid(self) -> int: ...
    def changes(self) -> int: ...
    def close(self) -> None: ...


class SqliteBackend(Protocol):
    """Opens databases by label for one component (`no-such-database`, `access-denied`)."""

    def open(self, database: str) -> SqliteConnection: ...


class UnconfiguredSqlite:
    """The backend of a runtime without platform services: every open fails with `io`."""

    def open(self, database: str) -> SqliteConnection:
        raise NotConfigured("io", "SQLite databases")


def _gated_databases(services: PlatformServices, ctx: ComponentContext) -> SqliteBackend:
    """The process's databases, gated by the component's `sqlite_databases`."""
    return services.sqlite.for_component(ctx.id, ctx.component.sqlite_databases)


BACKEND = PlatformBackend(SqliteBackend, _gated_databases, UnconfiguredSqlite)


@dataclass(eq=False)
class ConnectionHandle:
    """Host object of a `connection` handle; closes its connection when dropped."""

    database: str
    connection: SqliteConnection

    def on_drop(self) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()


def operation_name(statement: str) -> str:
    """The statement's first keyword, upper-cased (`SELECT`, `INSERT`, ...), or "" if none."""
    words = statement.lstrip(" \t\r\n(;").split(None, 1)
    word = words[0] if words else ""
    return word.upper() if word.isalpha() else ""


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

    def open_(store: Store, database: str) -> Any:
        def run() -> Any:
            state = current()
            if state.table.count(ConnectionHandle) >= MAX_OPEN_CONNECTIONS:
                raise InterfaceError("io", "too many connections opened")
            handle = ConnectionHandle(database, BACKEND.current().open(database))
            return state.table.push(handle, kind)

        attributes = {DB_SYSTEM_NAME: SYSTEM, SPIN_SQLITE_DATABASE: database}
        return iface.guarded(R_HANDLE, traced("spin_sqlite.open", run, attributes))

    def execute(store: Store, this: ResourceAny, statement: str, params: list[SqlValue]) -> Any:
        handle = resource(store, this, ConnectionHandle)
        attributes = {DB_SYSTEM_NAME: SYSTEM, SPIN_SQLITE_DATABASE: handle.database}
        operation = operation_name(statement)
        if operation:
            attributes[DB_OPERATION_NAME] = operation

        stop = _past_deadline(current())

        def run() -> Record:
            return query_record(handle.connection.execute(statement, params, stop))

        # Arbitrary SQL may run long or wait for another process's lock: others run meanwhile.
        query = traced("spin_sqlite.execute", run, attributes, blocking=True)
        return iface.guarded(R_QUERY, query)

    funcs: dict[str, Any] = {
        "[static]connection.open": open_,
        "[method]connection.execute": execute,
    }
    if v3:

        def last_insert_rowid(store: Store, this: ResourceAny) -> int:
            conn = resource(store, this, ConnectionHandle).connection
            return _counter(iface, "last-insert-rowid", conn.last_insert_rowid)

        def changes(store: Store, this: ResourceAny) -> int:
            conn = resource(store, this, ConnectionHandle).connection
            return _counter(iface, "changes", conn.changes)

        funcs["[method]connection.last-insert-rowid"] = last_insert_rowid
        funcs["[method]connection.changes"] = changes
    return funcs


def _past_deadline(state: RequestState) -> Callable[[], bool]:
    """True once `state`'s request deadline passed or it was cancelled (client gone, server
    shutting down): a statement still running then is interrupted (docs/security.md)."""

    def stop() -> bool:
        deadline = state.deadline
        return state.cancelled or (deadline is not None and time.monotonic() >= deadline)

    return stop


def _counter(iface: Interface, name: str, read: Any) -> int:
    """`last-insert-rowid` / `changes` have no error case: a failure (which SQLite does not
    produce for these) is logged and answered with 0 rather than trapping the guest."""
    try:
        return int(read())
    except Exception as exc:
        if not isinstance(getattr(exc, "case", None), str):
            raise
        log.warning("%s connection.%s failed: %s", iface.name, name, exc)
        return 0


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
