"""`wasi:io/error`: the `error` resource behind `stream-error.last-operation-failed`.

The host object is a `spin_py.host.streams.IoError`; other interfaces (`wasi:http/types`
`http-error-code`, `wasi:filesystem/types` `filesystem-error-code`) downcast it through its
`detail`, looking it up with the `ERROR` kind.
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host.linking import add_funcs, add_resource, wasi
from spin_py.host.state import current
from spin_py.host.streams import IoError
from spin_py.host.table import Store, resource_kind

INTERFACE = "wasi:io/error"
ERROR = resource_kind(INTERFACE, "error")


def to_debug_string(store: Store, this: Any) -> str:
    """`[method]error.to-debug-string`: the error's message, for humans."""
    return current().table.get(store, this, IoError).message


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:io/error`."""
    with root.add_instance(wasi(INTERFACE)) as instance:
        add_resource(instance, ERROR)
        add_funcs(instance, {"[method]error.to-debug-string": to_debug_string})
