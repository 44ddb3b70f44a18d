"""The key-value backend protocol and its errors.

One `KeyValueStore` is one labelled store (e.g. `default`). Implementations are synchronous and
safe to call from several threads at once; the SQLite one is also safe across processes sharing
the file. Every operation `fermyon:spin/key-value` and `wasi:keyvalue/{store,atomics,batch}` need
is here, so the WIT glue only translates:

- `increment` is atomic; a missing key counts as 0.
- `swap_if(key, expected, value)` is a compare-and-swap on the value (`expected=None`: only if
  the key is absent); it returns False when the value is no longer `expected` (`cas-failed`).
- `get_many` answers every requested key, in order, with None for missing ones.
- `set_many` is atomic; `delete_many` deletes what exists.

Failures raise `KeyValueError`s whose `case`/`payload` are the WIT `error` case and its payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol


class KeyValueError(Exception):
    """A key-value failure the guest sees as the interface's `error` variant."""

    case: ClassVar[str] = "other"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.payload: str | None = message


class NoSuchStore(KeyValueError):
    """No store has this label."""

    case = "no-such-store"

    def __init__(self, label: str) -> None:
        super().__init__(f"no key-value store labelled {label!r}")
        self.payload = None


class AccessDenied(KeyValueError):
    """The component's `key_value_stores` does not list this label."""

    case = "access-denied"

    def __init__(self, label: str, component_id: str) -> None:
        super().__init__(f"component {component_id!r} may not use key-value store {label!r}")
        self.payload = None


class StoreError(KeyValueError):
    """The backend failed (`other(message)`)."""


class KeyValueStore(Protocol):
    """One labelled key-value store."""

    label: str
    system: str
    """`db.system.name` for host-call spans: "sqlite" or "redis"."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def get_keys(self) -> list[str]: ...
    def keys(self) -> list[str]:
        """Same as `get_keys`."""
        ...

    def increment(self, key: str, delta: int) -> int: ...
    def swap_if(self, key: str, expected: bytes | None, value: bytes) -> bool: ...
    def get_many(self, keys: Sequence[str]) -> list[tuple[str, bytes | None]]: ...
    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None: ...
    def delete_many(self, keys: Sequence[str]) -> None: ...
    def close(self) -> None: ...


I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


def check_i64(value: int, what: str) -> int:
    """`value` if it fits in a signed 64-bit integer, else `StoreError`."""
    if not I64_MIN <= value <= I64_MAX:
        raise StoreError(f"{what} overflows a 64-bit integer")
    return value
