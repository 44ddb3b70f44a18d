"""The idle-instance pool behind `--reuse-instances` (plain Stores stand in for instances)."""

from __future__ import annotations

import pytest
import wasmtime

from spin_py.runtime.engine import get_engine
from spin_py.runtime.reuse import InstancePool, WarmInstance


class Closing(WarmInstance):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def warm() -> Closing:
    return Closing(wasmtime.Store(get_engine()), handle=None)  # type: ignore[arg-type]


def test_an_instance_serves_at_most_max_uses_requests_one_at_a_time() -> None:
    pool = InstancePool(3)
    assert pool.take("c") is None  # nothing idle yet: the caller makes one
    first = warm()
    for served in (1, 2):
        pool.give_back("c", first)
        assert first.served == served and not first.closed
        assert pool.take("c") is first  # taken: exclusively the caller's
        assert pool.take("c") is None
    pool.give_back("c", first)  # its third request: done
    assert first.closed and pool.take("c") is None
    assert pool.reused == 2


def test_idle_instances_are_per_component_and_bounded() -> None:
    pool = InstancePool(10, max_idle=2)
    instances = [warm() for _ in range(3)]
    for instance in instances:
        pool.give_back("a", instance)
    assert [i.closed for i in instances] == [False, False, True]
    assert pool.take("b") is None
    assert pool.take("a") in instances[:2]


def test_close_drops_idle_instances_and_those_given_back_later() -> None:
    pool = InstancePool(10)
    idle, busy = warm(), warm()
    pool.give_back("a", idle)
    pool.close()
    assert idle.closed
    pool.give_back("a", busy)
    assert busy.closed


def test_reuse_needs_two_requests_per_instance_at_least() -> None:
    with pytest.raises(ValueError):
        InstancePool(1)
