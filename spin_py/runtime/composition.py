"""The composition list: every host interface package, in the order it enters the Linker.

Each entry is an interface package's `add_to_linker(root: LinkerInstance) -> None`, imported by
name, so a reader and mypy see the whole dependency (as wasmtime's `add_to_linker_sync` lists
its interfaces). Each defines its interfaces at `spin_py.host.linking.WASI_VERSION` (or its own
package version); wasmtime's semver matching lets components built against any 0.2.x import
them. Nothing here uses `define_unknown_imports_as_traps`: it would shadow our own definitions
with trap instances whose resource types differ (docs/architecture.md, section 6).

`server/up.py` imports this module before forking workers, so every interface module is loaded
once in the parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import wasmtime
from wasmtime.component import Linker, LinkerInstance

from spin_py import spin_api, wasi_otel
from spin_py.wasi import cli, clocks, filesystem, random, sockets
from spin_py.wasi.http import outgoing as http_outgoing
from spin_py.wasi.http import types as http_types
from spin_py.wasi.io import error as io_error
from spin_py.wasi.io import poll as io_poll
from spin_py.wasi.io import streams as io_streams

AddToLinker = Callable[[LinkerInstance], None]
"""An interface package's `add_to_linker`."""

INTERFACES: tuple[AddToLinker, ...] = (
    io_error.add_to_linker,
    io_poll.add_to_linker,
    io_streams.add_to_linker,
    clocks.add_to_linker,
    random.add_to_linker,
    cli.add_to_linker,
    filesystem.add_to_linker,
    sockets.add_to_linker,
    http_types.add_to_linker,
    http_outgoing.add_to_linker,
    spin_api.add_to_linker,
    wasi_otel.add_to_linker,
)
"""Every host interface, in the order it enters the linker."""

WASI_IO: tuple[AddToLinker, ...] = INTERFACES[:3]
"""`wasi:io` (error, poll, streams): what every other interface's resources build on."""


def build_linker(engine: wasmtime.Engine, interfaces: Iterable[AddToLinker] = INTERFACES) -> Linker:
    """A new Linker with every interface of `interfaces` defined."""
    linker = Linker(engine)
    with linker.root() as root:
        for add_to_linker in interfaces:
            add_to_linker(root)
    return linker


_shared: list[tuple[wasmtime.Engine, Linker]] = []
_shared_lock = threading.Lock()


def shared_linker(engine: wasmtime.Engine) -> Linker:
    """The process's Linker for `engine` with every interface, built on first use."""
    with _shared_lock:
        for known, linker in _shared:
            if known is engine:
                return linker
        linker = build_linker(engine)
        _shared.append((engine, linker))
        return linker
