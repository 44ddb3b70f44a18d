"""`wasi:filesystem/preopens` 0.2: the component's file tree, preopened at `/`."""

from __future__ import annotations

from wasmtime.component import LinkerInstance, ResourceHost

from spin_py.host.linking import wasi
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.wasi.filesystem.descriptor import Descriptor
from spin_py.wasi.filesystem.mounts import mounts
from spin_py.wasi.filesystem.types import DESCRIPTOR


def get_directories(store: Store) -> list[tuple[ResourceHost, str]]:
    """One fresh descriptor per preopen (none when the component mounts no files)."""
    state = current()
    return [
        (state.table.push(Descriptor(node), DESCRIPTOR), path)
        for node, path in mounts(state.component).preopens()
    ]


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:filesystem/preopens`."""
    with root.add_instance(wasi("wasi:filesystem/preopens")) as i:
        i.add_func("get-directories", get_directories)
