"""SQLite databases for `fermyon:spin/sqlite` and `spin:sqlite/sqlite`, by label.

`default` is always defined (`<state-dir>/sqlite_db.db` unless the runtime config maps it); the
runtime config adds the other labels. Each guest `connection` gets its own `SqliteConnection`
(its own `last_insert_rowid`/`changes`), in autocommit mode, so the guest's own `BEGIN`/`COMMIT`
work as they do in Spin. Files use write-ahead logging and a busy timeout, so worker processes
can share them. An in-memory database (`type = "spin"` without `path`) is one connection shared
by the whole process.

Values are the WIT `value` variant as plain Python values: `int` (integer, s64), `float` (real),
`str` (text), `bytes` (blob), `None` (null). Failures raise `SqliteError`s whose `case` and
`payload` are the WIT `error` case and its payload (`io` carries SQLite's message).

Connections opened for guests (`open`, `for_component`) carry a `SqlGuard`
(`spin_py.platform.sqlite_guard`): no other database files, no extensions, only safe pragmas,
and a statement ends (`io`, "interrupted") once the `stop` check given to `execute` is true.
A denied statement is `io` ("not authorized: ..."), logged once per component. A query result
larger than `MAX_RESULT_BYTES` (estimated) is `io` too, instead of growing host memory.
The operator's `--sqlite` statements run on an unguarded connection (docs/security.md).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from spin_py.errors import ConfigError
from spin_py.manifest.input_files import MAX_SQL_BYTES, read_input
from spin_py.manifest.model import App
from spin_py.platform.runtime_config import SqliteDatabaseConfig
from spin_py.platform.sqlite_file import LockedConnection
from spin_py.platform.sqlite_guard import SqlGuard

log = logging.getLogger(__name__)

DEFAULT_LABEL = "default"
DEFAULT_FILE = "sqlite_db.db"

SqlValue = int | float | str | bytes | None

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

MAX_RESULT_BYTES = 64 * 1024 * 1024
"""Largest query result (estimated: text and blob lengths plus `_VALUE_OVERHEAD` per value)
one statement may return to a guest."""
_VALUE_OVERHEAD = 32
_FETCH_ROWS = 256

StopCheck = Callable[[], bool]
"""True once the statement running for a guest must end (deadline passed, request cancelled)."""


class SqliteError(Exception):
    """A failure the guest sees as the interface's `error` variant."""

    case: ClassVar[str] = "io"

    def __init__(self, message: str, payload: str | None = None) -> None:
        super().__init__(message)
        self.payload = payload


class NoSuchDatabase(SqliteError):
    case = "no-such-database"

    def __init__(self, label: str) -> None:
        super().__init__(f"no SQLite database labelled {label!r}")


class DatabaseAccessDenied(SqliteError):
    case = "access-denied"

    def __init__(self, label: str, component_id: str) -> None:
        super().__init__(f"component {component_id!r} may not use SQLite database {label!r}")


class InvalidConnection(SqliteError):
    case = "invalid-connection"

    def __init__(self) -> None:
        super().__init__("the connection is closed")


class DatabaseFull(SqliteError):
    case = "database-full"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class SqliteIoError(SqliteError):
    """`io(message)`: any other SQLite failure, with SQLite's message."""

    case = "io"

    def __init__(self, message: str) -> None:
        super().__init__(message, message)


class StatementDenied(SqliteIoError):
    """`io`: the guard refused part of the statement (`what`)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not authorized: {what} is not allowed for components")
        self.what = what


class StatementInterrupted(SqliteIoError):
    """`io`: the statement ran past the request's deadline, or the request was cancelled."""

    def __init__(self) -> None:
        super().__init__("interrupted: the request's deadline passed or it was cancelled")


class ResultTooLarge(SqliteIoError):
    def __init__(self) -> None:
        super().__init__(f"the query result is larger than {MAX_RESULT_BYTES} bytes")


@dataclass(frozen=True)
class QueryResult:
    """The columns and rows of one statement (both empty for statements returning no rows)."""

    columns: list[str]
    rows: list[list[SqlValue]]


class SqliteConnection:
    """One guest connection to one database. Thread-safe.

    `on_denied(what)` is called when the guard refused a statement (for the log)."""

    system = "sqlite"

    def __init__(
        self,
        label: str,
        db: LockedConnection,
        *,
        owned: bool = True,
        on_denied: Callable[[str], None] | None = None,
    ) -> None:
        self.label = label
        self._db = db
        self._owned = owned
        self._closed = False
        self._on_denied = on_denied

    def execute(
        self, statement: str, parameters: Sequence[SqlValue], stop: StopCheck | None = None
    ) -> QueryResult:
        """Run one statement with positional parameters (`?`, `?NNN`); `stop` ends it early."""
        params = [_param(i, value) for i, value in enumerate(parameters, 1)]
        if self._closed:
            raise InvalidConnection()
        guard = self._db.guard
        try:
            with self._db.use() as conn:
                if guard is not None:
                    guard.stop = stop
                try:
                    cursor = conn.execute(statement, params)
                    columns = [d[0] for d in cursor.description] if cursor.description else []
                    rows = _fetch_bounded(cursor)
                finally:
                    if guard is not None:
                        guard.stop = None
        except (sqlite3.Error, sqlite3.Warning, OverflowError) as exc:
            raise self._failure(exc, guard) from exc
        return QueryResult(columns, rows)

    def _failure(self, exc: Exception, guard: SqlGuard | None) -> SqliteError:
        denied = guard.take_denial() if guard is not None else None
        if denied is not None and _is_denial(exc):
            if self._on_denied is not None:
                self._on_denied(denied)
            return StatementDenied(denied)
        if isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted":
            return StatementInterrupted()
        return _error(exc)

    def execute_script(self, script: str) -> None:
        """Run several `;`-separated statements (used by `--sqlite`)."""
        try:
            with self._db.use() as conn:
                conn.executescript(script)
        except sqlite3.Error as exc:
            raise _error(exc) from exc

    def last_insert_rowid(self) -> int:
        return self._scalar("SELECT last_insert_rowid()")

    def changes(self) -> int:
        """Rows changed by the most recent INSERT, UPDATE or DELETE."""
        return self._scalar("SELECT changes()")

    def _scalar(self, sql: str) -> int:
        if self._closed:
            raise InvalidConnection()
        try:
            with self._db.use() as conn:
                return int(conn.execute(sql).fetchone()[0])
        except sqlite3.Error as exc:
            raise _error(exc) from exc

    def close(self) -> None:
        """Close the connection (rolling back a transaction the guest left open)."""
        if not self._closed:
            self._closed = True
            if self._owned:
                self._db.close()


def _is_denial(exc: Exception) -> bool:
    """The authorizer refused the statement (a denied function is reported as an ordinary
    error whose message says so, the rest as `SQLITE_AUTH`)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_AUTH or "not authorized" in str(exc)


def _fetch_bounded(cursor: sqlite3.Cursor) -> list[list[SqlValue]]:
    """Every row of `cursor`, failing with `ResultTooLarge` past `MAX_RESULT_BYTES`."""
    rows: list[list[SqlValue]] = []
    size = 0
    while batch := cursor.fetchmany(_FETCH_ROWS):
        for row in batch:
            size += sum(
                _VALUE_OVERHEAD + (len(v) if isinstance(v, str | bytes) else 8) for v in row
            )
            rows.append(list(row))
        if size > MAX_RESULT_BYTES:
            raise ResultTooLarge()
    return rows


def _param(index: int, value: object) -> SqlValue:
    if value is None or isinstance(value, str | float | bytes):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if not I64_MIN <= value <= I64_MAX:
            raise SqliteIoError(f"parameter {index} does not fit in a 64-bit integer")
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise SqliteIoError(f"parameter {index} has unsupported type {type(value).__name__}")


def _error(exc: Exception) -> SqliteError:
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return DatabaseFull(str(exc))
    if isinstance(exc, sqlite3.ProgrammingError) and "closed database" in str(exc):
        return InvalidConnection()
    return SqliteIoError(str(exc))


class SqliteDatabases:
    """Every SQLite database of the application, by label. Thread-safe."""

    def __init__(self, configs: Mapping[str, SqliteDatabaseConfig], state_dir: Path) -> None:
        self._configs: dict[str, SqliteDatabaseConfig] = {
            DEFAULT_LABEL: SqliteDatabaseConfig(state_dir / DEFAULT_FILE),
            **configs,
        }
        self._memory: dict[str, LockedConnection] = {}
        self._lock = threading.Lock()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._configs)

    def describe(self, label: str) -> str:
        """Where a database lives, for startup messages."""
        path = self._configs[label].path
        return f'"{path}"' if path else "an in-memory database"

    def check_components(self, app: App) -> None:
        """Raise `ConfigError` listing components that use labels no database has."""
        problems = [
            f"- Component {c.id} uses database '{label}'"
            for c in app.components.values()
            for label in c.sqlite_databases
            if label not in self._configs
        ]
        if problems:
            raise ConfigError(
                "One or more components use SQLite databases which are not defined.\n"
                "Check the spelling, or pass a runtime config file that defines them "
                "([sqlite_database.<label>]).\nDetails:\n" + "\n".join(problems)
            )

    def connect(
        self,
        label: str,
        *,
        guarded: bool = True,
        on_denied: Callable[[str], None] | None = None,
    ) -> SqliteConnection:
        """A new connection to the database `label` (`NoSuchDatabase`, or `io` if it cannot
        be opened). `guarded` (the default): with a `SqlGuard`, for guests' SQL; only the
        operator's own statements may run unguarded on a file database."""
        config = self._configs.get(label)
        if config is None:
            raise NoSuchDatabase(label)
        if config.path is None:  # one connection for the process: always guarded
            db = self._shared_memory(label)
            return SqliteConnection(label, db, owned=False, on_denied=on_denied)
        try:
            db = LockedConnection(config.path, SqlGuard() if guarded else None)
        except sqlite3.Error as exc:
            raise SqliteIoError(f"cannot open database {label!r}: {exc}") from exc
        return SqliteConnection(label, db, on_denied=on_denied)

    def _shared_memory(self, label: str) -> LockedConnection:
        with self._lock:
            db = self._memory.get(label)
            if db is None:
                db = self._memory[label] = LockedConnection(None, SqlGuard())
            return db

    def open(
        self,
        label: str,
        component_id: str,
        allowed: Iterable[str],
        on_denied: Callable[[str], None] | None = None,
    ) -> SqliteConnection:
        """A guarded connection to `label` for a component allowed the labels `allowed`."""
        if label not in set(allowed):
            raise DatabaseAccessDenied(label, component_id)
        return self.connect(label, on_denied=on_denied)

    def for_component(self, component_id: str, allowed: Iterable[str]) -> ComponentSqlite:
        """A view that opens databases on behalf of one component."""
        return ComponentSqlite(self, component_id, frozenset(allowed))

    def run_startup_sql(self, scripts: Sequence[str]) -> None:
        """Run `--sqlite` statements (already read from their files) on the default database,
        in order; the first failure stops startup with a `ConfigError`."""
        if not scripts:
            return
        conn = self.connect(DEFAULT_LABEL, guarded=False)
        try:
            for script in scripts:
                try:
                    conn.execute_script(script)
                except SqliteError as exc:
                    raise ConfigError(f"failed to run --sqlite statement: {exc}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            memory, self._memory = list(self._memory.values()), {}
        for db in memory:
            db.close()


class ComponentSqlite:
    """The databases one component may open: `open(label)` raises `DatabaseAccessDenied` or
    `NoSuchDatabase`. The first statement the guard denies this component is logged (once:
    a guest retrying in a loop must not flood the log)."""

    def __init__(self, dbs: SqliteDatabases, component_id: str, allowed: frozenset[str]) -> None:
        self.databases = dbs
        self.component_id = component_id
        self.allowed = allowed
        self._denial_logged = threading.Event()

    def open(self, label: str) -> SqliteConnection:
        def on_denied(what: str) -> None:
            self._log_denial(label, what)

        return self.databases.open(label, self.component_id, self.allowed, on_denied)

    def _log_denial(self, label: str, what: str) -> None:
        if self._denial_logged.is_set():
            return
        self._denial_logged.set()
        log.warning(
            'component "%s": SQLite statement on database "%s" denied: %s is not allowed '
            "(further denials for this component are not logged)",
            self.component_id,
            label,
            what,
        )


def parse_sqlite_args(args: Sequence[str], cwd: Path) -> tuple[str, ...]:
    """The SQL of each `--sqlite` option: the statement itself, or the text of `@file`."""
    scripts: list[str] = []
    for arg in args:
        if not arg.startswith("@"):
            scripts.append(arg)
            continue
        path = cwd / arg[1:]
        try:
            scripts.append(read_input(path, MAX_SQL_BYTES).decode("utf-8"))
        except OSError as exc:
            problem = exc.strerror or str(exc)
            raise ConfigError(f"--sqlite {arg!r}: cannot read {path}: {problem}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"--sqlite {arg!r}: cannot read {path}: {exc}") from exc
    return tuple(scripts)
