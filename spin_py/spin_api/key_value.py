"""Key-value: `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue/{store,atomics,batch}`.

Both interface families sit on one backend protocol (`KeyValueBackend` opening
`KeyValueStore`s by label): `BACKEND` gives a component the process's key-value stores
(`spin_py.platform`) seen through its `key_value_stores` gate, so an unlisted label is
`access-denied` (checked first, as in Spin) and a listed one no store has `no-such-store`
(startup already refuses that). A request may hold at most
`MAX_OPEN_STORES` store handles at once (`store-table-full`; `other` for wasi:keyvalue).

Every call that reaches a store runs in a host-call span `spin_key_value.<operation>` with
`db.system.name` (`sqlite` or `redis`) and the store label; keys and values are never recorded.

`spin:key-value/key-value@3.0.0` is not defined: its functions are `async` (component-model
async), which wasmtime-py cannot host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from wasmtime.component import LinkerInstance, Record, ResourceAny, ResourceHost

from spin_py.host import wit
from spin_py.host.context import ComponentContext
from spin_py.host.linking import HostFunc
from spin_py.host.state import current
from spin_py.host.table import ResourceKind, Store, resource_kind
from spin_py.platform.kv.backend import KeyValueStore
from spin_py.platform.services import PlatformServices
from spin_py.spin_api._support import (
    ERROR,
    Interface,
    InterfaceDef,
    InterfaceError,
    NotConfigured,
    PlatformBackend,
    define,
    resource,
    traced,
)
from spin_py.telemetry.host_spans import host_span
from spin_py.telemetry.semconv import DB_SYSTEM_NAME, SPIN_KEY_VALUE_STORE

T = TypeVar("T")

WASI_CASES = frozenset({"no-such-store", "access-denied", "other"})
"""wasi:keyvalue has no `store-table-full`: a backend raising it is reported as `other`."""

SPIN_KV = Interface("fermyon:spin/key-value@2.0.0", "other")
WASI_STORE = Interface("wasi:keyvalue/store@0.2.0-draft2", "other", WASI_CASES)
WASI_ATOMICS = Interface("wasi:keyvalue/atomics@0.2.0-draft2", "other", WASI_CASES)
WASI_BATCH = Interface("wasi:keyvalue/batch@0.2.0-draft2", "other", WASI_CASES)

STORE = resource_kind("fermyon:spin/key-value", "store")
BUCKET = resource_kind("wasi:keyvalue/store", "bucket")
CAS = resource_kind("wasi:keyvalue/atomics", "cas")

R_HANDLE = wit.result(wit.RESOURCE, ERROR)
R_VALUE = wit.result(wit.option(wit.BYTES), ERROR)
R_UNIT = wit.result(wit.NONE, ERROR)
R_BOOL = wit.result(wit.BOOL, ERROR)
R_LIST = wit.result(wit.LIST, ERROR)
R_RECORD = wit.result(wit.RECORD, ERROR)
R_INT = wit.result(wit.INT, ERROR)
R_SWAP = wit.result(wit.NONE, wit.variant(ERROR, wit.RESOURCE))  # cas-error: untagged

SPAN_PREFIX = "spin_key_value."
MAX_OPEN_STORES = 256
"""Store/bucket handles one request may hold at once (Spin's store table capacity)."""


class KeyValueBackend(Protocol):
    """Opens stores by label for one component (`no-such-store`, `access-denied`)."""

    def open(self, label: str) -> KeyValueStore: ...


class UnconfiguredKeyValue:
    """The backend of a runtime without platform services: every open fails with `other`."""

    def open(self, label: str) -> KeyValueStore:
        raise NotConfigured("other", "key-value stores")


class StoreTableFull(Exception):
    """The request already holds `MAX_OPEN_STORES` store handles."""

    case = "store-table-full"
    payload = None

    def __init__(self) -> None:
        super().__init__("store table full")


def _gated_stores(services: PlatformServices, ctx: ComponentContext) -> KeyValueBackend:
    """The process's stores, gated by the component's `key_value_stores`."""
    return services.key_value.for_component(ctx.id, ctx.component.key_value_stores)


BACKEND = PlatformBackend(KeyValueBackend, _gated_stores, UnconfiguredKeyValue)


@dataclass(eq=False)
class StoreHandle:
    """Host object of a `store` / `bucket` handle."""

    label: str
    store: KeyValueStore

    def traced(self, operation: str, op: Callable[[], T]) -> Callable[[], T]:
        """`op` inside the span `spin_key_value.<operation>` of this store."""
        attributes = {DB_SYSTEM_NAME: self.store.system, SPIN_KEY_VALUE_STORE: self.label}
        remote = self.store.system == "redis"  # a network round trip: others run meanwhile
        return traced(SPAN_PREFIX + operation, op, attributes, blocking=remote)


@dataclass(eq=False)
class CasHandle:
    """Host object of a `cas` handle: the value of `key` when the handle was made."""

    bucket: StoreHandle
    key: str
    value: bytes | None


def _open(label: str, kind: ResourceKind) -> ResourceHost:
    state = current()
    with host_span(SPAN_PREFIX + "open", attributes={SPIN_KEY_VALUE_STORE: label}) as span:
        opened = BACKEND.current().open(label)
        span.set_attribute(DB_SYSTEM_NAME, opened.system)
        if state.table.count(StoreHandle) >= MAX_OPEN_STORES:
            raise StoreTableFull()
        return state.table.push(StoreHandle(label, opened), kind)


# --- the calls fermyon:spin/key-value@2.0.0 `store` and wasi:keyvalue/store `bucket` share -----


def _store_calls(iface: Interface, kind: ResourceKind) -> dict[str, HostFunc]:
    """`open`, `get`, `set`, `delete` and `exists`: the same calls in both families, each with
    its own resource kind and error cases (`iface`)."""

    def open_(store: Store, label: str) -> Any:
        return iface.guarded(R_HANDLE, lambda: _open(label, kind))

    def get(store: Store, this: ResourceAny, key: str) -> Any:
        h = resource(store, this, StoreHandle)
        return iface.guarded(R_VALUE, h.traced("get", lambda: h.store.get(key)))

    def set_(store: Store, this: ResourceAny, key: str, value: bytes) -> Any:
        h = resource(store, this, StoreHandle)
        return iface.guarded(R_UNIT, h.traced("set", lambda: h.store.set(key, bytes(value))))

    def delete(store: Store, this: ResourceAny, key: str) -> Any:
        h = resource(store, this, StoreHandle)
        return iface.guarded(R_UNIT, h.traced("delete", lambda: h.store.delete(key)))

    def exists(store: Store, this: ResourceAny, key: str) -> Any:
        h = resource(store, this, StoreHandle)
        return iface.guarded(R_BOOL, h.traced("exists", lambda: h.store.exists(key)))

    return {"open": open_, "get": get, "set": set_, "delete": delete, "exists": exists}


# --- fermyon:spin/key-value@2.0.0 ---------------------------------------------------------------


def store_get_keys(store: Store, this: ResourceAny) -> Any:
    h = resource(store, this, StoreHandle)
    return SPIN_KV.guarded(R_LIST, h.traced("get_keys", lambda: list(h.store.keys())))


# --- wasi:keyvalue/store ------------------------------------------------------------------------


def _key_response(keys: list[str]) -> Record:
    response = Record()
    response.keys = keys  # type: ignore[attr-defined]
    response.cursor = None  # type: ignore[attr-defined]
    return response


def bucket_list_keys(store: Store, this: ResourceAny, cursor: str | None) -> Any:
    """All keys in one page: no cursor is ever returned, so a guest passing one gets `other`."""
    h = resource(store, this, StoreHandle)

    def run() -> Record:
        if cursor is not None:
            raise InterfaceError("other", "list-keys: cursor not supported")
        return _key_response(list(h.store.keys()))

    return WASI_STORE.guarded(R_RECORD, h.traced("get_keys", run))


# --- wasi:keyvalue/atomics ----------------------------------------------------------------------


def cas_new(store: Store, bucket: ResourceAny, key: str) -> Any:
    h = resource(store, bucket, StoreHandle)

    def run() -> ResourceHost:
        return current().table.push(CasHandle(h, key, h.store.get(key)), CAS)

    return WASI_ATOMICS.guarded(R_HANDLE, h.traced("cas_new", run))


def cas_current(store: Store, this: ResourceAny) -> Any:
    cas = resource(store, this, CasHandle)
    return WASI_ATOMICS.guarded(R_VALUE, lambda: cas.value)


def increment(store: Store, bucket: ResourceAny, key: str, delta: int) -> Any:
    h = resource(store, bucket, StoreHandle)
    return WASI_ATOMICS.guarded(R_INT, h.traced("increment", lambda: h.store.increment(key, delta)))


def swap(store: Store, cas: ResourceAny, value: bytes) -> Any:
    """`swap`: `cas-failed` hands a fresh `cas` (with the current value) back to the guest."""
    state = current()
    c = state.table.take(store, cas, CasHandle)

    def run() -> None:
        if not c.bucket.store.swap_if(c.key, c.value, bytes(value)):
            fresh = CasHandle(c.bucket, c.key, c.bucket.store.get(c.key))
            raise _CasFailed(state.table.push(fresh, CAS))

    try:
        return WASI_ATOMICS.guarded(R_SWAP, c.bucket.traced("swap", run))
    except _CasFailed as failed:
        return R_SWAP.err(failed.handle)


class _CasFailed(Exception):
    def __init__(self, handle: ResourceHost) -> None:
        super().__init__("cas failed")
        self.handle = handle


# --- wasi:keyvalue/batch ------------------------------------------------------------------------


def get_many(store: Store, bucket: ResourceAny, keys: list[str]) -> Any:
    h = resource(store, bucket, StoreHandle)
    return WASI_BATCH.guarded(R_LIST, h.traced("get_many", lambda: list(h.store.get_many(keys))))


def set_many(store: Store, bucket: ResourceAny, pairs: list[tuple[str, bytes]]) -> Any:
    h = resource(store, bucket, StoreHandle)
    items = [(key, bytes(value)) for key, value in pairs]
    return WASI_BATCH.guarded(R_UNIT, h.traced("set_many", lambda: h.store.set_many(items)))


def delete_many(store: Store, bucket: ResourceAny, keys: list[str]) -> Any:
    h = resource(store, bucket, StoreHandle)
    return WASI_BATCH.guarded(R_UNIT, h.traced("delete_many", lambda: h.store.delete_many(keys)))


def definitions() -> list[InterfaceDef]:
    """The key-value interfaces."""
    spin = _store_calls(SPIN_KV, STORE)
    spin_kv: dict[str, HostFunc] = {
        "[static]store.open": spin["open"],
        "[method]store.get": spin["get"],
        "[method]store.set": spin["set"],
        "[method]store.delete": spin["delete"],
        "[method]store.exists": spin["exists"],
        "[method]store.get-keys": store_get_keys,
    }
    bucket = _store_calls(WASI_STORE, BUCKET)
    wasi_store: dict[str, HostFunc] = {
        "open": bucket["open"],
        "[method]bucket.get": bucket["get"],
        "[method]bucket.set": bucket["set"],
        "[method]bucket.delete": bucket["delete"],
        "[method]bucket.exists": bucket["exists"],
        "[method]bucket.list-keys": bucket_list_keys,
    }
    atomics: dict[str, HostFunc] = {
        "[static]cas.new": cas_new,
        "[method]cas.current": cas_current,
        "increment": increment,
        "swap": swap,
    }
    batch: dict[str, HostFunc] = {
        "get-many": get_many,
        "set-many": set_many,
        "delete-many": delete_many,
    }
    return [
        InterfaceDef(SPIN_KV.name, (STORE,), spin_kv),
        InterfaceDef(WASI_STORE.name, (BUCKET,), wasi_store),
        InterfaceDef(WASI_ATOMICS.name, (CAS,), atomics),
        InterfaceDef(WASI_BATCH.name, (), batch),
    ]


def add_to_linker(root: LinkerInstance) -> None:
    """Define the key-value interfaces."""
    define(root, definitions())
