"""Fixtures of the WASI host tests."""

import time

import pytest

from tests.support.runtime_harness import DirectHost, LoopThread


@pytest.fixture
def host(lt: LoopThread) -> DirectHost:
    """Host functions called directly, in a request whose deadline is 10 s away."""
    return DirectHost(lt.loop, deadline=time.monotonic() + 10)
