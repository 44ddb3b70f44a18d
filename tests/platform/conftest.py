"""Fixtures for the platform backends: a real `redis-server` on a free port, and app models.

`redis_url` starts one `redis-server` per test module (no persistence, bound to 127.0.0.1) and
flushes it before each test (`tests/support/redis_server.py`). Without `redis-server` on PATH
the Redis tests are skipped, except under CI (`CI` set), where `.ci/run` installs it and a
missing server is a failure.
"""

from __future__ import annotations

from tests.support.http_apps import example_app, ready_component  # noqa: F401  (fixtures)
from tests.support.redis_server import redis_server, redis_url  # noqa: F401  (fixtures)
