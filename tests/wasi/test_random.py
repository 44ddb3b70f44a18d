"""`wasi:random`: secure and insecure bytes and u64s, the per-request insecure seed."""

from __future__ import annotations

import pytest

from spin_py.host.table import HostTrap
from spin_py.wasi import random
from spin_py.wasi.random import InsecureSource, RandomSources
from tests.support.runtime_harness import DirectHost, LoopThread


def test_random_bytes_have_the_asked_length_and_differ(host: DirectHost) -> None:
    name = "get-random-bytes"
    first = host.lowered("wasi:random/random", name, random.get_random_bytes, 32)
    second = host.lowered("wasi:random/random", name, random.get_random_bytes, 32)
    assert len(first) == 32 and first != second
    assert host.lowered("wasi:random/random", name, random.get_random_bytes, 0) == b""


def test_random_u64s_fill_64_bits(host: DirectHost) -> None:
    values = {
        host.lowered("wasi:random/random", "get-random-u64", random.get_random_u64)
        for _ in range(20)
    }
    assert len(values) == 20 and all(0 <= v < 2**64 for v in values)
    assert max(values) >= 2**60  # 20 draws all below 2^60 would be a 1-in-10^24 event


def test_insecure_functions(host: DirectHost) -> None:
    data = host.lowered(
        "wasi:random/insecure", "get-insecure-random-bytes", random.get_insecure_random_bytes, 100
    )
    assert len(data) == 100
    value = host.lowered(
        "wasi:random/insecure", "get-insecure-random-u64", random.get_insecure_random_u64
    )
    assert 0 <= value < 2**64


def test_insecure_seed_is_fixed_for_a_request(lt: LoopThread, host: DirectHost) -> None:
    iface = "wasi:random/insecure-seed"
    seed = host.lowered(iface, "insecure-seed", random.insecure_seed)
    assert seed == host.lowered(iface, "insecure-seed", random.insecure_seed)
    assert len(seed) == 2 and all(0 <= part < 2**64 for part in seed)
    other = DirectHost(lt.loop)
    assert other.call(random.insecure_seed) != seed


def test_huge_requests_trap(host: DirectHost) -> None:
    with pytest.raises(HostTrap):
        host.call(random.get_random_bytes, random.MAX_RANDOM_BYTES + 1)
    with pytest.raises(HostTrap):
        host.call(random.get_insecure_random_bytes, 2**64 - 1)


class Counting:
    def __init__(self) -> None:
        self.n = 0

    def bytes(self, n: int) -> bytes:
        self.n += 1
        return bytes([self.n]) * n


def test_injected_sources_are_what_the_guest_sees(host: DirectHost) -> None:
    host.state.ext(
        RandomSources, lambda: RandomSources(secure=Counting(), insecure=InsecureSource(1))
    )
    assert host.call(random.get_random_bytes, 3) == b"\x01\x01\x01"
    assert host.call(random.get_random_u64) == int.from_bytes(b"\x02" * 8, "little")
    assert host.call(random.get_insecure_random_bytes, 8) == InsecureSource(1).bytes(8)
