"""F3: self and service-chained requests are bounded in depth and never outlive their root.

The attack guest calls itself again and again (`/loop`), as a self request (relative URL) or
through `http://attack.spin.internal`. The call that would go one level past
`--max-request-depth` gets the wasi:http error `loop-detected` (the guest reports the depth it
reached) and one warning is logged. The shipped `proxy` example, fed a URL that proxies to
itself 40 times (the original finding: one 7.7 KB request reached 8.4 GB), answers a 502 with
`x-proxy-error: LoopDetected`. A client that gives up, or a request timeout, ends every nested
request: the loop never reaches the depth limit afterwards. Breadth is bounded too: a guest that
sends many requests to itself at once, at every level (`/fanout`), gets at most as many nested
guests running as `--max-concurrent-requests`; the rest are refused (`connection-limit-reached`
for chained requests, a 503 for self requests) with a warning.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.attack_apps import call, json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess

Start = Callable[..., SpinPyProcess]
REFUSED = "refused with loop-detected"


@pytest.fixture
def manifest(attack_wasm: Path, tmp_path: Path) -> Path:
    hosts = ["http://self", "http://attack.spin.internal"]
    return write_attack_app(tmp_path / "app", attack_wasm, allowed_outbound_hosts=hosts)


def start(spin_py_server: Start, manifest: Path, tmp_path: Path, *args: str) -> SpinPyProcess:
    return spin_py_server(manifest, "--state-dir", str(tmp_path / "state"), *args)


@pytest.mark.parametrize("mode", ["self", "chain"])
def test_the_depth_is_bounded(
    spin_py_server: Start, manifest: Path, tmp_path: Path, mode: str
) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--workers", "1")
    assert json_call(server.base_url, f"/loop?mode={mode}") == {"depth": 10, "err": "LoopDetected"}
    wait_for_log(server, REFUSED)
    time.sleep(0.3)  # a second refusal would be logged by now
    refusals = [line for line in server.stderr_so_far().splitlines() if REFUSED in line]
    assert len(refusals) == 1, refusals
    assert 'component "attack"' in refusals[0] and "--max-request-depth 10" in refusals[0]


def test_the_depth_is_configurable(spin_py_server: Start, manifest: Path, tmp_path: Path) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--max-request-depth", "3")
    for mode in ("self", "chain"):
        assert json_call(server.base_url, f"/loop?mode={mode}") == {
            "depth": 3,
            "err": "LoopDetected",
        }


def test_forged_depth_headers_are_ignored(
    spin_py_server: Start, manifest: Path, tmp_path: Path
) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--max-request-depth", "3")
    forged = {"spin-py-request-depth": "2", "spin-py-self-request": "guess"}
    status, _, body = call(server.base_url, "/loop?mode=self", headers=forged)
    assert status == 200 and json.loads(body) == {"depth": 3, "err": "LoopDetected"}


def test_the_proxy_example_cannot_amplify_a_request(
    spin_py_server: Start, example_app: Callable[[str], Path], tmp_path: Path
) -> None:
    example_app("hello")
    server = spin_py_server(example_app("proxy"), "--state-dir", str(tmp_path / "state"))
    url = "/hello"
    for _ in range(40):
        url = "/proxy?url=" + urllib.parse.quote(url, safe="")
    assert len(url) > 3000
    status, headers, _ = call(server.base_url, url)
    assert status == 502 and headers["x-proxy-error"] == "LoopDetected"
    assert call(server.base_url, "/proxy?url=/hello")[0] == 200, "the server keeps serving"


@pytest.mark.parametrize("mode", ["self", "chain"])
def test_nested_requests_end_with_a_client_that_leaves(
    spin_py_server: Start, manifest: Path, tmp_path: Path, mode: str
) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--workers", "1")
    with pytest.raises(TimeoutError):
        call(server.base_url, f"/loop?mode={mode}&hold_ms=400", timeout=1.0)
    time.sleep(10 * 0.4 + 1.5)  # the whole loop would have reached the limit by now
    assert REFUSED not in server.stderr_so_far()
    assert call(server.base_url, "/status?code=204")[0] == 204


@pytest.mark.parametrize("mode", ["self", "chain"])
def test_a_nested_guest_working_after_its_response_ends_with_the_root(
    spin_py_server: Start, manifest: Path, tmp_path: Path, mode: str
) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--workers", "1")
    answer = json_call(server.base_url, f"/forward?mode={mode}&to=respond-then-spin")
    assert answer == {"ok": 200}
    deadline = time.monotonic() + 15.0  # about 0.1 s on an idle machine
    while "request cancelled" not in server.stderr_so_far():
        assert time.monotonic() < deadline, "the nested guest still runs after its root ended"
        time.sleep(0.1)
    assert call(server.base_url, "/status?code=204")[0] == 204


@pytest.mark.parametrize("mode", ["self", "chain"])
def test_nested_requests_keep_the_root_deadline(
    spin_py_server: Start, manifest: Path, tmp_path: Path, mode: str
) -> None:
    server = start(spin_py_server, manifest, tmp_path, "--request-timeout", "1.5s")
    started = time.monotonic()
    status, _, _ = call(server.base_url, f"/loop?mode={mode}&hold_ms=400")
    assert status == 500 and time.monotonic() - started < 8.0  # 1.5 s + slack for busy CI
    time.sleep(10 * 0.4)
    assert REFUSED not in server.stderr_so_far()


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])


@pytest.mark.parametrize(
    ("mode", "refused"), [("self", "503"), ("chain", "ConnectionLimitReached")]
)
def test_the_breadth_is_bounded(
    spin_py_server: Start, manifest: Path, tmp_path: Path, mode: str, refused: str
) -> None:
    """4 requests at once at each of 2 levels would run 20 nested guests (1 + 4 + 16 threads
    and instances; 4 at once, 4 levels deep made 340 threads and 3.4 GB before the allowance);
    with `--max-concurrent-requests 4` at most 4 nested guests run at a time."""
    server = start(
        spin_py_server, manifest, tmp_path, "--workers", "1", "--max-concurrent-requests", "4"
    )
    pid = server.process.pid
    idle = _threads(pid)
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _threads(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        answer = json_call(server.base_url, f"/fanout?mode={mode}&width=4&depth=2&hold_ms=500")
    finally:
        done.set()
        sampler.join()
    refusals = answer["statuses"] if mode == "self" else answer["errors"]
    assert set(refusals) == {refused} and refusals[refused] >= 4, answer
    # 16 leaves without the bound; with it, a leaf needs a slot beside its running parent's.
    assert answer["leaves"] + refusals[refused] <= 20 and answer["leaves"] <= 12, answer
    # The root's guest thread and at most 4 nested ones (plus 3 for the host's own helpers).
    assert peak[0] - idle <= 1 + 4 + 3, (idle, peak[0])
    wait_for_log(server, "too many nested requests")
    assert call(server.base_url, "/status?code=204")[0] == 204
