"""The per-request resource table: guest-visible handles (`rep` integers) to host objects.

Every WIT resource the host defines gets a `ResourceKind` (a stable integer tag, the
`wasmtime.component.ResourceType.host(tag)` wasmtime checks handles against). Host functions use:

- `push(obj, kind)` to hand the guest a new `own<T>` (returns the `ResourceHost` to return);
- `get(store, handle, cls)` for a `borrow<T>` parameter (ends the borrow, as wasmtime requires);
- `take(store, handle, cls)` for an `own<T>` parameter (ownership moves to the host);
- `drop(rep)` is what the resource destructor registered with the linker calls.

Misuse (unknown handle, wrong resource type) raises `HostTrap`: the guest call traps.

What a guest makes the host hold is bounded per request (docs/security.md, "Memory"): at most
`MAX_LIVE_HANDLES` live handles (one more traps), and a `HostBudget` of `MAX_HOST_BYTES` for the
host objects whose size the guest chooses (`fields` it builds, bytes buffered in its outgoing
bodies), charged by those objects and refunded when they shrink or go.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import wasmtime
from wasmtime.component import ResourceAny, ResourceHost, ResourceType

T = TypeVar("T")

Store: TypeAlias = wasmtime.Store | wasmtime.StoreContext
"""The store a host function is called with: wasmtime passes its `StoreContext`; tests calling
host functions directly pass a `wasmtime.Store`."""


class HostTrap(Exception):
    """Raised by a host function to trap the guest (misuse, host bug, deadline)."""


class DeadlineExceeded(HostTrap):
    """A blocking host call gave up: the request deadline passed or the request was cancelled."""


MAX_LIVE_HANDLES = 10_000
"""Live handles one request may hold at once; guests hold tens (docs/security.md, "Memory")."""

MAX_HOST_BYTES = 64 * 1024 * 1024
"""Bytes of guest-sized host objects one request may hold at once (see `HostBudget`)."""


class HostBudget:
    """Bytes the host holds for one request's guest-sized objects. Thread-safe: the guest
    thread charges, the event loop refunds (a body batch it took)."""

    __slots__ = ("_lock", "limit", "used")

    def __init__(self, limit: int = MAX_HOST_BYTES) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def charge(self, size: int, what: str) -> None:
        """Account `size` more bytes (negative: fewer) for `what`; traps past `limit`."""
        with self._lock:
            used = max(0, self.used + size)
            if size > 0 and used > self.limit:
                raise HostTrap(
                    f"{what}: the request's host objects would hold {used} bytes, over the "
                    f"host limit of {self.limit} bytes per request"
                )
            self.used = used

    def refund(self, size: int) -> None:
        """`size` bytes are no longer held."""
        with self._lock:
            self.used = max(0, self.used - size)


class GuestExit(HostTrap):
    """The guest called `wasi:cli/exit`; unwinds the guest call like a trap."""

    def __init__(self, code: int) -> None:
        super().__init__(f"guest exited with status {code}")
        self.code = code


@dataclass(frozen=True)
class ResourceKind:
    """One WIT resource type defined by the host, e.g. `wasi:io/streams` `input-stream`."""

    interface: str
    name: str
    tag: int

    def resource_type(self) -> ResourceType:
        return ResourceType.host(self.tag)


_KINDS: dict[tuple[str, str], ResourceKind] = {}
_KIND_LOCK = threading.Lock()
_TAGS = itertools.count(1)


def resource_kind(interface: str, name: str) -> ResourceKind:
    """The kind for resource `name` of `interface` (unversioned, e.g. "wasi:io/streams").

    Idempotent: every module asking for the same resource gets the same tag, so a handle made
    by one interface (`wasi:http/types` returning an `input-stream`) is accepted by another.
    """
    key = (interface, name)
    with _KIND_LOCK:
        kind = _KINDS.get(key)
        if kind is None:
            kind = ResourceKind(interface, name, next(_TAGS))
            _KINDS[key] = kind
        return kind


@dataclass
class _Entry:
    obj: Any
    kind: ResourceKind


@dataclass
class ResourceTable:
    """Host objects of one request (one Store), by rep."""

    _entries: dict[int, _Entry] = field(default_factory=dict)
    _next: int = 1
    budget: HostBudget = field(default_factory=HostBudget)
    """Bytes of guest-sized host objects of this request (see `HostBudget`)."""
    max_handles: int = MAX_LIVE_HANDLES

    def push(self, obj: object, kind: ResourceKind) -> ResourceHost:
        """Store `obj` and return an owned handle of `kind` for the guest; traps when the
        request already holds `max_handles` live handles."""
        if len(self._entries) >= self.max_handles:
            raise HostTrap(
                f"too many live resources: the guest holds {len(self._entries)} handles, the "
                f"host limit per request (a new {kind.name} was refused)"
            )
        rep = self._next
        self._next += 1
        self._entries[rep] = _Entry(obj, kind)
        return ResourceHost.own(rep, kind.tag)

    def get(self, store: Store, handle: ResourceAny | ResourceHost, cls: type[T]) -> T:
        """The object behind a borrowed handle; converts (and so ends) the borrow."""
        host = handle.to_host(store) if isinstance(handle, ResourceAny) else handle
        return self._lookup(host.rep, host.type, cls)

    def take(self, store: Store, handle: ResourceAny | ResourceHost, cls: type[T]) -> T:
        """Remove and return the object behind an owned handle passed to the host."""
        host = handle.to_host(store) if isinstance(handle, ResourceAny) else handle
        obj = self._lookup(host.rep, host.type, cls)
        del self._entries[host.rep]
        return obj

    def peek(self, rep: int) -> object | None:
        """The object at `rep`, if any (no type check)."""
        entry = self._entries.get(rep)
        return None if entry is None else entry.obj

    def drop(self, rep: int) -> None:
        """The guest dropped its handle: forget it and notify the object."""
        entry = self._entries.pop(rep, None)
        if entry is None:
            return
        # A plain attribute lookup: isinstance() against a runtime-checkable Protocol inspects
        # every member and showed up in the per-request profile (docs/performance.md).
        on_drop = getattr(entry.obj, "on_drop", None)
        if on_drop is not None:
            on_drop()

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, cls: type) -> int:
        """How many live objects are instances of `cls` (for a per-request cap on handles)."""
        return sum(isinstance(entry.obj, cls) for entry in self._entries.values())

    def objects(self) -> list[object]:
        """Every live object, oldest first (for end-of-request cleanup)."""
        return [e.obj for e in self._entries.values()]

    def clear(self) -> list[object]:
        """Forget every entry (no `on_drop`); return the objects, oldest first."""
        objects = self.objects()
        self._entries.clear()
        return objects

    def _lookup(self, rep: int, tag: int, cls: type[T]) -> T:
        entry = self._entries.get(rep)
        if entry is None:
            raise HostTrap(f"unknown handle {rep}")
        if entry.kind.tag != tag or not isinstance(entry.obj, cls):
            raise HostTrap(f"handle {rep} is a {entry.kind.name}, not a {cls.__name__} (tag {tag})")
        return entry.obj
