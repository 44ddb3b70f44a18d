"""A real `redis-server` for tests: the `redis_server` / `redis_url` fixtures, and `start_redis`.

`redis_server` starts one `redis-server` per test module (no persistence, bound to 127.0.0.1, a
free port) and `redis_url` flushes it before each test; import both into a conftest. Without
`redis-server` on PATH the tests that use them are skipped, except under CI (`CI` set), where
`.ci/run` installs it and a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_ping(url: str, process: subprocess.Popen[bytes]) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                time.sleep(0.05)
        return False
    finally:
        client.close()


def start_redis(binary: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    for _ in range(5):
        port = _free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--daemonize", "no", "--dir", str(tmp)]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        if _wait_for_ping(url, process):
            return process, url
        process.kill()
        process.wait()
    raise RuntimeError("redis-server did not start on a free port after 5 attempts")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real redis-server started for this module."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run should have installed it)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    process, url = start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The module's redis-server, emptied for this test."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server
