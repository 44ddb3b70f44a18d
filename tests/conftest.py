"""Shared pytest configuration and fixtures for the spin-py test suite."""

from tests.support.fixtures_components import built_component  # noqa: F401  (fixture: components/build.py)
from tests.support.server_fixtures import spin_py_server  # noqa: F401  (fixture: real `spin-py up` subprocesses)
