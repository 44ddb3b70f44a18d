"""Key-value stores in a SQLite file (`type = "spin"`, and the `default` store).

The layout is Spin's: one table `spin_key_value(store, key, value BLOB)` keyed by (store, key),
so several labels can share one file, and a counter written by `increment` is the 8-byte
little-endian two's complement integer Spin writes. Read-modify-write operations run in
`BEGIN IMMEDIATE` transactions, so worker processes sharing the file lose no update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from spin_py.platform.kv.backend import StoreError, check_i64
from spin_py.platform.sqlite_file import LockedConnection, retry_locked

T = TypeVar("T")

SCHEMA = """CREATE TABLE IF NOT EXISTS spin_key_value (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (store, key)
)"""

_UPSERT = (
    "INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value"
)
_SELECT = "SELECT value FROM spin_key_value WHERE store = ? AND key = ?"
_DELETE = "DELETE FROM spin_key_value WHERE store = ? AND key = ?"
_CHUNK = 500
"""Keys per `IN (...)` query, well under SQLite's bound-parameter limit."""


class SqliteKeyValueStore:
    """The store `label` in the SQLite file at `path` (None: in memory, this process only)."""

    system = "sqlite"

    def __init__(self, label: str, path: Path | None) -> None:
        self.label = label
        self.path = path
        try:
            self._db = LockedConnection(path)
            with self._db.use() as conn:
                retry_locked(lambda: conn.execute(SCHEMA))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open key-value store {label!r} at {path}: {exc}") from exc

    def _run(self, action: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._db.use() as conn:
                return action(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def _atomic(self, action: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._db.transaction() as conn:
                return action(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        row = self._run(lambda c: c.execute(_SELECT, (self.label, key)).fetchone())
        return None if row is None else _blob(row[0])

    def set(self, key: str, value: bytes) -> None:
        self._run(lambda c: c.execute(_UPSERT, (self.label, key, bytes(value))))

    def delete(self, key: str) -> None:
        self._run(lambda c: c.execute(_DELETE, (self.label, key)))

    def exists(self, key: str) -> bool:
        sql = "SELECT 1 FROM spin_key_value WHERE store = ? AND key = ? LIMIT 1"
        return self._run(lambda c: c.execute(sql, (self.label, key)).fetchone()) is not None

    def get_keys(self) -> list[str]:
        sql = "SELECT key FROM spin_key_value WHERE store = ? ORDER BY key"
        return [row[0] for row in self._run(lambda c: c.execute(sql, (self.label,)).fetchall())]

    def keys(self) -> list[str]:
        """Same as `get_keys`."""
        return self.get_keys()

    def increment(self, key: str, delta: int) -> int:
        def step(conn: sqlite3.Connection) -> int:
            row = conn.execute(_SELECT, (self.label, key)).fetchone()
            current = 0 if row is None else _counter(key, _blob(row[0]))
            new = check_i64(current + delta, f"incrementing {key!r}")
            conn.execute(_UPSERT, (self.label, key, new.to_bytes(8, "little", signed=True)))
            return new

        check_i64(delta, "the increment")
        return self._atomic(step)

    def swap_if(self, key: str, expected: bytes | None, value: bytes) -> bool:
        if expected is None:
            sql = (
                "INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (store, key) DO NOTHING"
            )
            params: tuple[object, ...] = (self.label, key, bytes(value))
        else:
            sql = "UPDATE spin_key_value SET value = ? WHERE store = ? AND key = ? AND value = ?"
            params = (bytes(value), self.label, key, bytes(expected))
        return self._run(lambda c: c.execute(sql, params).rowcount) == 1

    def get_many(self, keys: Sequence[str]) -> list[tuple[str, bytes | None]]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _CHUNK):
            found.update(self._select(list(keys[start : start + _CHUNK])))
        return [(key, found.get(key)) for key in keys]

    def _select(self, chunk: list[str]) -> dict[str, bytes]:
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT key, value FROM spin_key_value WHERE store = ? AND key IN ({marks})"
        rows = self._run(lambda c: c.execute(sql, [self.label, *chunk]).fetchall())
        return {row[0]: _blob(row[1]) for row in rows}

    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        rows = [(self.label, key, bytes(value)) for key, value in items]
        self._atomic(lambda c: c.executemany(_UPSERT, rows))

    def delete_many(self, keys: Sequence[str]) -> None:
        rows = [(self.label, key) for key in keys]
        self._atomic(lambda c: c.executemany(_DELETE, rows))

    def close(self) -> None:
        self._db.close()


def _blob(value: object) -> bytes:
    """A stored value as bytes (a TEXT value written by another tool is UTF-8 encoded)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _counter(key: str, value: bytes) -> int:
    if len(value) != 8:
        raise StoreError(
            f"the value of {key!r} is not a counter (increment needs an 8-byte little-endian "
            f"integer, found {len(value)} bytes)"
        )
    return int.from_bytes(value, "little", signed=True)
