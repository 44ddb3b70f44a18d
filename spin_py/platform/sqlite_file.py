"""Opening SQLite files so that several threads and several processes can share them.

Every connection is in autocommit mode (explicit `BEGIN IMMEDIATE` where a read-modify-write must
be atomic), waits up to `BUSY_TIMEOUT` seconds for another writer instead of failing with
"database is locked", and uses write-ahead logging so readers never block the writer. A `None`
path opens a private in-memory database.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from spin_py.platform.sqlite_guard import SqlGuard

T = TypeVar("T")

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for a lock held by another connection or process."""

_SETUP_ATTEMPTS = 50


def connect(path: Path | None, guard: SqlGuard | None = None) -> sqlite3.Connection:
    """A connection to the database at `path` (created, with its directory, if missing), with
    `guard` installed once the host's own setup statements ran."""
    if path is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if guard is not None:
            guard.install(conn)
        return conn
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise sqlite3.OperationalError(f"cannot create {path.parent}: {exc.strerror}") from exc
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    try:
        retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
        conn.execute("PRAGMA synchronous=NORMAL")
        if guard is not None:
            guard.install(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def retry_locked(action: Callable[[], T]) -> T:
    """Run `action`, retrying while SQLite reports the database locked (setup statements such as
    `journal_mode` do not always wait on the busy handler)."""
    for _ in range(_SETUP_ATTEMPTS - 1):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.05)
    return action()


class LockedConnection:
    """One connection shared by the threads of a process, one statement or transaction at a
    time. Across processes, SQLite's own locking (with the busy timeout) serializes writers.
    A connection guests' SQL runs on has a `guard` (see `spin_py.platform.sqlite_guard`)."""

    def __init__(self, path: Path | None, guard: SqlGuard | None = None) -> None:
        self.path = path
        self.guard = guard
        self._conn = connect(path, guard)
        self._lock = threading.RLock()
        self._closed = False

    @contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """The connection, held exclusively by this thread for the `with` block."""
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT` (rolled back if the block raises)."""
        with self.use() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
