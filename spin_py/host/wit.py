"""Lowering WIT variant-like values (result, option, variant) the way wasmtime-py expects them.

wasmtime-py decides per type whether a variant-like value is *tagged* (a `Variant(tag, payload)`)
or *untagged* (the bare payload): a type is untagged when the Python classes of its cases do not
overlap (a case without payload counts as `object`). Host functions must return exactly that
shape, or the call fails with `TypeError("expected Variant type")` / `ValueError("value not valid
for this variant")`.

Instead of guessing per function, describe the WIT type with the `Shape` constants and helpers
below and let `ResultShape` build the value:

    READ = result(BYTES, STREAM_ERROR)        # result<list<u8>, stream-error>
    return READ.ok(data)   /   return READ.err(None)   # `closed`

The rule mirrors `wasmtime.component._types.VariantLikeType._tagged`; tests check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmtime.component import Record, ResourceAny, ResourceHost, Variant

Shape = frozenset[type]
"""The Python classes a WIT type's values lower from, as wasmtime-py sees them."""

NONE: Shape = frozenset({object})  # a case or result side without payload
BOOL: Shape = frozenset({bool})
INT: Shape = frozenset({int})
FLOAT: Shape = frozenset({float})
STR: Shape = frozenset({str})  # string, char, enum
BYTES: Shape = frozenset({bytes})  # list<u8>
LIST: Shape = frozenset({list})  # any other list
RECORD: Shape = frozenset({Record})
TUPLE: Shape = frozenset({tuple})
FLAGS: Shape = frozenset({set})
RESOURCE: Shape = frozenset({ResourceAny, ResourceHost})  # own<T> and borrow<T>
TAGGED: Shape = frozenset({Variant})


def _is_tagged(cases: tuple[Shape, ...]) -> bool:
    seen: set[type] = set()
    for case in cases:
        if seen & case:
            return True
        seen |= case
    return False


def variant(*cases: Shape) -> Shape:
    """The shape of a variant whose cases have the given shapes (`NONE` for no payload)."""
    if _is_tagged(cases):
        return TAGGED
    out: set[type] = set()
    for case in cases:
        out |= case
    return frozenset(out)


def option(payload: Shape) -> Shape:
    """The shape of `option<payload>`."""
    return variant(NONE, payload)


@dataclass(frozen=True)
class ResultShape:
    """Builds values of one `result<ok, err>` type in the form wasmtime-py lowers."""

    ok_shape: Shape
    err_shape: Shape

    @property
    def tagged(self) -> bool:
        return _is_tagged((self.ok_shape, self.err_shape))

    @property
    def shape(self) -> Shape:
        """The shape of this result type itself, for nesting it in another type."""
        return variant(self.ok_shape, self.err_shape)

    def ok(self, payload: Any = None) -> Any:
        """The `ok` case carrying `payload` (`None` when the ok side has no payload)."""
        return Variant("ok", payload) if self.tagged else payload

    def err(self, payload: Any = None) -> Any:
        """The `err` case carrying `payload` (`None` when the err side has no payload)."""
        return Variant("err", payload) if self.tagged else payload


def result(ok: Shape = NONE, err: Shape = NONE) -> ResultShape:
    """Describe `result<ok, err>`; omit a side that has no payload."""
    return ResultShape(ok, err)


def some_tagged(shape: Shape, payload: Any) -> Any:
    """Lower `some(payload)` of an `option` whose payload has `shape` (tagged when needed)."""
    return Variant("some", payload) if option(shape) == TAGGED else payload


def none_tagged(shape: Shape) -> Any:
    """Lower `none` of an `option` whose payload has `shape`."""
    return Variant("none") if option(shape) == TAGGED else None
