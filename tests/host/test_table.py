"""The per-request resource table's bounds: live handles and the guest-sized bytes budget."""

from __future__ import annotations

import sys
import threading

import pytest

from spin_py.host.table import (
    MAX_HOST_BYTES,
    MAX_LIVE_HANDLES,
    HostBudget,
    HostTrap,
    ResourceTable,
    resource_kind,
)

THING = resource_kind("test:table/things", "thing")


def test_live_handles_are_capped_and_freed_by_drops() -> None:
    table = ResourceTable(max_handles=3)
    reps = [table.push(object(), THING).rep for _ in range(3)]
    with pytest.raises(HostTrap, match="too many live resources: the guest holds 3 handles"):
        table.push(object(), THING)
    table.drop(reps[0])
    table.push(object(), THING)  # a dropped handle makes room
    assert len(table) == 3
    assert ResourceTable().max_handles == MAX_LIVE_HANDLES == 10_000


def test_the_budget_traps_past_its_limit_and_refunds() -> None:
    budget = HostBudget(limit=100)
    budget.charge(60, "fields")
    with pytest.raises(
        HostTrap, match=r"fields: .* would hold 101 bytes, over the host limit of 100"
    ):
        budget.charge(41, "fields")
    assert budget.used == 60  # a refused charge takes nothing
    budget.charge(-20, "fields")  # a map that shrank
    budget.refund(30)
    assert budget.used == 10
    budget.refund(50)
    assert budget.used == 0  # never negative
    assert HostBudget().limit == MAX_HOST_BYTES == 64 * 1024 * 1024


def test_the_budget_is_safe_across_threads() -> None:
    """The guest thread charges while the loop refunds. Switching threads every microsecond
    makes an unlocked read-modify-write lose updates (checked: without the lock this fails)."""
    budget = HostBudget(limit=10**9)

    def churn() -> None:
        for _ in range(20_000):
            budget.charge(3, "x")
            budget.refund(3)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert budget.used == 0
