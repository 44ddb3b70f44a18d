"""F14: what a client or a guest can make spin-py write to its log and log files.

A real `spin-py up` serves the attack component:

- a trapping request writes one line (the wasm backtrace only with `--log-level debug`);
- a client that hangs up in the middle of a 50 MiB response writes no error and no traceback;
- 30 trapping requests in a row write at most `BURST` lines of that kind;
- a guest printing without end: the console echo is rate-limited, and its log file is rotated
  at `--max-log-size` with two old files kept.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spin_py.log_limits import BURST
from spin_py.wasi.component_logs import ECHO_BURST
from tests.support.attack_apps import call, json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, start_spin_py

TRAPPED = 'component "attack" trapped'


def spin_py_lines(text: str) -> list[str]:
    """The log lines spin-py itself wrote (not the guest's echoed output)."""
    return [line for line in text.splitlines() if " spin_py." in line]


def new_output(server: SpinPyProcess, since: int, settle: float = 0.5) -> str:
    time.sleep(settle)
    return server.stderr_so_far()[since:]


@pytest.fixture
def server(attack_wasm: Path, tmp_path: Path) -> Iterator[SpinPyProcess]:
    manifest = write_attack_app(tmp_path / "app", attack_wasm)
    args = ["--state-dir", str(tmp_path / "state"), "--workers", "1", "-q"]
    running = start_spin_py(manifest, *args)
    try:
        yield running
    finally:
        running.stop()


def test_a_trap_is_one_line(server: SpinPyProcess) -> None:
    since = len(server.stderr_so_far())
    assert call(server.base_url, "/trap")[0] == 500
    wait_for_log(server, TRAPPED)
    output = new_output(server, since)
    assert [TRAPPED in line for line in output.splitlines()] == [True], output
    assert len(output) < 300, "one short line"


def test_the_backtrace_is_there_at_debug_level(attack_wasm: Path, tmp_path: Path) -> None:
    manifest = write_attack_app(tmp_path / "app", attack_wasm)
    args = ["--state-dir", str(tmp_path / "state"), "--workers", "1", "-q", "--log-level", "debug"]
    server = start_spin_py(manifest, *args)
    try:
        since = len(server.stderr_so_far())
        assert call(server.base_url, "/trap")[0] == 500
        wait_for_log(server, "wasm backtrace:")
        output = new_output(server, since)
        assert TRAPPED in output and "0x" in output
    finally:
        server.stop()


def test_a_client_hanging_up_mid_response_is_no_error(server: SpinPyProcess) -> None:
    since = len(server.stderr_so_far())
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /big?mb=50 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    output = new_output(server, since, settle=2.0)
    lines = spin_py_lines(output)
    assert not [line for line in lines if " ERROR " in line], output
    assert "Traceback" not in output
    assert len(lines) <= 1, lines
    assert json_call(server.base_url, "/alloc?mb=1")["ok"] == 1024 * 1024


def test_repeated_failures_are_rate_limited(server: SpinPyProcess) -> None:
    since = len(server.stderr_so_far())
    for _ in range(30):
        assert call(server.base_url, "/trap")[0] == 500
    wait_for_log(server, TRAPPED)
    output = new_output(server, since)
    assert 1 <= sum(TRAPPED in line for line in output.splitlines()) <= BURST


def test_guest_output_is_rate_limited_on_the_console_and_rotated_on_disk(
    attack_wasm: Path, tmp_path: Path
) -> None:
    manifest = write_attack_app(tmp_path / "app", attack_wasm)
    logs = tmp_path / "logs"
    args = ["--state-dir", str(tmp_path / "state"), "--workers", "1", "--log-dir", str(logs)]
    server = start_spin_py(manifest, *args, "--max-log-size", "100KiB")
    try:
        since = len(server.stderr_so_far())
        for _ in range(4):  # 4 x 1,000 lines of 101 bytes: about 400 KB
            assert json_call(server.base_url, "/print?lines=1000&size=100") == {"ok": True}
        echoed = [line for line in new_output(server, since).splitlines() if "[attack]" in line]
        assert len(echoed) <= ECHO_BURST + 1, len(echoed)
    finally:
        server.stop()
    files = sorted(p.name for p in logs.iterdir() if p.name.startswith("attack_stdout"))
    assert files == ["attack_stdout.txt", "attack_stdout.txt.1", "attack_stdout.txt.2"]
    sizes = [(logs / name).stat().st_size for name in files]
    assert all(0 < size <= 100 * 1024 for size in sizes), sizes
