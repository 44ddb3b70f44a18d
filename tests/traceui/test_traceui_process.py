"""The trace UI's process, port and startup output: with several workers it runs in a process of
its own that may be slow or die without any request failing; `--trace-ui-listen`; the
`Trace UI:` line; the Host check."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py, start_spin_py
from tests.support.traceui_support import get, send, start_with_ui, trace_id, trace_with, wait_for

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "manifests" / "tiny"


def sidecar_pid(server: SpinPyProcess) -> int:
    def found() -> int | None:
        match = re.findall(r"trace UI process \(pid (\d+)\) ready", server.stderr_so_far())
        return int(match[-1]) if match else None

    return int(wait_for(found, what="the trace UI process's pid"))


def test_a_stopped_or_killed_ui_process_never_fails_a_request(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    built_component("tiny")
    server, ui = start_with_ui(spin_py_server, TINY, "--workers", "2")
    pid = sidecar_pid(server)
    assert send(server.base_url, "/", trace_id(1)) == 200
    wait_for(lambda: trace_with(ui, trace_id(1), 2), what="the first trace")

    os.kill(pid, signal.SIGSTOP)  # a UI that does not answer at all
    try:
        started = time.monotonic()
        for n in range(2, 42):
            assert send(server.base_url, "/", trace_id(n)) == 200
        assert time.monotonic() - started < 10  # not one export timeout per request
    finally:
        os.kill(pid, signal.SIGCONT)
    # the batches queued while it was stopped arrive once it answers again
    wait_for(lambda: trace_with(ui, trace_id(41), 2), what="a trace sent while the UI was stopped")

    os.kill(pid, signal.SIGKILL)
    for n in range(100, 110):
        assert send(server.base_url, "/", trace_id(n)) == 200
    restarted = wait_for(
        lambda: (p := sidecar_pid(server)) != pid and p, what="a new trace UI process"
    )
    assert restarted != pid
    assert send(server.base_url, "/", trace_id(200)) == 200
    wait_for(lambda: trace_with(ui, trace_id(200), 2), what="a trace after the restart")
    finished = server.stop()
    assert finished.returncode == 0
    assert "stopped unexpectedly" in finished.stderr  # the kill was noticed and logged


def test_trace_ui_listen_picks_the_address_and_a_busy_port_is_an_error(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    built_component("tiny")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = spin_py_server(TINY, "--workers", "1", "--trace-ui-listen", f"127.0.0.1:{port}")
    wait_for(lambda: f"Trace UI: http://127.0.0.1:{port}/\n" in "".join(server._stdout))
    assert get(f"http://127.0.0.1:{port}/api/traces")[0] == 200
    assert server.port != port  # never the app's port

    busy = run_spin_py("up", "-f", str(TINY), "--listen", "127.0.0.1:0", "--trace-ui-listen",
                       f"127.0.0.1:{port}")  # fmt: skip
    assert busy.returncode == 1
    assert f"Error: Unable to listen on 127.0.0.1:{port}: address already in use" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_json_listing_stays_one_object_and_the_ui_line_goes_to_stderr(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    built_component("tiny")
    server = spin_py_server(TINY, "--workers", "1", "--trace-ui", "--format", "json")
    ui = wait_for(
        lambda: re.search(r"Trace UI: (http://127\.0\.0\.1:\d+/)", server.stderr_so_far()),
        what="the Trace UI line on stderr",
    ).group(1)
    finished = server.stop()
    lines = finished.stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["url"] == server.base_url
    assert ui not in finished.stdout


def test_the_ui_answers_only_to_local_host_names(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    built_component("tiny")
    _, ui = start_with_ui(spin_py_server, TINY, "--workers", "1")
    page = raw_request(ui, "GET", "/")
    assert page.status == 200 and b"/static/app.js" in page.body
    assert "script-src 'self'" in (page.header("Content-Security-Policy") or "")
    script = raw_request(ui, "GET", "/static/app.js")
    assert (script.header("Content-Type") or "").startswith("text/javascript")
    assert get(f"{ui}/api/traces", {"Host": "attacker.example:8080"})[0] == 421
    assert get(f"{ui}/api/traces", {"Host": "localhost"})[0] == 200
    refused = raw_request(
        ui, "POST", "/v1/traces", "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    )
    assert refused.status == 415
    as_text = 'Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n{"spans": []}'
    assert raw_request(ui, "POST", "/api/ingest", as_text).status == 415
    bad = '{"spans": [{"span_id": "0"}]}'
    head = f"Content-Type: application/json\r\nContent-Length: {len(bad)}\r\n\r\n{bad}"
    assert raw_request(ui, "POST", "/api/ingest", head).status == 400


def test_requests_refused_for_overload_count_as_rejected(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    built_component("misbehave")
    server, ui = start_with_ui(
        spin_py_server, REPO / "manifests" / "misbehave", "--workers", "1",
        "--max-concurrent-requests", "1",
    )  # fmt: skip
    slow = threading.Thread(target=send, args=(server.base_url, "/sleep?ms=1500"))
    slow.start()
    try:
        wait_for(
            lambda: get(f"{ui}/api/metrics")[1]["active_requests"] == 1, what="the slow request"
        )
        assert send(server.base_url, "/ok") == 503
    finally:
        slow.join()

    def outcomes() -> dict[str, int] | None:
        rows = get(f"{ui}/api/metrics")[1]["components"]
        found = rows[0]["outcomes"] if rows else {}
        return found if found.get("ok") and found.get("rejected") else None

    assert wait_for(outcomes, what="the component's outcomes") == {"ok": 1, "rejected": 1}


def test_spin_py_watch_serves_the_trace_ui_too(tmp_path: Path) -> None:
    """`spin-py watch --trace-ui`: the UI serves, and keeps its traces when an edited component
    is swapped in (the UI lives as long as the watch session, not one app version)."""
    wat = (REPO / "components" / "tiny" / "tiny.wat").read_text()
    (tmp_path / "app.wat").write_text(wat)
    (tmp_path / "spin.toml").write_text(
        'spin_manifest_version = 2\n[application]\nname = "tiny"\n'
        '[[trigger.http]]\nroute = "/..."\ncomponent = "tiny"\n'
        '[component.tiny]\nsource = "app.wat"\n'
    )
    server = start_spin_py(
        tmp_path, "--skip-build", "--trace-ui", "--access-log", subcommand="watch"
    )
    try:
        line = wait_for(
            lambda: re.search(r"Trace UI: (http://127\.0\.0\.1:\d+)/", "".join(server._stdout)),
            what="the Trace UI line",
        )
        ui = line.group(1)
        assert send(server.base_url, "/", trace_id(7)) == 200
        trace = wait_for(lambda: trace_with(ui, trace_id(7), 2), what="the trace in the UI")
        assert {s["name"] for s in trace["spans"]} == {"GET /...", "execute_wasm_component tiny"}

        (tmp_path / ".app.wat.new").write_text(wat.replace('"hello")', '"howdy")'))
        os.replace(tmp_path / ".app.wat.new", tmp_path / "app.wat")
        wait_for(
            lambda: b"howdy" in raw_request(server.base_url, "GET", "/").body,
            timeout=60,
            what="the edited component",
        )
        assert send(server.base_url, "/", trace_id(8)) == 200
        wait_for(lambda: trace_with(ui, trace_id(8), 2), what="a trace after the reload")
        assert trace_with(ui, trace_id(7), 2), "the reload dropped the traces held before it"
    finally:
        finished = server.stop()
    assert f"trace_id={trace_id(7)}" in finished.stderr


def test_execute_outcomes_of_real_failures_reach_the_component_table(
    spin_py_server: Callable[..., SpinPyProcess], built_component: Callable[[str], Path]
) -> None:
    """Execute outcomes from real guests: a loop ended by `--request-timeout`, a trap, an
    exit, and an allocation stopped by `--max-instance-memory`, which counts as a trap: the cap
    refuses `memory.grow` and the guest traps on its own (Python's MemoryError); only an
    instance whose memory is over the cap at instantiation is `out-of-memory`
    (docs/observability.md section 9)."""
    built_component("misbehave")
    server, ui = start_with_ui(
        spin_py_server, REPO / "manifests" / "misbehave", "--workers", "1",
        "--request-timeout", "1s", "--max-instance-memory", "64MiB",
    )  # fmt: skip
    for path in ("/ok", "/trap", "/loop", "/alloc", "/exit1"):
        assert send(server.base_url, path) == (200 if path == "/ok" else 500), path

    def outcomes() -> dict[str, int] | None:
        rows = get(f"{ui}/api/metrics")[1]["components"]
        found = rows[0]["outcomes"] if rows else {}
        return found if sum(found.values()) == 5 else None

    assert wait_for(outcomes, what="five outcomes") == {"ok": 1, "trap": 2, "timeout": 1, "exit": 1}
