"""`spin-py up --shutdown-delay`: a SIGTERM drains before the listener closes.

Real `spin-py up` processes serving `manifests/tiny`. During the drain the node still serves,
`/.well-known/spin/health` answers 503 `draining`, and every response carries
`Connection: close`; after the delay the port refuses connections and the process exits 0.
SIGINT and a second signal skip the delay. With `--workers 2` every worker drains (each is
checked alone by freezing the other with SIGSTOP, as in `test_workers.py`).
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server_fixtures import (
    RawResponse,
    SpinPyProcess,
    frozen,
    raw_request,
    wait_ready,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "manifests" / "tiny"
HEALTH = "/.well-known/spin/health"

Start = Callable[..., SpinPyProcess]


def request(server: SpinPyProcess, target: str) -> RawResponse:
    return raw_request(server.base_url, "GET", target)


def refused(server: SpinPyProcess) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def assert_draining(server: SpinPyProcess) -> None:
    health = request(server, HEALTH)
    assert (health.status, health.body) == (503, b"draining")
    assert health.header("connection") == "close"
    served = request(server, "/")
    assert served.status == 200
    assert served.header("connection") == "close"


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    return str(tmp_path / "state")


def test_sigterm_serves_on_with_health_503_for_the_delay_then_stops(
    spin_py_server: Start, state_dir: str
) -> None:
    server = spin_py_server(
        TINY, "--workers", "1", "--state-dir", state_dir, "--shutdown-delay", "1.5s", "-q"
    )
    health = request(server, HEALTH)
    assert (health.status, health.body) == (200, b"OK")
    assert health.header("connection") is None
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    wait_until(lambda: request(server, HEALTH).status == 503, 2, "health to answer 503")
    assert_draining(server)
    closed = wait_until(lambda: refused(server), 5, "the listener to close")
    assert closed - sent >= 1.5
    assert server.process.wait(15) == 0
    finished = server.stop()
    assert "draining for 1.5s before closing the listener" in finished.stderr


def test_a_second_sigterm_ends_the_drain(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(
        TINY, "--workers", "1", "--state-dir", state_dir, "--shutdown-delay", "60s", "-q"
    )
    server.process.send_signal(signal.SIGTERM)
    wait_until(lambda: request(server, HEALTH).status == 503, 2, "health to answer 503")
    started = time.monotonic()
    assert server.stop(signal.SIGTERM).returncode == 0
    assert time.monotonic() - started < 10


def test_sigint_stops_without_draining(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(
        TINY, "--workers", "1", "--state-dir", state_dir, "--shutdown-delay", "60s", "-q"
    )
    started = time.monotonic()
    finished = server.stop(signal.SIGINT)
    assert finished.returncode == 0
    assert time.monotonic() - started < 10
    assert "draining" not in finished.stderr


def test_without_a_delay_sigterm_stops_at_once(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(TINY, "--workers", "1", "--state-dir", state_dir, "-q")
    started = time.monotonic()
    finished = server.stop(signal.SIGTERM)
    assert finished.returncode == 0
    assert time.monotonic() - started < 10
    assert "draining" not in finished.stderr


def test_every_worker_drains(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(
        TINY, "--workers", "2", "--state-dir", state_dir, "--shutdown-delay", "3s", "-q"
    )
    pids = list(wait_ready(server, 2).values())
    for stopped in pids:  # each worker accepts (a worker not serving yet would just stop)
        with frozen(stopped):
            assert request(server, HEALTH).status == 200
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    wait_until(
        lambda: server.stderr_so_far().count("draining for 3s") == 2, 2, "both workers to drain"
    )
    for stopped in pids:
        with frozen(stopped):
            assert_draining(server)
    closed = wait_until(lambda: refused(server), 8, "the listener to close")
    assert closed - sent >= 3
    assert server.process.wait(15) == 0
