"""`wasi:http/types`: every resource and function, linked at WASI_VERSION.

The functions live in `host_fields`, `host_requests`, `host_responses` and `host_bodies`; this
module defines the eleven resources (a guest drop removes the object from the request's table and
notifies it: an outgoing body dropped unfinished aborts its message) and registers everything.
Also includes `response-outparam.send-informational` from the `informational-outbound-responses`
unstable feature of 0.2.x (answers `internal-error`: not supported); the linker ignores
functions a component does not import.
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.host.linking import HostFunc, add_funcs, add_resource, wasi
from spin_py.wasi.http import host_bodies, host_fields, host_requests, host_responses
from spin_py.wasi.http.kinds import HTTP_KINDS, TYPES

__all__ = ["FUNCS", "add_to_linker"]

FUNCS: dict[str, HostFunc] = {
    **host_fields.FUNCS,
    **host_requests.FUNCS,
    **host_responses.FUNCS,
    **host_bodies.FUNCS,
}
"""Every `wasi:http/types` function by canonical name."""


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:http/types` (resources and functions) at WASI_VERSION."""
    with root.add_instance(wasi(TYPES)) as instance:
        for kind in HTTP_KINDS:
            add_resource(instance, kind)
        add_funcs(instance, FUNCS)
