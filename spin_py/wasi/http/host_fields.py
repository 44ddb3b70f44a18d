"""Host functions of the `fields` resource (`[constructor]fields`, `[method]fields.*`)."""

from __future__ import annotations

from typing import Any

from wasmtime.component import Variant

from spin_py.host.linking import HostFunc
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.wasi.http import shapes
from spin_py.wasi.http.fields import Fields, HeaderError
from spin_py.wasi.http.kinds import FIELDS

__all__ = ["FUNCS", "fields_of", "lower_header_error"]


def fields_of(store: Store, handle: Any) -> Fields:
    """The `Fields` behind a borrowed handle."""
    return current().table.get(store, handle, Fields)


def lower_header_error(error: HeaderError) -> Variant:
    """A `header-error` value (`Variant("forbidden")`, ...)."""
    return Variant(error.case)


def _new(store: Store) -> Any:
    table = current().table
    return table.push(Fields().charge_to(table.budget), FIELDS)


def _from_list(store: Store, entries: list[tuple[str, bytes]]) -> Any:
    try:
        fields = Fields.from_guest(entries)
    except HeaderError as error:
        return shapes.FIELDS_RESULT.err(lower_header_error(error))
    table = current().table
    return shapes.FIELDS_RESULT.ok(table.push(fields.charge_to(table.budget), FIELDS))


def _get(store: Store, self: Any, name: str) -> list[bytes]:
    return fields_of(store, self).get(name)


def _has(store: Store, self: Any, name: str) -> bool:
    return fields_of(store, self).has(name)


def _set(store: Store, self: Any, name: str, values: list[bytes]) -> Any:
    fields = fields_of(store, self)
    try:
        fields.set(name, [bytes(v) for v in values])
    except HeaderError as error:
        return shapes.HEADER_RESULT.err(lower_header_error(error))
    return shapes.HEADER_RESULT.ok()


def _delete(store: Store, self: Any, name: str) -> Any:
    fields = fields_of(store, self)
    try:
        fields.delete(name)
    except HeaderError as error:
        return shapes.HEADER_RESULT.err(lower_header_error(error))
    return shapes.HEADER_RESULT.ok()


def _append(store: Store, self: Any, name: str, value: bytes) -> Any:
    fields = fields_of(store, self)
    try:
        fields.append(name, bytes(value))
    except HeaderError as error:
        return shapes.HEADER_RESULT.err(lower_header_error(error))
    return shapes.HEADER_RESULT.ok()


def _entries(store: Store, self: Any) -> list[tuple[str, bytes]]:
    return fields_of(store, self).entries()


def _clone(store: Store, self: Any) -> Any:
    table = current().table
    return table.push(fields_of(store, self).clone().charge_to(table.budget), FIELDS)


FUNCS: dict[str, HostFunc] = {
    "[constructor]fields": _new,
    "[static]fields.from-list": _from_list,
    "[method]fields.get": _get,
    "[method]fields.has": _has,
    "[method]fields.set": _set,
    "[method]fields.delete": _delete,
    "[method]fields.append": _append,
    "[method]fields.entries": _entries,
    "[method]fields.clone": _clone,
}
