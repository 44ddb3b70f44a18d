"""F9: slow and idle connections, and too many of them, over raw sockets to a real server.

`spin-py up --workers 1 --header-timeout 1s --keep-alive-timeout 3s --max-connections 3`:
a request head trickling in, a connection that sends nothing, a head starting after an idle
keep-alive period: `408` and closed after the header timeout. An idle keep-alive connection:
closed after the keep-alive timeout. A fourth connection: `503` with `Retry-After` at once, one
warning, and a new connection is served once one closes. (Before: connections were still open
at 90 s, and nothing limited how many.) The defaults are checked in `--help`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.attack_apps import wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py, start_spin_py

HEAD_TIMEOUT = 1.0
IDLE_TIMEOUT = 3.0
MAX_CONNECTIONS = 3
REQUEST = b"GET /status?code=204 HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(attack_wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpinPyProcess]:
    manifest = write_attack_app(tmp_path_factory.mktemp("app"), attack_wasm)
    args = ["--state-dir", str(tmp_path_factory.mktemp("state")), "--workers", "1"]
    args += ["--header-timeout", f"{HEAD_TIMEOUT}s", "--keep-alive-timeout", f"{IDLE_TIMEOUT}s"]
    args += ["--max-connections", str(MAX_CONNECTIONS)]
    running = start_spin_py(manifest, *args)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def connect(server: SpinPyProcess) -> Iterator[Callable[[], socket.socket]]:
    opened: list[socket.socket] = []

    def open_one() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
        opened.append(sock)
        return sock

    yield open_one
    for sock in opened:
        sock.close()
    time.sleep(0.2)  # let the server see them go before the next test counts connections


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def test_a_trickling_head_gets_408(connect: Callable[[], socket.socket]) -> None:
    sock = connect()
    sock.sendall(b"GET /status?code=204 HTTP/1.1\r\nHo")
    data, waited = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert HEAD_TIMEOUT - 0.1 <= waited < HEAD_TIMEOUT + 3


def test_a_silent_connection_is_closed(connect: Callable[[], socket.socket]) -> None:
    data, waited = read_until_closed(connect())
    assert data.startswith(b"HTTP/1.1 408")
    assert waited < HEAD_TIMEOUT + 3


def test_an_idle_keep_alive_connection_is_closed(connect: Callable[[], socket.socket]) -> None:
    sock = connect()
    sock.sendall(REQUEST)
    assert sock.recv(65536).startswith(b"HTTP/1.1 204")
    data, waited = read_until_closed(sock)
    assert data == b""
    assert IDLE_TIMEOUT - 0.1 <= waited < IDLE_TIMEOUT + 3


def test_a_head_after_an_idle_period_has_the_header_timeout(
    connect: Callable[[], socket.socket],
) -> None:
    sock = connect()
    sock.sendall(REQUEST)
    assert sock.recv(65536).startswith(b"HTTP/1.1 204")
    time.sleep(0.5)  # idle, but the head's timeout ends before the keep-alive timeout
    sock.sendall(b"GET /status?code=204 HTTP/1.1\r\n")
    data, waited = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408")
    assert waited < HEAD_TIMEOUT + 3


def test_connections_past_the_cap_get_503(
    server: SpinPyProcess, connect: Callable[[], socket.socket]
) -> None:
    held = [connect() for _ in range(MAX_CONNECTIONS)]
    time.sleep(0.3)
    data, waited = read_until_closed(connect())
    assert data.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"retry-after: 1" in data.lower() and waited < 5  # at once (loose: busy CI)
    wait_for_log(server, "(--max-connections)")
    held[0].close()
    time.sleep(0.3)
    sock = connect()
    sock.sendall(REQUEST)
    assert sock.recv(65536).startswith(b"HTTP/1.1 204")


def test_the_defaults_are_documented_in_help() -> None:
    result = run_spin_py("up", "--help")
    text = " ".join(result.stdout.split())
    assert "--header-timeout DURATION" in text and "[default: 30s]" in text
    assert "--keep-alive-timeout DURATION" in text and "[default: 75s]" in text
    assert "--max-connections N" in text and "1000" in text
