"""F3 at the unit level: the nesting headers a self request carries, and how they are read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from spin_py.outbound.nesting import (
    BUDGET_HEADER,
    DEPTH_HEADER,
    RequestTree,
    child_nesting,
    inbound_nesting,
    nesting_of,
    self_request_headers,
)
from tests.support.runtime_harness import make_state


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


def test_a_guests_own_nesting_headers_are_replaced(loop: asyncio.AbstractEventLoop) -> None:
    state = make_state(loop, deadline=time.monotonic() + 5)
    inbound_nesting(state, "4", None)
    guest = [(DEPTH_HEADER, b"0"), (BUDGET_HEADER, b"9999"), ("x-mine", b"1")]
    headers = dict(self_request_headers(guest, state))
    assert headers[DEPTH_HEADER] == b"5"
    assert 4.0 < float(headers[BUDGET_HEADER]) <= 5.0
    assert headers["x-mine"] == b"1"
    assert len(self_request_headers(guest, state)) == 3


@pytest.mark.parametrize(
    ("depth", "budget", "expected_depth", "has_deadline"),
    [
        ("3", "1.5", 3, True),
        (None, None, 0, False),
        ("-1", "-1", 0, False),
        ("1e3", "inf", 0, False),
        ("٣", "nan", 0, False),
        ("99999999", "1", 0, True),
    ],
)
def test_inbound_values_are_parsed_strictly(
    loop: asyncio.AbstractEventLoop,
    depth: str | None,
    budget: str | None,
    expected_depth: int,
    has_deadline: bool,
) -> None:
    state = make_state(loop)
    assert inbound_nesting(state, depth, budget).depth == expected_depth
    assert (state.deadline is not None) == has_deadline


def test_the_tree_cancels_its_requests_when_it_ends(loop: asyncio.AbstractEventLoop) -> None:
    root = make_state(loop)
    child = make_state(loop)
    nesting = child_nesting(root)
    assert nesting.depth == 1 and nesting.tree is nesting_of(root).tree
    tree = nesting.tree
    tree.add(child)
    assert not child.cancelled
    tree.end()
    assert child.cancelled
    late = make_state(loop)
    tree.add(late)
    assert late.cancelled, "a request joining an ended tree is cancelled at once"
    assert isinstance(tree, RequestTree)
