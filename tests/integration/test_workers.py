"""`spin-py up --workers N`: a supervisor forking worker processes that share one socket.

Real `spin-py up` processes. Which worker serves a connection is up to the kernel, so tests that
need a particular worker freeze the other one with SIGSTOP (a stopped process does not accept;
the connection waits in the shared queue for the running one). Worker pids come from the
supervisor's `worker N (pid P) ready` log lines and are checked against the process tree.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import wasmtime

from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver  # noqa: F401  (fixture)
from tests.support.server_fixtures import (
    SpinPyProcess,
    frozen,
    raw_request,
    ready_workers,
    run_spin_py,
    start_spin_py,
    wait_ready,
    wait_until,
)
from tests.support.wasm_server import parse_chunked

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "manifests" / "tiny"
MISBEHAVE = REPO / "manifests" / "misbehave"

STOP_BOUND = 9.0
"""A stop with a guest spinning forever: a 4 s grace period, then one epoch slice (0.1 s)."""

Start = Callable[..., SpinPyProcess]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def assert_gone(pids: Iterator[int] | list[int], timeout: float = 5.0) -> None:
    pids = list(pids)
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout, f"{pids} to exit")


def get(server: SpinPyProcess, target: str = "/") -> tuple[int, bytes]:
    """Status and (de-chunked) body of one request on a new connection."""
    response = raw_request(server.base_url, "GET", target, "Connection: close\r\n")
    chunked = (response.header("transfer-encoding") or "").lower() == "chunked"
    return response.status, parse_chunked(response.body).body if chunked else response.body


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    return str(tmp_path / "state")


def test_each_worker_serves_the_shared_port(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(TINY, "--workers", "2", "--state-dir", state_dir)
    pids = wait_ready(server, 2)
    assert sorted(pids) == [1, 2] and len(set(pids.values())) == 2
    assert all(parent_of(pid) == server.process.pid for pid in pids.values())
    for stopped, running in ((pids[1], pids[2]), (pids[2], pids[1])):
        with frozen(stopped):
            assert get(server, f"/served-by-{running}") == (200, b"hello")
    finished = server.stop()
    assert finished.returncode == 0
    assert finished.stdout.count("Serving ") == 1  # the listing, once, by the supervisor
    assert_gone(pids.values())


def test_sigint_stops_every_worker(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(TINY, "--workers", "3", "--state-dir", state_dir)
    pids = wait_ready(server, 3)
    assert get(server) == (200, b"hello")
    assert server.stop(signal.SIGINT).returncode == 0
    assert_gone(pids.values())


def test_a_killed_worker_is_restarted(spin_py_server: Start, state_dir: str) -> None:
    server = spin_py_server(TINY, "--workers", "2", "--state-dir", state_dir)
    pids = wait_ready(server, 2)
    os.kill(pids[1], signal.SIGKILL)
    wait_until(lambda: ready_workers(server)[1] != pids[1], what="worker 1 to restart")
    restarted = ready_workers(server)[1]
    assert parent_of(restarted) == server.process.pid
    log = server.stderr_so_far()
    assert f"worker 1 (pid {pids[1]}) stopped unexpectedly (killed by signal SIGKILL)" in log
    with frozen(pids[2]):  # the new worker 1 serves on its own
        assert get(server) == (200, b"hello")
    assert get(server) == (200, b"hello")
    assert server.stop().returncode == 0
    assert_gone([pids[2], restarted])


def test_workers_stop_when_the_supervisor_is_killed(state_dir: str) -> None:
    server = start_spin_py(TINY, "--workers", "2", "--state-dir", state_dir)
    try:
        pids = wait_ready(server, 2)
        server.process.kill()
        server.process.wait(5)
        assert_gone(pids.values(), timeout=10)
    finally:
        server.stop()


def test_busy_port_fails_fast_before_any_worker(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["up", "-f", str(TINY), "--listen", f"127.0.0.1:{port}"]
        started = time.monotonic()
        many = run_spin_py(*args, "--workers", "2", "--state-dir", str(tmp_path))
        elapsed = time.monotonic() - started
        one = run_spin_py(*args, "--workers", "1", "--state-dir", str(tmp_path))
    assert many.returncode == 1 and "worker" not in many.stderr
    error = [line for line in many.stderr.splitlines() if line.startswith("Error: ")]
    assert error == [
        f"Error: Unable to listen on 127.0.0.1:{port}: address already in use. "
        "To have spin-py search for a free port, use the --find-free-port option."
    ]
    assert error[0] in one.stderr.splitlines()
    assert elapsed < 10


def test_find_free_port_picks_one_port_for_all_workers(
    spin_py_server: Start, state_dir: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = spin_py_server(
            TINY,
            "--workers",
            "2",
            "--find-free-port",
            "--state-dir",
            state_dir,
            listen=f"127.0.0.1:{port}",
        )
        pids = wait_ready(server, 2)
        assert port < server.port <= port + 9
        for pid in pids.values():
            with frozen(pid):
                assert get(server) == (200, b"hello")


def test_a_worker_startup_error_fails_up_like_one_process(tmp_path: Path) -> None:
    (tmp_path / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "broken"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "gone"\n'
        '[component.gone]\nsource = "missing.wasm"\n'
    )
    args = ["up", "-f", str(tmp_path), "--listen", "127.0.0.1:0"]
    many = run_spin_py(*args, "--workers", "2")
    one = run_spin_py(*args, "--workers", "1")
    assert many.returncode == one.returncode == 1
    errors = [line for line in many.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and 'component "gone"' in errors[0]
    assert errors[0] in one.stderr.splitlines()
    assert "Serving" not in many.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stop_is_bounded_with_a_guest_spinning_forever(
    spin_py_server: Start, built_component: Callable[[str], Path], state_dir: str, workers: str
) -> None:
    built_component("misbehave")
    server = spin_py_server(MISBEHAVE, "--workers", workers, "--state-dir", state_dir, "-q")
    if workers == "2":
        wait_ready(server, 2)
    outcome: list[BaseException | int] = []

    def spin() -> None:
        try:
            outcome.append(get(server, "/loop")[0])
        except BaseException as err:  # the connection is cut at shutdown
            outcome.append(err)

    client = threading.Thread(target=spin, daemon=True)
    client.start()
    time.sleep(1.0)  # the guest is spinning in pure wasm now; no --request-timeout
    assert not outcome
    started = time.monotonic()
    finished = server.stop(timeout=STOP_BOUND + 5)
    assert time.monotonic() - started < STOP_BOUND
    assert finished.returncode == 0
    assert "Traceback" not in finished.stderr
    client.join(5)


def big_binary_component(directory: Path) -> Path:
    """`tiny` as a binary component over 1 MB (a data segment), so compiling it is reported
    (`Compiling big (1.1 MB)...`) and cached, yet fast."""
    text = (REPO / "components" / "tiny" / "tiny.wat").read_text()
    memory = '(memory (export "memory") 1)'
    assert memory in text
    padding = f'(memory (export "memory") 20) (data (i32.const 65536) "{"a" * 1_100_000}")'
    path = directory / "big.wasm"
    path.write_bytes(wasmtime.wat2wasm(text.replace(memory, padding)))
    return path


def test_components_compile_once_for_all_workers(spin_py_server: Start, tmp_path: Path) -> None:
    big_binary_component(tmp_path)
    (tmp_path / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "big"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "big"\n'
        '[component.big]\nsource = "big.wasm"\n'
    )
    cache = tmp_path / "cache"
    server = spin_py_server(tmp_path, "--workers", "3", env={"SPIN_PY_CACHE_DIR": str(cache)})
    wait_ready(server, 3)
    assert get(server) == (200, b"hello")
    finished = server.stop()
    assert finished.returncode == 0
    assert finished.stderr.count("Compiling big (1.1 MB)...") == 1  # worker 1 only
    assert len(list((cache / "compiled").glob("*.cwasm"))) == 1


def test_every_worker_exports_its_spans(
    spin_py_server: Start,
    otlp_receiver: OtlpReceiver,  # noqa: F811  (the fixture imported above)
    state_dir: str,
) -> None:
    server = spin_py_server(
        TINY,
        "--workers",
        "2",
        "--state-dir",
        state_dir,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
        },
    )
    pids = wait_ready(server, 2)
    for stopped, running in ((pids[1], pids[2]), (pids[2], pids[1])):
        with frozen(stopped):
            assert get(server, f"/served-by-{running}") == (200, b"hello")
    assert server.stop().returncode == 0  # each worker flushes its own provider
    expected = {f"/served-by-{pid}" for pid in pids.values()}
    spans = otlp_receiver.wait_for(
        "traces", lambda spans: expected <= {s.attributes.get("url.path") for s in spans}
    )
    # each worker is its own instance of the service (OpenTelemetry resource conventions)
    served = {path: s.resource for s in spans if (path := s.attributes.get("url.path")) in expected}
    for pid in pids.values():
        assert served[f"/served-by-{pid}"]["process.pid"] == pid
    assert len({resource["service.instance.id"] for resource in served.values()}) == 2


def test_workers_start_together_once_the_cache_is_warm(
    spin_py_server: Start, tmp_path: Path
) -> None:
    """Cold cache: worker 1 compiles alone, the others start after it is ready. Warm cache
    (every artifact compiled already): all workers start at once."""
    big_binary_component(tmp_path)
    (tmp_path / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "big"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "big"\n'
        '[component.big]\nsource = "big.wasm"\n'
    )
    env = {"SPIN_PY_CACHE_DIR": str(tmp_path / "cache")}

    def start_order() -> list[str]:
        server = spin_py_server(tmp_path, "--workers", "3", "--log-level", "debug", env=env)
        wait_ready(server, 3)
        assert get(server) == (200, b"hello")
        finished = server.stop()
        assert finished.returncode == 0
        events = re.findall(r"worker (\d) (?:started|\(pid \d+\) ready)", finished.stderr)
        kinds = re.findall(r"worker \d (started|\(pid \d+\) ready)", finished.stderr)
        return [f"{slot}:{'ready' if kind.endswith('ready') else 'started'}"
                for slot, kind in zip(events, kinds, strict=True)]  # fmt: skip

    cold = start_order()
    assert cold.index("1:ready") < cold.index("2:started")
    warm = start_order()
    assert max(warm.index(f"{slot}:started") for slot in "123") < warm.index("1:ready")
