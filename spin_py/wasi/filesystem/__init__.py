"""`wasi:filesystem` 0.2: the component's `files`, mounted read-only and confined.

`mounts.py` builds the file tree from the manifest, `descriptor.py` implements the read-only
operations on it, `types.py` and `preopens.py` expose them as the WIT interfaces.
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.wasi.filesystem import preopens, types


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:filesystem/types` and `wasi:filesystem/preopens`."""
    types.add_to_linker(root)
    preopens.add_to_linker(root)
