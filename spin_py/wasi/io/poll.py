"""`wasi:io/poll`: the `pollable` resource and `poll` over a list of them.

Host objects are `spin_py.host.pollable.Pollable`s, stored under the `POLLABLE` kind by
whichever interface creates them (`subscribe` methods, clocks, futures). Waiting goes through
`block_on`, so it wakes on `RequestState.notify()`, sleeps exactly until the earliest timer,
and gives up at the request deadline (a trap).
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host.linking import add_funcs, add_resource, wasi
from spin_py.host.pollable import Pollable, block_on
from spin_py.host.state import current
from spin_py.host.table import HostTrap, Store, resource_kind

INTERFACE = "wasi:io/poll"
POLLABLE = resource_kind(INTERFACE, "pollable")
MAX_POLL_LIST = 2**32 - 1


def ready(store: Store, this: Any) -> bool:
    """`[method]pollable.ready`: whether the event has happened (never blocks)."""
    return current().table.get(store, this, Pollable).ready()


def block(store: Store, this: Any) -> None:
    """`[method]pollable.block`: wait until the pollable is ready."""
    state = current()
    block_on(state, [state.table.get(store, this, Pollable)])


def poll(store: Store, pollables: list[Any]) -> list[int]:
    """`poll`: wait until at least one pollable is ready; the indexes of the ready ones."""
    state = current()
    targets = [state.table.get(store, handle, Pollable) for handle in pollables]
    if not targets:
        raise HostTrap("poll: the list of pollables is empty")
    if len(targets) > MAX_POLL_LIST:
        raise HostTrap("poll: too many pollables")
    return block_on(state, targets)


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:io/poll`."""
    with root.add_instance(wasi(INTERFACE)) as instance:
        add_resource(instance, POLLABLE)
        add_funcs(
            instance,
            {"[method]pollable.ready": ready, "[method]pollable.block": block, "poll": poll},
        )
