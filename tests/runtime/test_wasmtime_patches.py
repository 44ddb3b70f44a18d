"""The wasmtime-py fixes: byte lists in bulk, other lists unchanged, per-call signatures."""

from __future__ import annotations

import os
from typing import Any

import pytest
import wasmtime
from wasmtime.component import Component, Linker

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
