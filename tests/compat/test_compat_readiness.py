"""No connection is accepted before the app is ready (docs/compatibility.md#startup-and-readiness).

`spin-py up` binds its port at once (a busy port fails fast, see `tests/integration/test_cli.py`)
but listens only once the app is loaded: in one process once the app is built, with workers
once every worker is ready (the supervisor listens, then lets the workers accept). Until then a
client is refused, rather than accepted by a server that may still fail to start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from spin_py.config import ListenAddr
from spin_py.server import lifecycle
from spin_py.server.listen import bind_listener

TINY = Path(__file__).resolve().parents[2] / "manifests" / "tiny"
TCP_LISTEN = "0A"
"""`st` of a listening socket in /proc/net/tcp (`07`: bound, not listening)."""


def refused(port: int) -> bool:
    """True when a connection to 127.0.0.1:port is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True


# -- one process ---------------------------------------------------------------------------------


async def test_one_process_listens_only_once_the_app_is_built() -> None:
    sock = bind_listener(ListenAddr("127.0.0.1", 0))
    port = sock.getsockname()[1]
    release = asyncio.Event()
    accepting = asyncio.Event()

    async def build_app() -> web.Application:  # stands for loading the components
        await release.wait()
        app = web.Application()
        app.router.add_get("/", answer)
        return app

    async def answer(_: web.Request) -> web.Response:
        return web.Response(text="ready")

    serving = asyncio.create_task(lifecycle.serve(build_app, sock, accepting.set))
    try:
        await asyncio.sleep(0.2)
        assert await asyncio.to_thread(refused, port)
        release.set()
        await asyncio.wait_for(accepting.wait(), 10)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            assert (response.status, await response.text()) == (200, "ready")
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        sock.close()


async def test_a_port_taken_before_listening_is_the_busy_port_error() -> None:
    # SO_REUSEADDR lets two sockets bind one port until one listens: the second to listen is
    # told the port is busy, as if its bind had failed.
    sock = bind_listener(ListenAddr("127.0.0.1", 0))
    port = sock.getsockname()[1]
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    other.bind(("127.0.0.1", port))
    other.listen()

    async def build_app() -> web.Application:
        return web.Application()

    try:
        with pytest.raises(Exception, match=r"address already in use.*--find-free-port"):
            await lifecycle.serve(build_app, sock, lambda: None)
    finally:
        other.close()
        sock.close()


# -- worker processes ----------------------------------------------------------------------------


def free_port() -> int:
    """A port the kernel just handed out (a bound-but-not-listening port cannot be found from
    outside the process, so the test picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """True when /proc/net/tcp has a socket listening on 127.0.0.1:port."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == TCP_LISTEN:
            return True
    return False


GATED_UP = """
import os, sys, time
from spin_py import cli
from spin_py.server import supervisor

start_worker = supervisor.worker_main


def gated_worker_main(slot, serve, **pipes):
    def serve_once_the_gate_is_open(await_turn):
        while slot == 2 and not os.path.exists(os.environ["SPIN_PY_TEST_GATE"]):
            time.sleep(0.01)
        serve(await_turn)

    start_worker(slot, serve_once_the_gate_is_open, **pipes)


supervisor.worker_main = gated_worker_main
sys.exit(cli.main())
"""
"""`spin-py up`, whose worker 2 starts loading the app only once the test creates the gate file:
the test decides when the last worker can get ready (a timed freeze of the supervisor could not:
with a warm cache both workers start at once and are ready within milliseconds of each other)."""


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str], int, Path]]:
    """`spin-py up --workers 2` on a free port, worker 2 held at the gate; its stderr lines as
    they come; the port; the gate file to create."""
    port = free_port()
    gate = tmp_path / "gate"
    listen = ("--listen", f"127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-c", GATED_UP, "up", "-f", str(TINY), "--workers", "2", *listen],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SPIN_PY_LOG_LEVEL": "info", "SPIN_PY_TEST_GATE": str(gate)},
        start_new_session=True,
    )
    lines: list[str] = []
    assert process.stderr is not None
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    try:
        yield process, lines, port, gate
    finally:
        gate.touch()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def ready(lines: list[str], slot: int) -> bool:
    return any(f"worker {slot} (pid" in line and "ready" in line for line in lines)


def test_workers_listen_only_once_every_worker_is_ready(
    supervisor: tuple[subprocess.Popen[str], list[str], int, Path],
) -> None:
    process, lines, port, gate = supervisor
    wait_for(lambda: ready(lines, 1), "worker 1")
    # Worker 1 is ready and worker 2 is held at the gate: the supervisor runs on, and must not
    # listen, however long worker 2 takes.
    time.sleep(0.3)
    assert not ready(lines, 2)
    assert not listening(port)
    assert refused(port)

    gate.touch()
    assert process.stdout is not None
    assert process.stdout.readline() == f"Serving http://127.0.0.1:{port}\n"
    wait_for(lambda: ready(lines, 2), "worker 2's ready line (stderr is read by another thread)")
    assert listening(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"GET /.well-known/spin/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"OK")
