"""Fixtures of the runtime tests: one event loop thread per module (the components these
modules load once serve every test of the module)."""

from collections.abc import Iterator

import pytest

from tests.support.runtime_harness import LoopThread


@pytest.fixture(scope="module")
def lt() -> Iterator[LoopThread]:
    """An event loop in a thread of its own, shared by the module's tests."""
    loop_thread = LoopThread()
    yield loop_thread
    loop_thread.close()
