"""Two processes serving the kv-counter app on one store: 1,000 increments over HTTP, no lost
update, on the default SQLite store and on a real Redis.

Two layouts: two separate `spin-py up --workers 1` (requests alternate between them), and one
`spin-py up --workers 2` (the kernel spreads connections over its worker processes). Either way
the processes share the store (the same state directory, or the same Redis server). Several
client threads send at once; every response must be a distinct count, together exactly 1..1000.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.http_apps import get, redis_runtime_config
from tests.support.server_fixtures import SpinPyProcess

TOTAL = 1000
CLIENTS = 8

Start = Callable[..., SpinPyProcess]


@pytest.fixture
def kv_counter(example_app: Callable[[str], Path]) -> Path:
    """`manifests/kv-counter`, its component built and compiled."""
    return example_app("kv-counter")


def count_once(base_url: str) -> int:
    status, body = get(base_url, "/counter")
    assert status == 200, body
    return int(body)


@pytest.mark.parametrize("layout", ["two-servers", "two-workers"])
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_increment_one_counter_without_losing_updates(
    spin_py_server: Start,
    kv_counter: Path,
    kind: str,
    layout: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    args = ["--state-dir", str(tmp_path / "state"), "-q"]
    if kind == "redis":
        config = redis_runtime_config(tmp_path, request.getfixturevalue("redis_url"))
        args += ["--runtime-config-file", str(config)]
    if layout == "two-servers":
        servers = [spin_py_server(kv_counter, *args, "--workers", "1") for _ in range(2)]
    else:
        servers = [spin_py_server(kv_counter, *args, "--workers", "2")] * 2
    urls = [servers[i % 2].base_url for i in range(TOTAL)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        seen = list(pool.map(count_once, urls))
    assert sorted(seen) == list(range(1, TOTAL + 1))
    assert count_once(servers[1].base_url) == TOTAL + 1
    for server in {id(s): s for s in servers}.values():
        finished = server.stop()
        assert finished.returncode == 0, finished.stderr
