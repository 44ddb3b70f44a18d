"""`wasi:random`: `random`, `insecure` and `insecure-seed`.

The sources are a capability: `RandomSources` holds a secure and an insecure generator, the
system's by default; a test injects its own per request with
`state.ext(RandomSources, lambda: RandomSources(...))`. `insecure-seed` returns the same pair
for the whole request (one instance), as the WIT text encourages.
"""

from __future__ import annotations

import os
import random as _random
from dataclasses import dataclass
from typing import Protocol

from wasmtime.component import LinkerInstance

from spin_py.host.linking import add_funcs, wasi
from spin_py.host.state import RequestState, current
from spin_py.host.table import HostTrap, Store

RANDOM = "wasi:random/random"
INSECURE = "wasi:random/insecure"
INSECURE_SEED = "wasi:random/insecure-seed"

MAX_RANDOM_BYTES = 16 * 1024 * 1024
"""Largest `get-*-random-bytes` request served; more traps (bounded host buffers)."""


class ByteSource(Protocol):
    """Something that produces random bytes."""

    def bytes(self, n: int) -> bytes: ...


class SecureSource:
    """The operating system's CSPRNG."""

    def bytes(self, n: int) -> bytes:
        return os.urandom(n)


class InsecureSource:
    """A fast PRNG seeded from the operating system (or from `seed`, for tests)."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = _random.Random(seed if seed is not None else os.urandom(16))

    def bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)


@dataclass(frozen=True)
class RandomSources:
    """The generators a request's guest sees."""

    secure: ByteSource
    insecure: ByteSource


SYSTEM_SOURCES = RandomSources(secure=SecureSource(), insecure=InsecureSource())


@dataclass(frozen=True)
class _Seed:
    value: tuple[int, int]


def sources(state: RequestState) -> RandomSources:
    """The request's injected `RandomSources` extension, else the system's."""
    return state.get_ext(RandomSources) or SYSTEM_SOURCES


def _checked(n: int) -> int:
    if n > MAX_RANDOM_BYTES:
        raise HostTrap(f"{n} random bytes requested; at most {MAX_RANDOM_BYTES} per call")
    return n


def _u64(data: bytes) -> int:
    return int.from_bytes(data, "little")


def get_random_bytes(store: Store, length: int) -> bytes:
    """`random.get-random-bytes`."""
    return sources(current()).secure.bytes(_checked(length))


def get_random_u64(store: Store) -> int:
    """`random.get-random-u64`."""
    return _u64(sources(current()).secure.bytes(8))


def get_insecure_random_bytes(store: Store, length: int) -> bytes:
    """`insecure.get-insecure-random-bytes`."""
    return sources(current()).insecure.bytes(_checked(length))


def get_insecure_random_u64(store: Store) -> int:
    """`insecure.get-insecure-random-u64`."""
    return _u64(sources(current()).insecure.bytes(8))


def insecure_seed(store: Store) -> tuple[int, int]:
    """`insecure-seed.insecure-seed`: one 128-bit value per request."""
    state = current()

    def make() -> _Seed:
        data = sources(state).insecure.bytes(16)
        return _Seed((_u64(data[:8]), _u64(data[8:])))

    return state.ext(_Seed, make).value


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`."""
    with root.add_instance(wasi(RANDOM)) as instance:
        add_funcs(
            instance,
            {"get-random-bytes": get_random_bytes, "get-random-u64": get_random_u64},
        )
    with root.add_instance(wasi(INSECURE)) as instance:
        add_funcs(
            instance,
            {
                "get-insecure-random-bytes": get_insecure_random_bytes,
                "get-insecure-random-u64": get_insecure_random_u64,
            },
        )
    with root.add_instance(wasi(INSECURE_SEED)) as instance:
        add_funcs(instance, {"insecure-seed": insecure_seed})
