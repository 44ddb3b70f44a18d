"""No request can take a worker offline: the attacks that wedged the one-guest-thread design.

Real `spin-py up` processes and real guests (misbehave, echo, proxy + hello). Each test is one
attack from issue 11: a request body trickling in, guests spinning forever, a self request
spelled another way, a client that hangs up, SIGTERM with requests in flight, and more
requests than the in-flight limit. Assertions count answers and log lines, never CPU rates or
tight timings: the machine running them may be loaded.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.support.otlp_receiver import OtlpReceiver, Received, otlp_receiver  # noqa: F401  (fixture)
from tests.support.outbound_support import write_manifest
from tests.support.server_fixtures import SpinPyProcess

REPO = Path(__file__).resolve().parents[2]
MISBEHAVE = REPO / "manifests" / "misbehave"
ECHO = REPO / "manifests" / "echo"

Start = Callable[..., SpinPyProcess]


@pytest.fixture(scope="module", autouse=True)
def _components(built_component: Callable[[str], Path]) -> None:
    for name in ("misbehave", "echo", "proxy", "hello"):
        built_component(name)


async def start(spin_py_server: Start, manifest: Path, *args: str) -> SpinPyProcess:
    return await asyncio.to_thread(spin_py_server, manifest, *args, timeout=120)


async def fetch(
    url: str, *, data: bytes | None = None, timeout: float = 15.0
) -> tuple[int, dict[str, str], bytes]:
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.request("POST" if data is not None else "GET", url, data=data) as response,
    ):
        return response.status, dict(response.headers), await response.read()


@contextmanager
def held_connection(server: SpinPyProcess, head: str) -> Iterator[socket.socket]:
    """A raw connection that sent `head` (a request head, maybe part of a body) and stays open
    until the block ends; then it is closed (the client hangs up)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(head.encode("latin-1"))
        yield sock
    finally:
        sock.close()


def get_head(path: str) -> str:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"


async def wait_for_text(server: SpinPyProcess, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.stderr_so_far():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the log:\n{server.stderr_so_far()[-3000:]}")
        await asyncio.sleep(0.05)


async def wait_for_count(
    server: SpinPyProcess, text: str, count: int, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while server.stderr_so_far().count(text) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} {text!r}:\n{server.stderr_so_far()[-3000:]}")
        await asyncio.sleep(0.05)


async def test_slow_request_bodies_do_not_hold_up_other_requests(spin_py_server: Start) -> None:
    """Two uploads trickling one byte at a time (the attack sent 1 byte / 5 s) to one worker:
    the echo guests wait for body bytes without their running permit, so other requests of
    the same process are served meanwhile."""
    server = await start(spin_py_server, ECHO, "--workers", "1")
    slow = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nx"
    with held_connection(server, slow), held_connection(server, slow):
        await asyncio.sleep(0.5)  # both guests are now blocked reading their bodies
        # Served while the trickling uploads are still open (a request stuck behind them would
        # time out: they never finish).
        results = await asyncio.gather(
            *(fetch(f"{server.base_url}/echo", data=b"ping %d" % i) for i in range(10))
        )
    assert [(status, body) for status, _, body in results] == [
        (200, b"ping %d" % i) for i in range(10)
    ]


@pytest.mark.parametrize("flags", [(), ("--workers", "1")], ids=["default", "one-worker"])
async def test_looping_guests_do_not_wedge_the_server(
    spin_py_server: Start, flags: tuple[str, ...]
) -> None:
    """Two requests to a guest that spins forever, no request timeout (default flags, and one
    worker so both land in one process): the spinning guests hand their permit on at every
    epoch check, so other requests still get answered; once their clients hang up, the
    spinning stops."""
    server = await start(spin_py_server, MISBEHAVE, *flags)
    with held_connection(server, get_head("/loop")), held_connection(server, get_head("/loop")):
        await asyncio.sleep(0.5)
        for _ in range(3):  # served while both guests spin (they never end on their own)
            results = await asyncio.gather(*(fetch(f"{server.base_url}/ok") for _ in range(5)))
            assert [(status, body) for status, _, body in results] == [(200, b"ok")] * 5
        status, _, body = await fetch(f"{server.base_url}/.well-known/spin/health")
        assert (status, body) == (200, b"OK")
    # Both spinning guests were stopped at an epoch check once their clients hung up (the
    # Invoker logs each call as it ends).
    await wait_for_count(server, "request was cancelled", 2)


async def test_client_hanging_up_cancels_its_guest(spin_py_server: Start) -> None:
    """A client that hangs up ends its guest: a guest blocked in a host wait (a 60 s sleep) at
    once, a guest spinning in wasm at its next epoch check."""
    server = await start(spin_py_server, MISBEHAVE, "--workers", "1")
    with held_connection(server, get_head("/sleep?ms=60000")):
        await asyncio.sleep(0.5)
    await wait_for_text(server, "request cancelled while blocked in a host call", timeout=10)
    seen = server.stderr_so_far().count("request was cancelled")  # a new line must follow
    with held_connection(server, get_head("/loop")):
        await asyncio.sleep(0.5)
    await wait_for_count(server, "request was cancelled", seen + 1, timeout=10)
    status, _, body = await fetch(f"{server.base_url}/ok")
    assert (status, body) == (200, b"ok")


async def test_overload_is_a_503_and_health_reports_stuck_guests(spin_py_server: Start) -> None:
    """Past `--max-concurrent-requests` a request gets 503 with Retry-After at once (logged);
    when every slot is held by a guest running longer than `--stuck-after`, health says so."""
    server = await start(
        spin_py_server,
        MISBEHAVE,
        "--workers",
        "1",
        "--max-concurrent-requests",
        "2",
        "--stuck-after",
        "1s",
    )
    with held_connection(server, get_head("/loop")), held_connection(server, get_head("/loop")):
        await asyncio.sleep(0.5)
        # Answered while both slots stay held (a queued request would time out instead).
        status, headers, body = await fetch(f"{server.base_url}/ok")
        assert (status, headers.get("Retry-After"), body) == (503, "1", b"")
        status, _, body = await fetch(f"{server.base_url}/.well-known/spin/health")
        assert (status, body) == (200, b"OK")  # busy, not yet stuck
        await asyncio.sleep(1.0)
        status, _, body = await fetch(f"{server.base_url}/.well-known/spin/health")
        assert status == 503
        assert b"all 2 request slots" in body and b"more than 1s" in body
    await wait_for_text(server, "request was cancelled")
    await asyncio.sleep(0.5)
    status, _, body = await fetch(f"{server.base_url}/.well-known/spin/health")
    assert (status, body) == (200, b"OK")
    status, _, body = await fetch(f"{server.base_url}/ok")
    assert (status, body) == (200, b"ok")
    assert "overloaded: refused 1 request(s) with 503" in server.stderr_so_far()


async def test_an_overload_refusal_is_marked_on_its_server_span(
    spin_py_server: Start,
    otlp_receiver: OtlpReceiver,  # noqa: F811  (the fixture imported above)
) -> None:
    """The 503 of a request past `--max-concurrent-requests` is counted on its server span
    (`spin_py.overload`, `spin_py.max_concurrent_requests`); a served request's span is not."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    server = await asyncio.to_thread(
        spin_py_server, MISBEHAVE, "--workers", "1", "--max-concurrent-requests", "1",
        env=env, timeout=120,
    )  # fmt: skip
    with held_connection(server, get_head("/loop")):
        await asyncio.sleep(0.5)  # the looping guest holds the only slot
        status, headers, _ = await fetch(f"{server.base_url}/ok")
        assert (status, headers.get("Retry-After")) == (503, "1")
    await wait_for_text(server, "request was cancelled")
    await asyncio.sleep(0.5)  # its thread gives the slot back
    status, _, _ = await fetch(f"{server.base_url}/ok")
    assert status == 200
    assert (await asyncio.to_thread(server.stop)).returncode == 0

    def server_spans(items: list[Received]) -> list[Received]:
        return [s for s in items if s.attributes.get("url.path") == "/ok"]

    spans = await asyncio.to_thread(
        otlp_receiver.wait_for, "traces", lambda items: len(server_spans(items)) >= 2
    )
    by_status = {
        s.attributes["http.response.status_code"]: s.attributes for s in server_spans(spans)
    }
    assert by_status[503]["spin_py.overload"] is True
    assert by_status[503]["spin_py.max_concurrent_requests"] == 1
    assert "spin_py.overload" not in by_status[200]


@pytest.mark.parametrize(
    "host",
    ["[::ffff:127.0.0.1]", "0x7f000001", "2130706433", "127.1", "0177.0.0.1", "localhost"],
)
async def test_every_spelling_of_the_bound_address_is_a_self_request(
    spin_py_server: Start, built_component: Callable[[str], Path], tmp_path: Path, host: str
) -> None:
    """With one request slot, a self request that were not recognised as one would be refused
    (503) while its caller holds the slot; recognised, it runs nested and answers."""
    manifest = write_manifest(
        tmp_path,
        {
            "proxy": (built_component("proxy"), ["http://*:*"]),
            "hello": (built_component("hello"), []),
        },
        {"/proxy": "proxy", "/hello": "hello"},
    )
    server = await start(
        spin_py_server, manifest, "--workers", "1", "--max-concurrent-requests", "1"
    )
    target = f"http://{host}:{server.port}/hello"
    status, _, body = await fetch(f"{server.base_url}/proxy?url={target}")
    assert (status, body) == (200, b"Hello from spin-py!")


async def test_sigterm_gives_every_accepted_request_its_grace_period(
    spin_py_server: Start,
) -> None:
    """13 requests in flight (each guest sleeps 1.5 s) when SIGTERM arrives, default flags:
    every one of them completes with 200, and the server exits 0."""
    server = await start(spin_py_server, MISBEHAVE)
    calls = [
        asyncio.ensure_future(fetch(f"{server.base_url}/sleep?ms=1500", timeout=30))
        for _ in range(13)
    ]
    await asyncio.sleep(0.7)
    server.process.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*calls, return_exceptions=True)
    finished = await asyncio.to_thread(server.stop)
    assert [r if isinstance(r, BaseException) else (r[0], r[2]) for r in results] == [
        (200, b"slept 1500")
    ] * 13
    assert finished.returncode == 0


async def test_a_guest_failing_because_its_client_left_is_not_logged_as_a_trap(
    spin_py_server: Start,
) -> None:
    """The echo guest streams a large body back; the client reads a little, then hangs up.
    The guest's next write fails and componentize-py traps, but that is the client's doing:
    one info line (request cancelled), no error-level trap log."""
    server = await start(spin_py_server, ECHO, "--workers", "1")
    size = 4 * 1024 * 1024
    head = f"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n\r\n"
    with held_connection(server, head) as sock:
        sock.sendall(b"x" * size)
        assert sock.recv(4096)  # the response has started
    await wait_for_text(server, 'component "echo": request cancelled', timeout=15)
    status, _, body = await fetch(f"{server.base_url}/echo", data=b"still here")
    assert (status, body) == (200, b"still here")
    log = server.stderr_so_far()
    assert 'component "echo" trapped' not in log
    assert "ERROR" not in log


async def counts(server: SpinPyProcess, path: str, times: int) -> list[str]:
    bodies = []
    for _ in range(times):  # one after another: each may find the previous one's instance
        status, _, body = await fetch(f"{server.base_url}{path}")
        bodies.append(body.decode() if status == 200 else str(status))
    return bodies


async def test_instances_are_fresh_per_request_by_default(spin_py_server: Start) -> None:
    server = await start(spin_py_server, MISBEHAVE, "--workers", "1")
    assert await counts(server, "/count", 4) == ["1"] * 4


async def test_reuse_instances_serves_n_requests_per_instance_and_drops_failed_ones(
    spin_py_server: Start,
) -> None:
    """`--reuse-instances 3`: the guest's own request counter shows one instance serving three
    requests in turn, then a fresh one; an instance whose call trapped is never reused."""
    server = await start(spin_py_server, MISBEHAVE, "--workers", "1", "--reuse-instances", "3")
    assert await counts(server, "/count", 7) == ["1", "2", "3", "1", "2", "3", "1"]
    assert await counts(server, "/trap", 1) == ["500"]  # it took the idle instance, which trapped
    assert await counts(server, "/count", 2) == ["1", "2"]
