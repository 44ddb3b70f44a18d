"""F6: what one request can make a worker allocate is bounded by default.

A real `spin-py up --workers 1` (so the server is one process whose peak resident size, VmHWM,
the test reads from /proc) serves the attack component with the default
`--max-instance-memory` (256 MiB), and the `grow-table` guest. Each attack must end in a 500
with the worker's peak growing by less than the cap plus `SLACK`, and the worker keeps serving:

- a guest allocating 600 MiB (before: a worker grew to 4.5 GB);
- a 400 MB upload to a guest that buffers the whole body (before: +1 GB);
- a guest growing a table by 200 million elements, host memory outside its linear memory
  (before: 760 MB for 100 million).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spin_py.runtime.store_limits import DEFAULT_MAX_INSTANCE_MEMORY
from tests.support.attack_apps import call, json_call, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, start_spin_py

MiB = 1024 * 1024
SLACK = 128 * MiB


def peak_rss(pid: int) -> int:
    """The process's peak resident set size (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(
    attack_wasm: Path,
    built_component: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SpinPyProcess]:
    extra = (
        '[[trigger.http]]\nroute = "/table"\ncomponent = "grow-table"\n'
        f'[component.grow-table]\nsource = "{built_component("grow-table")}"\n'
    )
    manifest = write_attack_app(tmp_path_factory.mktemp("app"), attack_wasm, extra=extra)
    state = tmp_path_factory.mktemp("state")
    running = start_spin_py(manifest, "--state-dir", str(state), "--workers", "1", "-q")
    try:
        json_call(running.base_url, "/alloc?mb=1")  # warm: the first request's own costs
        yield running
    finally:
        running.stop()


def assert_bounded(server: SpinPyProcess, before: int) -> None:
    grown = peak_rss(server.process.pid) - before
    assert grown < DEFAULT_MAX_INSTANCE_MEMORY + SLACK, f"peak grew by {grown // MiB} MiB"
    assert json_call(server.base_url, "/alloc?mb=1") == {"ok": MiB}, "the worker serves on"


def test_a_guest_allocating_without_bound(server: SpinPyProcess) -> None:
    before = peak_rss(server.process.pid)
    status, _, _ = call(server.base_url, "/alloc?mb=600")
    assert status == 500
    assert_bounded(server, before)


def upload(base_url: str, path: str, size: int) -> bytes:
    """POST `size` bytes on a raw socket, stopping early if the server stops reading;
    return the response head."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    block = b"u" * MiB
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
        sock.sendall(head.encode())
        try:
            for _ in range(size // MiB):
                sock.sendall(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            return b""


def test_an_upload_the_guest_buffers_whole(server: SpinPyProcess) -> None:
    before = peak_rss(server.process.pid)
    head = upload(server.base_url, "/read-all", 400 * MiB)
    assert head.startswith(b"HTTP/1.1 500") or head == b"", head[:100]
    assert_bounded(server, before)


def test_a_guest_growing_a_table(server: SpinPyProcess) -> None:
    before = peak_rss(server.process.pid)
    status, _, _ = call(server.base_url, "/table")
    assert status == 500
    grown = peak_rss(server.process.pid) - before
    assert grown < SLACK, f"peak grew by {grown // MiB} MiB"
