"""`wasi:filesystem/types` 0.2: the `descriptor` and `directory-entry-stream` resources.

Each host function ends its borrows, calls the Python-level operation in `descriptor.py`, and
lowers the outcome with the result shapes below (`FsError` becomes the `err` side). Mounts are
read-only: writes, creation and every mutation answer `read-only`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmtime.component import LinkerInstance, Record, ResourceAny, ResourceHost

from spin_py.host import wit
from spin_py.host.linking import HostFunc, add_funcs, add_resource, wasi
from spin_py.host.state import current
from spin_py.host.streams import IoError
from spin_py.host.table import Store, resource_kind
from spin_py.wasi.filesystem.descriptor import (
    Descriptor,
    DirectoryEntryStream,
    Stat,
    identity,
    metadata_hash,
    node_stat,
    node_type,
)
from spin_py.wasi.filesystem.errors import FsError

DESCRIPTOR = resource_kind("wasi:filesystem/types", "descriptor")
DIRECTORY_ENTRY_STREAM = resource_kind("wasi:filesystem/types", "directory-entry-stream")
INPUT_STREAM = resource_kind("wasi:io/streams", "input-stream")

ERROR_CODE = wit.STR
R_UNIT = wit.result(wit.NONE, ERROR_CODE)
R_RESOURCE = wit.result(wit.RESOURCE, ERROR_CODE)
R_FLAGS = wit.result(wit.FLAGS, ERROR_CODE)
R_ENUM = wit.result(wit.STR, ERROR_CODE)  # descriptor-type: tagged, both sides are str
R_STRING = wit.result(wit.STR, ERROR_CODE)
R_READ = wit.result(wit.TUPLE, ERROR_CODE)
R_INT = wit.result(wit.INT, ERROR_CODE)
R_RECORD = wit.result(wit.RECORD, ERROR_CODE)
R_ENTRY = wit.result(wit.option(wit.RECORD), ERROR_CODE)


def record(**fields: Any) -> Record:
    """A WIT record value; `snake_case` keyword names become the WIT `kebab-case` names."""
    value = Record()
    for name, field in fields.items():
        setattr(value, name.replace("_", "-"), field)
    return value


def _datetime(ns: int | None) -> Record | None:
    if ns is None:
        return None
    ns = max(ns, 0)
    return record(seconds=ns // 1_000_000_000, nanoseconds=ns % 1_000_000_000)


def stat_record(st: Stat) -> Record:
    """A `descriptor-stat` record."""
    return record(
        type=st.type,
        link_count=st.link_count,
        size=st.size,
        data_access_timestamp=_datetime(st.atime_ns),
        data_modification_timestamp=_datetime(st.mtime_ns),
        status_change_timestamp=_datetime(st.ctime_ns),
    )


def _hash_record(pair: tuple[int, int]) -> Record:
    return record(lower=pair[0], upper=pair[1])


def _desc(store: Store, handle: ResourceAny | ResourceHost) -> Descriptor:
    return current().table.get(store, handle, Descriptor)


def _call(shape: wit.ResultShape, fn: Callable[[], Any]) -> Any:
    try:
        return shape.ok(fn())
    except FsError as exc:
        return shape.err(exc.code)


def _follow(path_flags: set[str]) -> bool:
    return "symlink-follow" in path_flags


# --- descriptor methods -----------------------------------------------------------------------


def read_via_stream(store: Store, self: ResourceAny, offset: int) -> Any:
    d = _desc(store, self)
    return _call(R_RESOURCE, lambda: current().table.push(d.read_via_stream(offset), INPUT_STREAM))


def read_only(store: Store, self: ResourceAny, *args: Any) -> Any:
    """Every write-like method: end the borrows, answer `read-only`.

    Their results all have a non-`str` ok side (`_`, a stream, a filesize), so the error-code
    lowers untagged: the bare string.
    """
    _desc(store, self)
    for arg in args:
        if isinstance(arg, ResourceAny):
            _desc(store, arg)
    return R_UNIT.err("read-only")


def ok_unit(store: Store, self: ResourceAny, *args: Any) -> Any:
    """`advise`, `sync`, `sync-data`: nothing to do on a read-only file."""
    _desc(store, self)
    return R_UNIT.ok()


def get_flags(store: Store, self: ResourceAny) -> Any:
    return R_FLAGS.ok(_desc(store, self).flags())


def get_type(store: Store, self: ResourceAny) -> Any:
    d = _desc(store, self)
    return _call(R_ENUM, lambda: node_type(d.node))


def read(store: Store, self: ResourceAny, length: int, offset: int) -> Any:
    d = _desc(store, self)
    return _call(R_READ, lambda: d.read(length, offset))


def read_directory(store: Store, self: ResourceAny) -> Any:
    d = _desc(store, self)
    return _call(
        R_RESOURCE, lambda: current().table.push(d.read_directory(), DIRECTORY_ENTRY_STREAM)
    )


def stat(store: Store, self: ResourceAny) -> Any:
    d = _desc(store, self)
    return _call(R_RECORD, lambda: stat_record(node_stat(d.node)))


def stat_at(store: Store, self: ResourceAny, path_flags: set[str], path: str) -> Any:
    d = _desc(store, self)
    return _call(R_RECORD, lambda: stat_record(node_stat(d.at(path, _follow(path_flags)))))


def open_at(
    store: Store,
    self: ResourceAny,
    path_flags: set[str],
    path: str,
    open_flags: set[str],
    flags: set[str],
) -> Any:
    d = _desc(store, self)

    def run() -> ResourceHost:
        opened = d.open_at(_follow(path_flags), path, open_flags, flags)
        return current().table.push(opened, DESCRIPTOR)

    return _call(R_RESOURCE, run)


def readlink_at(store: Store, self: ResourceAny, path: str) -> Any:
    d = _desc(store, self)
    return _call(R_STRING, lambda: d.readlink_at(path))


def is_same_object(store: Store, self: ResourceAny, other: ResourceAny) -> bool:
    a, b = _desc(store, self), _desc(store, other)
    try:
        return identity(a.node) == identity(b.node)
    except FsError:
        return False


def metadata_hash_(store: Store, self: ResourceAny) -> Any:
    d = _desc(store, self)
    return _call(R_RECORD, lambda: _hash_record(metadata_hash(d.node)))


def metadata_hash_at(store: Store, self: ResourceAny, path_flags: set[str], path: str) -> Any:
    d = _desc(store, self)
    return _call(R_RECORD, lambda: _hash_record(metadata_hash(d.at(path, _follow(path_flags)))))


def read_directory_entry(store: Store, self: ResourceAny) -> Any:
    entry = current().table.get(store, self, DirectoryEntryStream).next()
    if entry is None:
        return R_ENTRY.ok(None)
    return R_ENTRY.ok(record(type=entry.type, name=entry.name))


def filesystem_error_code(store: Store, err: ResourceAny) -> str | None:
    """The `error-code` behind a stream error raised by a file stream, if it was one."""
    error = current().table.get(store, err, object)
    detail = error.detail if isinstance(error, IoError) else None
    return detail.code if isinstance(detail, FsError) else None


DESCRIPTOR_METHODS: dict[str, HostFunc] = {
    "read-via-stream": read_via_stream,
    "write-via-stream": read_only,
    "append-via-stream": read_only,
    "advise": ok_unit,
    "sync-data": ok_unit,
    "get-flags": get_flags,
    "get-type": get_type,
    "set-size": read_only,
    "set-times": read_only,
    "read": read,
    "write": read_only,
    "read-directory": read_directory,
    "sync": ok_unit,
    "create-directory-at": read_only,
    "stat": stat,
    "stat-at": stat_at,
    "set-times-at": read_only,
    "link-at": read_only,
    "open-at": open_at,
    "readlink-at": readlink_at,
    "remove-directory-at": read_only,
    "rename-at": read_only,
    "symlink-at": read_only,
    "unlink-file-at": read_only,
    "is-same-object": is_same_object,
    "metadata-hash": metadata_hash_,
    "metadata-hash-at": metadata_hash_at,
}


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:filesystem/types` with both resources and every method."""
    with root.add_instance(wasi("wasi:filesystem/types")) as i:
        add_resource(i, DESCRIPTOR)
        add_resource(i, DIRECTORY_ENTRY_STREAM)
        add_funcs(i, {f"[method]descriptor.{k}": v for k, v in DESCRIPTOR_METHODS.items()})
        add_funcs(
            i,
            {
                "[method]directory-entry-stream.read-directory-entry": read_directory_entry,
                "filesystem-error-code": filesystem_error_code,
            },
        )
