"""Shared pytest configuration and fixtures for the spin-py test suite.

Helpers live in `tests/support/` and are imported by module path; fixtures every folder uses are
defined (or imported) here, fixtures of one folder in that folder's conftest.py.
"""

from collections.abc import Iterator

import pytest

from tests.support.fixtures_components import built_component  # noqa: F401  (fixture: components/build.py)
from tests.support.runtime_harness import LoopThread
from tests.support.server_fixtures import spin_py_server  # noqa: F401  (fixture: real `spin-py up` subprocesses)


@pytest.fixture
def lt() -> Iterator[LoopThread]:
    """An event loop running in a thread of its own, as the server's runs beside guest threads."""
    loop_thread = LoopThread()
    yield loop_thread
    loop_thread.close()
