"""What a guest's SQL may do: SQLite's authorizer, limits and progress handler on its connections.

A component granted a database may run any SQL on that database and nothing that reaches other
files (docs/security.md, "SQLite"). Every connection a guest can reach gets a `SqlGuard`:

- the authorizer denies `ATTACH` of any file (which also covers `VACUUM INTO`, which SQLite
  runs as an attach of its target; a plain `VACUUM` attaches an anonymous temporary database
  and stays allowed) and `DETACH`; the functions `load_extension` (extension loading also stays
  disabled on the connection) and `fts3_tokenizer` (its two-argument form registers a tokenizer
  from a raw pointer); and every `PRAGMA` outside a list of known-safe ones. Pragmas that only
  describe the guest's own schema may be run with any argument; settings the host relies on
  (`journal_mode`, `locking_mode`, `busy_timeout`, `temp_store`, `cache_size`, ...) may be read
  but not changed; pragmas that name files or the process (`database_list`,
  `temp_store_directory`, `hard_heap_limit`, `mmap_size`, `threads`, ...) are denied;
- `SQLITE_LIMIT_ATTACHED` is 1: room for the temporary database of a plain `VACUUM` (which
  SQLite counts as an attachment), no more;
- `SQLITE_LIMIT_LENGTH` caps one string or blob at `MAX_VALUE_BYTES` (`zeroblob(1e9)` and the
  like fail instead of allocating host memory);
- a progress handler runs every `PROGRESS_STEPS` virtual-machine steps and ends the statement
  (`interrupted`) once the guard's `stop` check says so: the glue sets it to "the request's
  deadline passed or it was cancelled", which covers `--request-timeout` and server shutdown.

A denied statement fails with a `sqlite3.DatabaseError` (at prepare time, or while running for
`VACUUM INTO`); `take_denial()` then says what was denied, for the guest's error message and the
log.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

__all__ = [
    "MAX_VALUE_BYTES",
    "PROGRESS_STEPS",
    "SqlGuard",
]

MAX_VALUE_BYTES = 64 * 1024 * 1024
"""Longest string or blob a guest's SQL may produce (SQLite's `SQLITE_LIMIT_LENGTH`)."""

PROGRESS_STEPS = 10_000
"""Virtual-machine steps between two checks of the stop condition (about 0.1-1 ms of SQL)."""

_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})

_SCHEMA_PRAGMAS = frozenset(
    {
        # describe or check the guest's own schema; their argument is a table, index or count
        "table_info",
        "table_xinfo",
        "table_list",
        "index_info",
        "index_list",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
        "compile_options",
        "data_version",
        "freelist_count",
        "page_count",
        "stats",
        # maintenance of the guest's own database
        "optimize",
        "incremental_vacuum",
        "wal_checkpoint",
        "shrink_memory",
    }
)
"""Pragmas allowed with any argument."""

_WRITABLE_SETTINGS = frozenset(
    {
        "analysis_limit",
        "application_id",
        "auto_vacuum",
        "automatic_index",
        "case_sensitive_like",
        "cell_size_check",
        "count_changes",
        "defer_foreign_keys",
        "empty_result_callbacks",
        "encoding",
        "foreign_keys",
        "full_column_names",
        "ignore_check_constraints",
        "legacy_alter_table",
        "legacy_file_format",
        "max_page_count",
        "page_size",
        "query_only",
        "read_uncommitted",
        "recursive_triggers",
        "reverse_unordered_selects",
        "secure_delete",
        "short_column_names",
        "user_version",
    }
)
"""Settings of the guest's own connection or database that it may change."""

_READABLE_SETTINGS = frozenset(
    {
        "busy_timeout",
        "cache_size",
        "cache_spill",
        "checkpoint_fullfsync",
        "fullfsync",
        "journal_mode",
        "journal_size_limit",
        "locking_mode",
        "schema_version",
        "synchronous",
        "temp_store",
        "trusted_schema",
        "wal_autocheckpoint",
        "writable_schema",
    }
)
"""Settings the host relies on (or that cost host memory): readable, not writable."""

_OWN_SCHEMAS = (None, "main", "temp")


def _pragma_allowed(name: str, argument: str | None) -> bool:
    name = name.lower()
    if name in _SCHEMA_PRAGMAS or name in _WRITABLE_SETTINGS:
        return True
    return name in _READABLE_SETTINGS and argument is None


class SqlGuard:
    """The authorizer, limits and stop check of one SQLite connection a guest uses.

    `install(conn)` once per connection. `stop` is read by the progress handler; set it around
    each statement (the connection is used by one thread at a time).
    """

    def __init__(self) -> None:
        self.stop: Callable[[], bool] | None = None
        self._denied = threading.local()

    def install(self, conn: sqlite3.Connection) -> None:
        """Put the guard on `conn` (before any guest statement runs on it)."""
        conn.set_authorizer(self._authorize)
        conn.set_progress_handler(self._progress, PROGRESS_STEPS)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 1)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        disable = getattr(conn, "enable_load_extension", None)  # absent: Python built without
        if disable is not None:
            disable(False)

    def take_denial(self) -> str | None:
        """What the authorizer last denied in this thread (and forget it), or None."""
        denial: str | None = getattr(self._denied, "what", None)
        self._denied.what = None
        return denial

    def _deny(self, what: str) -> int:
        self._denied.what = what
        return sqlite3.SQLITE_DENY

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, schema: str | None, _inner: object
    ) -> int:
        if action == sqlite3.SQLITE_ATTACH:
            if arg1 == "":  # the anonymous temporary database a plain VACUUM attaches
                return sqlite3.SQLITE_OK
            return self._deny("another database file (ATTACH DATABASE, VACUUM INTO)")
        if action == sqlite3.SQLITE_DETACH:
            return self._deny("DETACH DATABASE")
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
            return self._deny(f"the function {arg2}()")
        if action == sqlite3.SQLITE_PRAGMA and not (
            schema in _OWN_SCHEMAS and _pragma_allowed(arg1 or "", arg2)
        ):
            shown = f"PRAGMA {arg1}" if arg2 is None else f"PRAGMA {arg1} = {arg2}"
            return self._deny(shown)
        return sqlite3.SQLITE_OK

    def _progress(self) -> int:
        stop = self.stop
        return 1 if stop is not None and stop() else 0
