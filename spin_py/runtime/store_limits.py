"""The resource limits every guest Store gets: memory, tables (docs/security.md, "Memory").

A guest's linear memory is capped by `--max-instance-memory` (`DEFAULT_MAX_INSTANCE_MEMORY`
unless the flag says otherwise). Tables live in host memory outside the linear memory, 8 bytes
per element, and wasmtime lets each grow to 2^32 elements: one `table.grow` of 100 million
elements cost a worker 760 MB. So each Store also gets at most `MAX_TABLE_ELEMENTS` per table,
`MAX_TABLES` tables and `MAX_MEMORIES` linear memories (componentize-py components use 2
tables of under 10,000 elements and 1 memory), which bounds what one instance can make the
host allocate to about `MAX_MEMORIES` x the memory cap plus 128 MB of tables.
"""

from __future__ import annotations

import wasmtime

DEFAULT_MAX_INSTANCE_MEMORY = 256 * 1024 * 1024
"""`--max-instance-memory` when not given: 256 MiB per linear memory."""

MAX_TABLE_ELEMENTS = 1_000_000
MAX_TABLES = 16
MAX_MEMORIES = 16


def apply_store_limits(store: wasmtime.Store, max_instance_memory: int | None) -> None:
    """Give `store` the table and memory-count caps, and the memory cap if there is one."""
    store.set_limits(
        memory_size=-1 if max_instance_memory is None else max_instance_memory,
        table_elements=MAX_TABLE_ELEMENTS,
        tables=MAX_TABLES,
        memories=MAX_MEMORIES,
    )
