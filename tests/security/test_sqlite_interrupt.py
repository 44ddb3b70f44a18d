"""F4: a guest's SQL ends at the request deadline and at server shutdown.

The attack: an endless recursive CTE (`WITH RECURSIVE c(x) AS (... UNION ALL ...) SELECT
count(*) FROM c`) never returns a row, so only SQLite's progress handler can stop it. With
`--request-timeout 2s` the request must end in about 2 s (the guest gets the `io` error
"interrupted" and is then stopped by the deadline: an empty 500), and the worker serves the next
request. Without a request timeout, SIGTERM to `--workers 1` must still stop the server (before
the fix it never did). The time bounds are loose on purpose (busy CI machines); the figures
measured on an idle machine are in README.md.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from spin_py.server.lifecycle import INTERRUPT_GUESTS_AFTER, SHUTDOWN_TIMEOUT
from tests.support.attack_apps import call, json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess

ENDLESS = b"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
TIMEOUT = 2.0


@pytest.fixture
def manifest(attack_wasm: Path, tmp_path: Path) -> Path:
    return write_attack_app(tmp_path / "app", attack_wasm)


def test_endless_query_ends_at_the_request_timeout(
    spin_py_server: object, manifest: Path, tmp_path: Path
) -> None:
    server: SpinPyProcess = spin_py_server(  # type: ignore[operator]
        manifest,
        "--state-dir",
        str(tmp_path / "state"),
        "--workers",
        "1",
        "--request-timeout",
        f"{TIMEOUT}s",
    )
    started = time.monotonic()
    status, _, body = call(server.base_url, "/sql", ENDLESS, timeout=30)
    elapsed = time.monotonic() - started
    assert status == 500 and body == b""
    assert TIMEOUT - 0.2 <= elapsed < TIMEOUT + 5.0, elapsed  # loose: CI machines are busy
    assert json_call(server.base_url, "/sql", b"SELECT 1")["ok"]["rows"] == [[1]]
    wait_for_log(server, 'component "attack" exceeded the request timeout')


def test_sigterm_stops_a_single_worker_running_an_endless_query(
    spin_py_server: object, manifest: Path, tmp_path: Path
) -> None:
    server: SpinPyProcess = spin_py_server(  # type: ignore[operator]
        manifest, "--state-dir", str(tmp_path / "state"), "--workers", "1"
    )
    answer: list[int] = []
    client = threading.Thread(
        target=lambda: answer.append(call(server.base_url, "/sql", ENDLESS, timeout=60)[0]),
        daemon=True,
    )
    client.start()
    time.sleep(1.0)  # the query is running
    started = time.monotonic()
    finished = server.stop(signal.SIGTERM, timeout=SHUTDOWN_TIMEOUT + 25)
    elapsed = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    assert elapsed < INTERRUPT_GUESTS_AFTER + 15.0, elapsed  # loose: CI machines are busy
    client.join(10)
    assert answer == [500]
