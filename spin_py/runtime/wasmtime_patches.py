"""Targeted fixes to wasmtime-py 50's component value layer: speed and thread-safety.

wasmtime-py is pinned (`wasmtime==50.0.1`); `install()` refuses any other installed version
(`SUPPORTED_WASMTIME`, read with `importlib.metadata`), checks the internals it replaces exist,
and is idempotent. The engine module calls it before creating the Engine. Installing after a
Linker exists is safe: functions registered earlier keep wasmtime-py's own call path, which
already reaches the per-thread exception slot of fix 2 (both look it up by module global).

1. **Byte lists.** wasmtime-py converts a `list<u8>` one element at a time in Python (a ctypes
   struct per byte): about 2 microseconds per byte each way, so one 64 KiB body chunk costs over
   100 ms. The C API holds the list as an array of `wasmtime_component_val_t` (a kind byte,
   then a union); for `u8` only the kind and one payload byte matter. Byte lists are converted
   here with strided bulk copies (`bytearray` extended slices, `memmove`); other lists keep the
   original code.
2. **Host exceptions per thread.** A Python exception raised by a host function is parked in
   a module global until the guest call unwinds, then re-raised by whichever thread looks
   first. With more than one guest thread, one request could receive another's exception.
   It is parked in a thread-local instead (host callbacks run on the calling thread).
3. **Variant lowering.** Untagged variant lowering tests cases against a module-level scratch
   set, which two threads can clear under each other and so pick the wrong case; the
   replacement uses the case classes of the type itself. It also stops a case that can hold
   None (an `option` payload) from claiming every value (see `_matches`).
4. **Host call signatures once.** Every host call rebuilt the function's parameter and result
   types through dozens of ctypes calls (each releasing and retaking the GIL, which a busy
   event loop thread makes slow). The converted types are kept per registered host function
   (registration handles are never reused; a function registered under one name always has
   one WIT signature: WASI 0.2.x never changes an existing function's type).
5. **Type structure once per type object.** Cases, fields, elements and the tagged/untagged
   decision are computed once per type object instead of on every value.
6. **Calling the handler without its type.** `Func.__call__` asks wasmtime for the function's
   type and rebuilds every parameter type on each call (a tenth of a trivial request's guest
   thread time). `call_with_resources` calls a function that takes only resource handles and
   returns nothing (`wasi:http/incoming-handler.handle`) with the handles lowered directly;
   wasmtime still checks each handle against the parameter's type and fails the call on a
   mismatch.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import threading
from typing import Any

from wasmtime import StoreContext, WasmtimeError
from wasmtime import _ffi as ffi
from wasmtime.component import (
    Func,
    FuncType,
    ResourceHost,
    ValType,
    Variant,
    _enter,
    _linker,
    _types,
)

from spin_py.errors import ConfigError
from spin_py.host.table import Store

SUPPORTED_WASMTIME = "50.0.1"
"""The wasmtime-py version these fixes were written for and tested with."""

_VAL_SIZE = ctypes.sizeof(ffi.wasmtime_component_val_t)
_PAYLOAD = ffi.wasmtime_component_val_t.of.offset
_KIND_U8 = ffi.WASMTIME_COMPONENT_U8.value
_SEGMENT = 16 * 1024
"""Elements converted per bulk copy; bounds the per-thread scratch buffer to 512 KiB."""

_ORIGINAL_TO_C = _types.ListType.convert_to_c
_ORIGINAL_FUNC_IMPL = _linker.func_impl
"""Kept alive here: host functions registered before `install()` call into this ctypes callback
from C; replacing the module attribute would otherwise free it under them (a crash)."""
_ORIGINAL_FROM_C = _types.ListType.convert_from_c
_local = threading.local()
_installed = False


# -- 1. byte lists -----------------------------------------------------------------------------


def _scratch_buffer() -> bytearray:
    """This thread's template: `_SEGMENT` u8 values with kinds set; payload bytes are scratch."""
    buf: bytearray | None = getattr(_local, "scratch", None)
    if buf is None:
        buf = bytearray(_SEGMENT * _VAL_SIZE)
        buf[0::_VAL_SIZE] = bytes((_KIND_U8,)) * _SEGMENT
        _local.scratch = buf
    return buf


def _fill(address: int, data: bytes | bytearray) -> None:
    """Write `data` as consecutive u8 component values starting at `address`."""
    buf = _scratch_buffer()
    view = memoryview(data)
    for start in range(0, len(view), _SEGMENT):
        chunk = view[start : start + _SEGMENT]
        size = len(chunk) * _VAL_SIZE
        buf[_PAYLOAD : _PAYLOAD + size : _VAL_SIZE] = chunk
        source = (ctypes.c_char * size).from_buffer(buf)
        ctypes.memmove(address + start * _VAL_SIZE, source, size)


def _list_to_c(self: _types.ListType, store: Any, val: Any, ptr: Any) -> None:
    if not self._is_bytes():
        _ORIGINAL_TO_C(self, store, val, ptr)
        return
    if not isinstance(val, bytes | bytearray):
        raise TypeError("expected bytes value")
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, len(val))
    if val:
        _fill(ctypes.cast(raw.data, ctypes.c_void_p).value or 0, val)
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def _list_from_c(self: _types.ListType, c: Any) -> Any:
    if not self._is_bytes():
        return _ORIGINAL_FROM_C(self, c)
    assert c.kind == ffi.WASMTIME_COMPONENT_LIST.value
    size = c.of.list.size
    try:
        if size == 0:
            return b""
        return ctypes.string_at(c.of.list.data, size * _VAL_SIZE)[_PAYLOAD::_VAL_SIZE]
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(c.of.list))


# -- 2. host exceptions per thread -------------------------------------------------------------


def _catch_exceptions(store_raw: Any, func: Any) -> Any:
    """Run a host callback; turn a Python exception into a wasmtime error, parking it."""
    store = StoreContext(store_raw)
    error: WasmtimeError | None = None
    try:
        func(store)
    except WasmtimeError as err:
        error = err
    except Exception as exc:
        _local.exception = exc
        error = WasmtimeError("python exception")
    finally:
        store._invalidate()
    if error is None:
        return 0
    return ctypes.cast(error._consume(), ctypes.c_void_p).value


def _raise_parked_exception() -> None:
    """Re-raise the exception a host callback of this thread parked, if any."""
    exc: Exception | None = getattr(_local, "exception", None)
    if exc is not None:
        _local.exception = None
        raise exc


# -- 3. variant lowering -----------------------------------------------------------------------


_Case = tuple[str, Any, tuple[type, ...], bool]


def _case_classes(self: _types.VariantLikeType) -> list[_Case]:
    """(name, type, classes other than `object`, whether `object` is one) per case, computed
    once per type object."""
    memo: list[_Case] | None = self.__dict__.get("_spin_cases")
    if memo is None:
        memo = []
        for name, ty in self._cases():
            classes: set[type] = set()
            if ty is not None:
                ty.add_classes(classes)
            memo.append((name, ty, tuple(classes - {object}), object in classes))
        self.__dict__["_spin_cases"] = memo
    return memo


def _matches(val: Any, classes: tuple[type, ...], has_none: bool) -> bool:
    """Whether an untagged value belongs to a case.

    `object` in a case's classes always comes from a payload-less case nested in it (e.g.
    `option<T>`'s `none`), whose only value is None. Matching it against everything, as
    wasmtime-py does, makes e.g. `result<option<T>, error-code>` unable to lower `err`.
    """
    return (has_none and val is None) or isinstance(val, classes)


def _lower(self: _types.VariantLikeType, store: Any, val: Any) -> tuple[str, Any]:
    tagged = self._tagged()
    if tagged and not isinstance(val, Variant):
        raise TypeError("expected Variant type")
    for name, ty, classes, has_none in _case_classes(self):
        if tagged:
            if name != val.tag:
                continue
        elif ty is None:
            if val is not None:
                continue
        elif not _matches(val, classes, has_none):
            continue
        if ty is None:
            return (name, None)
        raw = ffi.wasmtime_component_val_t()
        ty.convert_to_c(store, val.payload if tagged else val, ctypes.pointer(raw))
        return (name, ffi.wasmtime_component_val_new(ctypes.byref(raw)))
    raise ValueError("value not valid for this variant")


# -- 4. host call signatures --------------------------------------------------------------------

_signatures: dict[int, tuple[tuple[ValType, ...], ValType | None]] = {}


def _signature(idx: int, ty_raw: Any, store: Any) -> tuple[tuple[ValType, ...], ValType | None]:
    signature = _signatures.get(idx)
    if signature is None:
        with FuncType._from_ptr(ty_raw, owner=store) as fty:
            signature = (tuple(ty for _, ty in fty.params), fty.result)
        _signatures[idx] = signature
    return signature


@ffi.wasmtime_component_func_callback_t  # type: ignore[misc]
def _func_impl(idx, context, ty_raw, args, nargs, results, nresults):  # type: ignore[no-untyped-def]
    def run(store: StoreContext) -> None:
        params, result_ty = _signature(idx or 0, ty_raw, store)
        if len(params) != nargs:
            raise WasmtimeError(f"host function got {nargs} arguments, expected {len(params)}")
        func = _linker.FUNCTIONS.get(idx or 0)
        result = func(store, *[ty.convert_from_c(args[i]) for i, ty in enumerate(params)])
        if result_ty is None:
            if result is not None:
                raise TypeError(f"host function returned {result!r} for a function without result")
        else:
            result_ty.convert_to_c(store, result, results)

    return _catch_exceptions(context, run)


# -- 6. calling the handler ------------------------------------------------------------------------


def call_with_resources(func: Func, store: Store, *handles: ResourceHost) -> None:
    """`func(store, *handles)` for a component function whose parameters are all resources and
    which has no result, without building its type (fix 6). Errors and host exceptions surface
    as from `Func.__call__`."""
    count = len(handles)
    params = (ffi.wasmtime_component_val_t * count)()
    lowered = 0
    try:
        for handle in handles:
            param = params[lowered]
            param.kind = ffi.WASMTIME_COMPONENT_RESOURCE
            param.of.resource = handle.to_any(store)._consume()
            lowered += 1

        def run() -> Any:
            return ffi.wasmtime_component_func_call(
                ctypes.byref(func._func), store._context(), params, count, None, 0
            )

        _enter.enter_wasm(run)
    finally:
        for i in range(lowered):
            ffi.wasmtime_component_val_delete(ctypes.byref(params[i]))


# -- 5. type structure once ----------------------------------------------------------------------


def _memoize_method(cls: type, name: str) -> None:
    original = getattr(cls, name)
    key = f"_spin_memo_{name}"

    def memoized(self: Any) -> Any:
        try:
            return self.__dict__[key]
        except KeyError:
            value = self.__dict__[key] = original(self)
            return value

    setattr(cls, name, memoized)


def _memoize_property(cls: type, name: str) -> None:
    original = getattr(cls, name).fget
    key = f"_spin_memo_{name}"

    def memoized(self: Any) -> Any:
        try:
            return self.__dict__[key]
        except KeyError:
            value = self.__dict__[key] = original(self)
            return value

    setattr(cls, name, property(memoized))


_MEMOIZED_METHODS: tuple[tuple[type, str], ...] = (
    (_types.VariantLikeType, "_tagged"),
    (_types.VariantType, "_cases"),
    (_types.OptionType, "_cases"),
    (_types.ResultType, "_cases"),
    (_types.ListType, "_is_bytes"),
)
_MEMOIZED_PROPERTIES: tuple[tuple[type, str], ...] = (
    (_types.ListType, "element"),
    (_types.RecordType, "fields"),
    (_types.TupleType, "elements"),
    (_types.EnumType, "names"),
    (_types.FlagsType, "names"),
)


class UnsupportedWasmtime(ConfigError):
    """The installed wasmtime-py is not the version these fixes were written for (a
    `SpinPyError`: `spin-py` prints the message, without a traceback)."""


def check_version(found: str | None = None) -> None:
    """Raise `UnsupportedWasmtime` unless wasmtime-py `SUPPORTED_WASMTIME` is installed (or
    `found`, when given, is that version)."""
    version = found if found is not None else importlib.metadata.version("wasmtime")
    if version != SUPPORTED_WASMTIME:
        raise UnsupportedWasmtime(
            f"spin-py needs wasmtime-py {SUPPORTED_WASMTIME} (it patches that version's "
            f"internals), but wasmtime-py {version} is installed: "
            f"pip install wasmtime=={SUPPORTED_WASMTIME}"
        )


def install() -> None:
    """Apply the fixes (idempotent). Functions a Linker registered earlier keep wasmtime-py's
    own callback (without fix 4) and still work. Raises `UnsupportedWasmtime` for another
    wasmtime-py version, RuntimeError if its internals are not the ones these fixes replace."""
    global _installed
    if _installed:
        return
    check_version()
    for owner, name in (
        (_types.ListType, "convert_to_c"),
        (_types.ListType, "convert_from_c"),
        (_types.VariantLikeType, "_lower"),
        (_linker, "catch_exceptions"),
        (_linker, "func_impl"),
        (_linker, "FUNCTIONS"),
        (_enter, "maybe_raise_last_exn"),
        (_enter, "catch_exceptions"),
        *_MEMOIZED_METHODS,
        *_MEMOIZED_PROPERTIES,
    ):
        if not hasattr(owner, name):
            where = getattr(owner, "__name__", repr(owner))
            raise RuntimeError(f"unsupported wasmtime-py: {where}.{name} is missing")
    _types.ListType.convert_to_c = _list_to_c  # type: ignore[method-assign]
    _types.ListType.convert_from_c = _list_from_c  # type: ignore[method-assign]
    _types.VariantLikeType._lower = _lower  # type: ignore[method-assign]
    setattr(_linker, "catch_exceptions", _catch_exceptions)  # noqa: B010 (not re-exported)
    setattr(_enter, "catch_exceptions", _catch_exceptions)  # noqa: B010
    setattr(_enter, "maybe_raise_last_exn", _raise_parked_exception)  # noqa: B010
    setattr(_linker, "func_impl", _func_impl)  # noqa: B010
    for method_owner, name in _MEMOIZED_METHODS:
        _memoize_method(method_owner, name)
    for property_owner, name in _MEMOIZED_PROPERTIES:
        _memoize_property(property_owner, name)
    _installed = True


def installed() -> bool:
    """Whether `install()` has run in this process."""
    return _installed
