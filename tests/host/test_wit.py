"""`spin_py.host.wit` against wasmtime-py's own rules, on real types from a component.

The types come from the imports of a code-less component (component text), so they are exactly
what wasmtime hands a host function. For each, the shape `wit.py` computes must agree with
`VariantLikeType._tagged()` / `add_classes` at every nesting level, and the values `ResultShape`
builds must lower through wasmtime-py's conversion and lift back to the same case.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pytest
import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import (
    BorrowType,
    Component,
    ComponentInstanceType,
    FuncType,
    OptionType,
    OwnType,
    ResourceAny,
    ResourceHost,
    ResultType,
    ValType,
    Variant,
    VariantType,
)

from spin_py.host import wit
from spin_py.host.table import ResourceKind, resource_kind
from spin_py.runtime.engine import get_engine

TYPES_WAT = """
(component
  (import "test:wit/types" (instance
    (export "x" (type $x (sub resource)))
    (export "error" (type $error (sub resource)))
    (type $stream-error (variant (case "last-operation-failed" (own $error)) (case "closed")))
    (export "stream-error" (type $se (eq $stream-error)))
    (type $header-error (variant (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (export "header-error" (type $he (eq $header-error)))
    (type $dns (record (field "rcode" (option string)) (field "info-code" (option u16))))
    (export "dns-error-payload" (type $dns-payload (eq $dns)))
    (type $error-code (variant
      (case "dns-timeout")
      (case "dns-error" $dns-payload)
      (case "connection-limit-reached")
      (case "http-request-body-size" (option u64))
      (case "internal-error" (option string))))
    (export "error-code" (type $ec (eq $error-code)))
    (export "read" (func (result (result (list u8) (error $se)))))
    (export "write" (func (result (result (error $se)))))
    (export "check-write" (func (result (result u64 (error $se)))))
    (export "header" (func (result (result (own $x) (error $he)))))
    (export "trailers"
      (func (result (option (result (result (option (own $x)) (error $ec)))))))
  ))
)
"""

STREAM_ERROR = wit.variant(wit.RESOURCE, wit.NONE)
HEADER_ERROR = wit.variant(wit.NONE, wit.NONE, wit.NONE)
ERROR_CODE = wit.variant(wit.NONE, wit.RECORD, wit.NONE, wit.option(wit.INT), wit.option(wit.STR))
TRAILERS_INNER = wit.result(wit.option(wit.RESOURCE), ERROR_CODE)
TRAILERS_OUTER = wit.result(TRAILERS_INNER.shape, wit.NONE)

KIND: ResourceKind = resource_kind("test:wit/types", "x")


@pytest.fixture(scope="module")
def funcs() -> dict[str, FuncType]:
    engine = get_engine()
    component = Component(engine, TYPES_WAT)
    instance = component.type.imports(engine)["test:wit/types"].ty
    assert isinstance(instance, ComponentInstanceType)
    return {
        name: item.ty
        for name, item in instance.exports(engine).items()
        if isinstance(item.ty, FuncType)
    }


def result_type(funcs: dict[str, FuncType], name: str) -> ValType:
    ty = funcs[name].result
    assert ty is not None
    return ty


def shape_of(ty: ValType | None) -> wit.Shape:
    """The shape wit.py computes for a wasmtime type (a mirror of how the helpers describe it)."""
    if ty is None:
        return wit.NONE
    if isinstance(ty, ResultType):
        return wit.result(shape_of(ty.ok), shape_of(ty.err)).shape
    if isinstance(ty, OptionType):
        return wit.option(shape_of(ty.payload))
    if isinstance(ty, VariantType):
        return wit.variant(*(shape_of(case) for _, case in ty.cases))
    if isinstance(ty, OwnType | BorrowType):
        return wit.RESOURCE
    classes: set[type] = set()
    ty.add_classes(classes)
    return frozenset(classes)


def check_agreement(ty: ValType | None) -> None:
    """At every variant-like level: wit.py's tagged decision and classes equal wasmtime's."""
    if ty is None:
        return
    wasmtime_classes: set[type] = set()
    ty.add_classes(wasmtime_classes)
    assert shape_of(ty) == frozenset(wasmtime_classes), ty
    if isinstance(ty, ResultType):
        assert wit.result(shape_of(ty.ok), shape_of(ty.err)).tagged == ty._tagged()
        check_agreement(ty.ok)
        check_agreement(ty.err)
    elif isinstance(ty, OptionType):
        assert (wit.option(shape_of(ty.payload)) == wit.TAGGED) == ty._tagged()
        check_agreement(ty.payload)
    elif isinstance(ty, VariantType):
        for _, case in ty.cases:
            check_agreement(case)


@pytest.mark.parametrize("name", ["read", "write", "check-write", "header", "trailers"])
def test_shapes_agree_with_wasmtime_at_every_level(funcs: dict[str, FuncType], name: str) -> None:
    check_agreement(result_type(funcs, name))


def test_expected_tagging_of_the_wasi_types(funcs: dict[str, FuncType]) -> None:
    assert STREAM_ERROR != wit.TAGGED  # last-operation-failed(resource) | closed(None)
    assert not wit.result(wit.BYTES, STREAM_ERROR).tagged
    assert wit.result(wit.NONE, STREAM_ERROR).tagged  # both sides can be None
    assert not wit.result(wit.INT, STREAM_ERROR).tagged
    assert HEADER_ERROR == wit.TAGGED
    assert not wit.result(wit.RESOURCE, HEADER_ERROR).tagged
    assert ERROR_CODE == wit.TAGGED
    assert TRAILERS_OUTER.tagged and not TRAILERS_INNER.tagged
    assert wit.option(TRAILERS_OUTER.shape) != wit.TAGGED
    assert result_type(funcs, "write")._tagged() is True  # type: ignore[attr-defined]
    assert result_type(funcs, "read")._tagged() is False  # type: ignore[attr-defined]


def roundtrip(store: wasmtime.Store, ty: ValType, value: Any) -> Any:
    """Lower `value` as `ty` with wasmtime-py's conversion, then lift it back."""
    raw = ffi.wasmtime_component_val_t()
    ty.convert_to_c(store, value, ctypes.pointer(raw))
    return ty.convert_from_c(raw)


def own() -> ResourceHost:
    return ResourceHost.own(7, KIND.tag)


@pytest.fixture
def store() -> wasmtime.Store:
    return wasmtime.Store(get_engine())


def test_stream_results_lower_and_lift(funcs: dict[str, FuncType], store: wasmtime.Store) -> None:
    read = result_type(funcs, "read")
    assert roundtrip(store, read, wit.result(wit.BYTES, STREAM_ERROR).ok(b"abc")) == b"abc"
    assert roundtrip(store, read, wit.result(wit.BYTES, STREAM_ERROR).err(None)) is None
    failed = roundtrip(store, read, wit.result(wit.BYTES, STREAM_ERROR).err(own()))
    assert isinstance(failed, ResourceAny)

    write = result_type(funcs, "write")
    unit = wit.result(wit.NONE, STREAM_ERROR)
    assert roundtrip(store, write, unit.ok()) == Variant("ok")
    assert roundtrip(store, write, unit.err(None)) == Variant("err", None)
    failed_write = roundtrip(store, write, unit.err(own()))
    assert failed_write.tag == "err" and isinstance(failed_write.payload, ResourceAny)

    count = wit.result(wit.INT, STREAM_ERROR)
    assert roundtrip(store, result_type(funcs, "check-write"), count.ok(4096)) == 4096
    assert roundtrip(store, result_type(funcs, "check-write"), count.err(None)) is None


def test_header_result_lowers_and_lifts(funcs: dict[str, FuncType], store: wasmtime.Store) -> None:
    header = result_type(funcs, "header")
    shape = wit.result(wit.RESOURCE, HEADER_ERROR)
    assert isinstance(roundtrip(store, header, shape.ok(own())), ResourceAny)
    assert roundtrip(store, header, shape.err(Variant("forbidden"))) == Variant("forbidden")


def test_nested_trailers_option_lowers_every_case(
    funcs: dict[str, FuncType], store: wasmtime.Store
) -> None:
    trailers = result_type(funcs, "trailers")
    pending = wit.none_tagged(TRAILERS_OUTER.shape)
    assert roundtrip(store, trailers, pending) is None

    def ready(inner: Any) -> Any:
        return wit.some_tagged(TRAILERS_OUTER.shape, TRAILERS_OUTER.ok(inner))

    assert roundtrip(store, trailers, ready(TRAILERS_INNER.ok(None))) == Variant("ok", None)
    lifted = roundtrip(store, trailers, ready(TRAILERS_INNER.ok(own())))
    assert isinstance(lifted.payload, ResourceAny)
    # err(error-code) inside an untagged result whose ok side can be None: needs the
    # lowering fix in wasmtime_patches (the ok case no longer claims every value).
    timeout = roundtrip(store, trailers, ready(TRAILERS_INNER.err(Variant("dns-timeout"))))
    assert timeout == Variant("ok", Variant("dns-timeout"))
    taken = roundtrip(store, trailers, wit.some_tagged(TRAILERS_OUTER.shape, TRAILERS_OUTER.err()))
    assert taken == Variant("err", None)
