"""The host object behind `wasi:http/types` `fields` (headers and trailers).

A `Fields` keeps `(name, value)` pairs in insertion order, names lower-cased (as HTTP/1 hosts
hand them to guests), and answers the WIT methods. The rules are wasmtime's:

- a name must be an HTTP token and a value may hold any byte but CR, LF, NUL and other control
  characters except tab (`header-error.invalid-syntax`);
- hop-by-hop and host-controlled names (`FORBIDDEN_HEADERS`) cannot be set by a guest
  (`header-error.forbidden`);
- fields handed out as children of a request, response or trailers future are immutable
  (`header-error.immutable`); `clone` gives a mutable copy;
- a mutable map holds at most `MAX_FIELDS_SIZE` bytes (names, values and a per-entry overhead);
  growing past it traps, as wasmtime does for wasi:http 0.2;
- a map the guest built (`new`, `from-list`, `clone`) is charged, by its accounted size, to its
  request's `HostBudget` (`charge_to`) while the guest holds it or moved it into another host
  object, and refunded when the guest drops it: thousands of large maps trap instead of filling
  host memory (docs/security.md, "Memory").

Checks run in that order: syntax, forbidden, immutable, size. Lookups with an invalid name find
nothing instead of failing. Pure Python: no wasmtime here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from spin_py.host.table import HostBudget, HostTrap

__all__ = [
    "FORBIDDEN_HEADERS",
    "MAX_FIELDS_SIZE",
    "Fields",
    "HeaderError",
    "HeaderErrorCase",
    "valid_name",
    "valid_value",
]

HeaderErrorCase = Literal["invalid-syntax", "forbidden", "immutable"]

FORBIDDEN_HEADERS: frozenset[str] = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "http2-settings",
    }
)
"""Names a guest may not put in fields it builds (the default set wasmtime forbids)."""

MAX_FIELDS_SIZE = 1024 * 1024
"""Upper bound, in accounted bytes, of one mutable `fields` (keeps guests from filling host
memory with headers)."""

ENTRY_OVERHEAD = 32
"""Accounted bytes per entry on top of its name and value, so empty values still count."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_INVALID_VALUE_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class HeaderError(Exception):
    """A `header-error` to return to the guest; `case` is the WIT case name."""

    def __init__(self, case: HeaderErrorCase) -> None:
        super().__init__(case)
        self.case: HeaderErrorCase = case


def valid_name(name: str) -> bool:
    """True when `name` is a syntactically valid header name (an HTTP token)."""
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        return False
    return _TOKEN.fullmatch(raw) is not None


def valid_value(value: bytes) -> bool:
    """True when `value` may be sent as a header value (no CR, LF, NUL or DEL)."""
    return _INVALID_VALUE_BYTES.search(value) is None


def _entry_size(name: str, value: bytes) -> int:
    return len(name) + len(value) + ENTRY_OVERHEAD


@dataclass
class Fields:
    """An ordered multi-map of header names (lower-case) to byte values."""

    _entries: list[tuple[str, bytes]] = field(default_factory=list)
    mutable: bool = True
    forbidden: frozenset[str] = FORBIDDEN_HEADERS
    _size: int = 0
    _budget: HostBudget | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_guest(
        cls,
        entries: Iterable[tuple[str, bytes]],
        forbidden: frozenset[str] = FORBIDDEN_HEADERS,
    ) -> Fields:
        """`fields.from-list`: validate every entry; raises `HeaderError`."""
        fields = cls(forbidden=forbidden)
        for name, value in entries:
            fields.append(name, bytes(value))
        return fields

    @classmethod
    def trusted(cls, entries: Iterable[tuple[str, bytes]], *, mutable: bool = False) -> Fields:
        """Fields built by the host (a client's request headers): no validation, no limit."""
        items = [(name.lower(), value) for name, value in entries]
        return cls(items, mutable=mutable, _size=sum(_entry_size(n, v) for n, v in items))

    def view(self) -> Fields:
        """An immutable child sharing this map's entries (for `headers()` getters)."""
        return Fields(self._entries, mutable=False, forbidden=self.forbidden, _size=self._size)

    def charge_to(self, budget: HostBudget) -> Fields:
        """Charge this map's size to `budget`, and its growth from now on (a map the guest
        built); traps when the budget is spent. Returns self."""
        budget.charge(self._size, "fields")
        self._budget = budget
        return self

    def on_drop(self) -> None:
        """The guest dropped its handle: refund what this map was charged."""
        if self._budget is not None:
            self._budget.refund(self._size)
            self._budget = None

    def freeze(self) -> None:
        """Make this map immutable (it was moved into a request, response or trailers)."""
        self.mutable = False

    def get(self, name: str) -> list[bytes]:
        """Every value of `name`, in order (empty if absent or not a valid name)."""
        key = name.lower()
        return [v for n, v in self._entries if n == key]

    def has(self, name: str) -> bool:
        """True when `name` has at least one value."""
        key = name.lower()
        return any(n == key for n, _ in self._entries)

    def set(self, name: str, values: list[bytes]) -> None:
        """Replace every value of `name` with `values` (an empty list deletes it)."""
        key = self._check_name(name)
        for value in values:
            self._check_value(value)
        self._check_mutable()
        kept = [(n, v) for n, v in self._entries if n != key]
        added = [(key, bytes(v)) for v in values]
        self._replace(kept + added)

    def delete(self, name: str) -> None:
        """Remove every value of `name` (absent names are fine)."""
        key = self._check_name(name)
        self._check_mutable()
        self._replace([(n, v) for n, v in self._entries if n != key])

    def append(self, name: str, value: bytes) -> None:
        """Add one value for `name` after the existing ones."""
        key = self._check_name(name)
        self._check_value(value)
        self._check_mutable()
        size = self._size + _entry_size(key, value)
        self._resize(size)
        self._entries.append((key, bytes(value)))

    def entries(self) -> list[tuple[str, bytes]]:
        """Every `(name, value)` pair in order."""
        return list(self._entries)

    def clone(self) -> Fields:
        """A mutable deep copy (mutability is not inherited)."""
        return Fields(list(self._entries), mutable=True, forbidden=self.forbidden, _size=self._size)

    def __len__(self) -> int:
        return len(self._entries)

    def _check_name(self, name: str) -> str:
        if not valid_name(name):
            raise HeaderError("invalid-syntax")
        key = name.lower()
        if key in self.forbidden:
            raise HeaderError("forbidden")
        return key

    @staticmethod
    def _check_value(value: bytes) -> None:
        if not valid_value(value):
            raise HeaderError("invalid-syntax")

    def _check_mutable(self) -> None:
        if not self.mutable:
            raise HeaderError("immutable")

    def _resize(self, size: int) -> None:
        """Check and account the map's new size (before changing the entries)."""
        if size > MAX_FIELDS_SIZE:
            raise HostTrap(f"fields exceed the host limit of {MAX_FIELDS_SIZE} bytes")
        if self._budget is not None:
            self._budget.charge(size - self._size, "fields")
        self._size = size

    def _replace(self, entries: list[tuple[str, bytes]]) -> None:
        self._resize(sum(_entry_size(n, v) for n, v in entries))
        self._entries[:] = entries
