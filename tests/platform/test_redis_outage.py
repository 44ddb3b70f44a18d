"""A Redis key-value store that goes away after startup, and comes back (a real `redis-server`
stopped and started again on its port, `spin-py up` serving `manifests/kv-counter`).

Requests fail while it is away (the guest gets an error), the server log says so once at error
level (then at debug), says when it answers again, and the app serves again without a restart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.http_apps import get, redis_runtime_config
from tests.support.redis_server import start_redis
from tests.support.server_fixtures import SpinPyProcess

Start = Callable[..., SpinPyProcess]


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def test_a_redis_store_that_goes_away_is_logged_once_and_used_again_when_back(
    spin_py_server: Start, example_app: Callable[[str], Path], tmp_path: Path
) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run should have installed it)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    kv_counter = example_app("kv-counter")
    redis, url = start_redis(binary, tmp_path)
    try:
        config = redis_runtime_config(tmp_path, url)
        server = spin_py_server(
            kv_counter, "--runtime-config-file", str(config), "--workers", "1", "-q"
        )
        assert get(server.base_url, "/counter") == (200, b"1")

        stop(redis)
        assert get(server.base_url, "/counter")[0] == 500
        assert get(server.base_url, "/counter")[0] == 500

        port = url.rsplit(":", 1)[1].split("/")[0]
        args = [binary, "--port", port, "--bind", "127.0.0.1", "--save", ""]
        redis = subprocess.Popen(
            [*args, "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        statuses = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until the new server accepts
            statuses.append(get(server.base_url, "/counter"))
            if statuses[-1][0] == 200:
                break
            time.sleep(0.05)
        assert statuses[-1] == (200, b"1"), statuses[-5:]  # a new, empty server
        stderr = server.stop().stderr
    finally:
        stop(redis)

    failed = [line for line in stderr.splitlines() if f"Redis at {url} failed" in line]
    assert len(failed) == 1, stderr  # two (or more) failed requests, one error line
    assert " ERROR " in failed[0]
    assert "further failures are logged at debug level" in failed[0]
    assert f'key-value store "default": Redis at {url} answers again' in stderr
