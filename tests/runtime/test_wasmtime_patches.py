"""The wasmtime-py fixes: byte lists in bulk, other lists unchanged, per-call signatures."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from wasmtime.component import Component, FuncType, Linker, ResourceHost, ResourceType

from spin_py.errors import SpinPyError
from spin_py.runtime import wasmtime_patches
from spin_py.runtime.engine import NO_DEADLINE_TICKS, get_engine

# A guest that asks the host for bytes (`get`), hands them back (`put`), and does the same
# with a list<u32> (`get-words` / `put-words`), all through canonical ABI lists in memory.
ROUNDTRIP_WAT = """
(component
  (import "test:host/bytes" (instance $h
    (export "get" (func (param "n" u32) (result (list u8))))
    (export "put" (func (param "b" (list u8))))
    (export "get-words" (func (result (list u32))))
    (export "put-words" (func (param "w" (list u32))))))
  (core module $mem
    (memory (export "memory") 40)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32) (param $align i32) (param i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $bump (i32.add (local.get $r) (local.get 3)))
      (local.get $r)))
  (core instance $mi (instantiate $mem))
  (alias core export $mi "memory" (core memory $memory))
  (alias core export $mi "realloc" (core func $realloc))
  (core func $get (canon lower (func $h "get") (memory $memory) (realloc $realloc)))
  (core func $put (canon lower (func $h "put") (memory $memory)))
  (core func $get-words (canon lower (func $h "get-words") (memory $memory) (realloc $realloc)))
  (core func $put-words (canon lower (func $h "put-words") (memory $memory)))
  (core module $m
    (import "h" "get" (func $get (param i32 i32)))
    (import "h" "put" (func $put (param i32 i32)))
    (import "h" "get-words" (func $get-words (param i32)))
    (import "h" "put-words" (func $put-words (param i32 i32)))
    (import "h" "memory" (memory 1))
    (func (export "run") (param $n i32)
      (call $get (local.get $n) (i32.const 0))
      (call $put (i32.load (i32.const 0)) (i32.load (i32.const 4)))
      (call $get-words (i32.const 8))
      (call $put-words (i32.load (i32.const 8)) (i32.load (i32.const 12)))))
  (core instance $ci (instantiate $m (with "h" (instance
    (export "get" (func $get)) (export "put" (func $put))
    (export "get-words" (func $get-words)) (export "put-words" (func $put-words))
    (export "memory" (memory $memory))))))
  (func $run (param "n" u32) (canon lift (core func $ci "run")))
  (export "run" (func $run))
)
"""


class Roundtrip:
    def __init__(self) -> None:
        engine = get_engine()
        self.payload = b""
        self.got: list[Any] = []
        linker = Linker(engine)
        with linker.root() as root, root.add_instance("test:host/bytes") as instance:
            instance.add_func("get", lambda _s, n: self.payload[:n])
            instance.add_func("put", lambda _s, data: self.got.append(data))
            instance.add_func("get-words", lambda _s: [1, 2**32 - 1, 7])
            instance.add_func("put-words", lambda _s, words: self.got.append(words))
        self.store = wasmtime.Store(engine)
        self.store.set_epoch_deadline(NO_DEADLINE_TICKS)  # epoch interruption is on
        component = Component(engine, ROUNDTRIP_WAT)
        self.instance = linker.instantiate(self.store, component)
        func = self.instance.get_func(self.store, "run")
        assert func is not None
        self.func = func

    def run(self, payload: bytes) -> list[Any]:
        self.payload, self.got = payload, []
        self.func(self.store, len(payload))
        self.func.post_return(self.store)
        return self.got


def test_installed_by_the_engine() -> None:
    get_engine()
    assert wasmtime_patches.installed()
    wasmtime_patches.install()  # idempotent


@pytest.mark.parametrize("size", [0, 1, 255, 16383, 16384, 16385, 100_000, 1_000_000])
def test_byte_lists_cross_both_ways_intact(size: int) -> None:
    payload = os.urandom(size)
    got = Roundtrip().run(payload)
    assert got[0] == payload
    assert got[1] == [1, 2**32 - 1, 7]  # a list<u32> still takes the original path


def test_many_calls_on_one_instance() -> None:
    roundtrip = Roundtrip()
    for size in (5, 70_000, 0, 3):
        assert roundtrip.run(bytes(range(256)) * (size // 256) + b"q" * (size % 256))[0] == (
            bytes(range(256)) * (size // 256) + b"q" * (size % 256)
        )


def test_a_host_function_returning_the_wrong_type_fails_the_call() -> None:
    roundtrip = Roundtrip()
    roundtrip.payload = "not bytes"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="expected bytes"):
        roundtrip.func(roundtrip.store, 3)


# -- the version guard ---------------------------------------------------------------------------


def test_the_installed_version_is_the_supported_one() -> None:
    assert importlib.metadata.version("wasmtime") == wasmtime_patches.SUPPORTED_WASMTIME
    wasmtime_patches.check_version()


def test_another_version_is_refused_with_a_clear_error() -> None:
    with pytest.raises(wasmtime_patches.UnsupportedWasmtime) as refused:
        wasmtime_patches.check_version("51.0.0")
    message = str(refused.value)
    assert "wasmtime-py 50.0.1" in message and "51.0.0 is installed" in message
    assert "pip install wasmtime==50.0.1" in message
    assert isinstance(refused.value, SpinPyError)  # printed without a traceback


# -- 4. host call signatures, converted once ------------------------------------------------------


def test_a_host_functions_signature_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    roundtrip = Roundtrip()
    before = set(wasmtime_patches._signatures)
    assert roundtrip.run(b"abc")[0] == b"abc"
    cached = {
        idx: wasmtime_patches._signatures[idx] for idx in set(wasmtime_patches._signatures) - before
    }
    assert len(cached) == 4  # get, put, get-words, put-words: one entry each

    original = FuncType._from_ptr
    host_side: list[object] = []

    def counting(ptr: Any, owner: Any = None) -> Any:
        if owner is not None:  # a host call's signature (a guest export's has no owner)
            host_side.append(ptr)
        return original(ptr, owner) if owner is not None else original(ptr)

    monkeypatch.setattr(FuncType, "_from_ptr", counting)
    assert roundtrip.run(b"defg")[0] == b"defg"
    assert host_side == []  # four host calls, every signature from the cache
    assert {idx: wasmtime_patches._signatures[idx] for idx in cached} == cached


# -- 5. type structure, computed once per type object ---------------------------------------------

TYPES_WAT = """
(component
  (import "test:host/types" (instance
    (export "bytes" (func (result (list u8))))
    (export "outcome" (func (result (result u32 (error string)))))
    (export "maybe" (func (result (option u8))))
    (export "pair" (func (result (tuple u8 string)))))))
"""


def result_type(func: str) -> Any:
    """The declared result type of `func` in `TYPES_WAT`'s import."""
    engine = get_engine()
    instance = Component(engine, TYPES_WAT).type.imports(engine)["test:host/types"].ty
    return instance.exports(engine)[func].ty.result


@pytest.mark.parametrize(
    ("func", "member"),
    [
        ("bytes", "_is_bytes"),
        ("outcome", "_cases"),
        ("outcome", "_tagged"),
        ("maybe", "_cases"),
        ("maybe", "_tagged"),
    ],
)
def test_type_structure_methods_are_computed_once(func: str, member: str) -> None:
    ty = result_type(func)
    first = getattr(ty, member)()
    assert getattr(ty, member)() is first
    vars(ty)[f"_spin_memo_{member}"] = "remembered"  # what a later call returns: the memo
    assert getattr(ty, member)() == "remembered"


@pytest.mark.parametrize(("func", "member"), [("bytes", "element"), ("pair", "elements")])
def test_type_structure_properties_are_computed_once(func: str, member: str) -> None:
    ty = result_type(func)
    first = getattr(ty, member)
    assert getattr(ty, member) is first and f"_spin_memo_{member}" in vars(ty)


def test_memoized_types_still_lower_and_lift_values() -> None:
    assert Roundtrip().run(b"xyz") == [b"xyz", [1, 2**32 - 1, 7]]


# -- installing after a Linker exists --------------------------------------------------------------

LATE_INSTALL = """
import wasmtime
from wasmtime.component import Component, FuncType, Linker, ResourceHost, ResourceType

from spin_py.errors import SpinPyError
from spin_py.runtime import wasmtime_patches
from tests.runtime.test_wasmtime_patches import ROUNDTRIP_WAT

assert not wasmtime_patches.installed()
engine = wasmtime.Engine()
linker = Linker(engine)
got = []


def get(_store, n):
    if n == 7:
        raise ValueError("raised by a host function registered before install")
    return b"b" * n


with linker.root() as root, root.add_instance("test:host/bytes") as instance:
    instance.add_func("get", get)
    instance.add_func("put", lambda _s, data: got.append(data))
    instance.add_func("get-words", lambda _s: [3])
    instance.add_func("put-words", lambda _s, words: got.append(words))
wasmtime_patches.install()
store = wasmtime.Store(engine)
func = linker.instantiate(store, Component(engine, ROUNDTRIP_WAT)).get_func(store, "run")
func(store, 100_000)
func.post_return(store)
assert got == [b"b" * 100_000, [3]], got
try:
    func(store, 7)
except ValueError as err:
    assert "before install" in str(err)
else:
    raise AssertionError("the host function's exception was lost")
print("ok")
"""


def test_install_after_a_linker_exists() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LATE_INSTALL],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# A guest exporting `take: func(t: own<thing>)` (drops the handle it gets, which runs the host's
# destructor with its rep) and `num: func(x: u32)`, for fix 6 (`call_with_resources`).
RESOURCES_WAT = """
(component
  (import "test:host/things" (instance $h
    (export "thing" (type (sub resource)))
    (export "other" (type (sub resource)))))
  (alias export $h "thing" (type $thing))
  (core func $drop (canon resource.drop $thing))
  (core module $m
    (import "h" "drop" (func $drop (param i32)))
    (func (export "take") (param i32) (call $drop (local.get 0)))
    (func (export "num") (param i32)))
  (core instance $ci (instantiate $m (with "h" (instance (export "drop" (func $drop))))))
  (func $take (param "t" (own $thing)) (canon lift (core func $ci "take")))
  (func $num (param "x" u32) (canon lift (core func $ci "num")))
  (export "take" (func $take))
  (export "num" (func $num))
)
"""


def test_the_handler_is_called_with_resources_lowered_directly() -> None:
    wasmtime_patches.install()
    engine = get_engine()
    dropped: list[int] = []
    thing, other = ResourceType.host(9101), ResourceType.host(9102)
    linker = Linker(engine)
    with linker.root() as root, root.add_instance("test:host/things") as instance:
        instance.add_resource("thing", thing, lambda _s, rep: dropped.append(rep))
        instance.add_resource("other", other, lambda _s, rep: None)
    store = wasmtime.Store(engine)
    store.set_epoch_deadline(NO_DEADLINE_TICKS)
    guest = linker.instantiate(store, Component(engine, RESOURCES_WAT))
    take, num = guest.get_func(store, "take"), guest.get_func(store, "num")
    assert take is not None and num is not None
    wasmtime_patches.call_with_resources(take, store, ResourceHost.own(42, 9101))
    take.post_return(store)
    assert dropped == [42]  # the guest got our handle and dropped it
    # wasmtime still type-checks: another resource type, or a parameter that is no resource,
    # fails the call instead of reaching the guest.
    with pytest.raises(wasmtime.WasmtimeError):
        wasmtime_patches.call_with_resources(take, store, ResourceHost.own(7, 9102))
    with pytest.raises(wasmtime.WasmtimeError):
        wasmtime_patches.call_with_resources(num, store, ResourceHost.own(8, 9101))
    assert dropped == [42]
