"""A scale-out deployment on loopback: HAProxy in front of three `spin-py up` nodes.

`Cluster` runs the real parts the deployment guide (docs/deployment.md) describes: one
`redis-server` holding the key-value store every node uses (runtime config), one OTLP receiver
every node exports to, three `spin-py up` processes (separate state directories, separate free
ports, `--shutdown-delay`) serving `manifests/kv-counter`, and `haproxy` running
`deploy/haproxy/haproxy.cfg` itself, with the node addresses, its listen address, its stats
socket and a short check interval given through the environment variables that file reads.

HAProxy's log (stdout) is read by a thread that stamps every line with `time.monotonic()`, so
a test can tell when HAProxy marked a node down or up; `stats()` reads its stats socket.
`load(...)` drives concurrent keep-alive clients through the balancer and returns one
`Outcome` per request (times on the same clock, status, the counter value, and the node that
served it, from the `x-spin-py-node` header the config adds). It POSTs: an increment is not
idempotent, and an HTTP client may resend an idempotent request (aiohttp resends a GET whose
kept-alive connection closed before the response), which would hide a lost response behind a
second increment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.support.server_fixtures import SpinPyProcess, start_spin_py

REPO = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = REPO / "deploy" / "haproxy" / "haproxy.cfg"
KV_COUNTER = REPO / "manifests" / "kv-counter"

NODE_NAMES = ("node1", "node2", "node3")
CHECK_INTER_S = 0.25
"""HAProxy's health check interval here (`SPIN_PY_LB_CHECK_INTER`); the config's `fall` is 2."""
CHECK_FALL = 2
NODE_MAXCONN = 8
"""`maxconn` per server in the config: the most requests in flight on one node."""
SHUTDOWN_DELAY_S = 1.5
"""The nodes' `--shutdown-delay`: longer than HAProxy needs to see a draining node
(`CHECK_INTER_S * CHECK_FALL` plus a check's own time)."""
NODE_START_TIMEOUT_S = 60.0
STATE_CHANGE = re.compile(r"Server spin_py_nodes/(node\d) is (UP|DOWN), reason: ([^,]*)")


@dataclass
class Node:
    """One `spin-py up` node; `port` stays the same across restarts (HAProxy's config has it)."""

    name: str
    state_dir: Path
    port: int = 0
    server: SpinPyProcess | None = None

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.process.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Outcome:
    """One request through the balancer."""

    started: float
    ended: float
    status: int
    """The HTTP status, or 0 when the client saw no response (connection error)."""
    body: str
    node: str
    """`x-spin-py-node` of the response ("" if none)."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def value(self) -> int:
        return int(self.body)


@dataclass
class HaproxyLog:
    """HAProxy's stdout lines, each with the monotonic time it was read."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def state_changes(self, since: float = 0.0) -> list[tuple[float, str, str, str]]:
        """(time, node, "UP"/"DOWN", reason) for every health state change read after `since`."""
        with self._cond:
            lines = list(self.lines)
        changes = []
        for when, line in lines:
            match = STATE_CHANGE.search(line)
            if match and when >= since:
                changes.append((when, match[1], match[2], match[3]))
        return changes

    def wait_for_state(
        self, node: str, state: str, since: float, timeout: float
    ) -> tuple[float, str]:
        """When and why HAProxy reported `node` `state` after `since` (waits up to `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for when, name, seen, reason in self.state_changes(since):
                    if name == node and seen == state:
                        return when, reason
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "\n".join(line for _, line in self.lines[-20:])
                    raise AssertionError(f"HAProxy did not report {node} {state}:\n{tail}")
                self._cond.wait(remaining)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """Three nodes behind HAProxy, sharing one Redis and one OTLP receiver (module docstring)."""

    def __init__(self, tmp: Path, redis_url: str, otlp_endpoint: str) -> None:
        self.tmp = tmp
        self.runtime_config = tmp / "runtime-config.toml"
        self.runtime_config.write_text(
            f'[key_value_store.default]\ntype = "redis"\nurl = "{redis_url}"\n'
        )
        self.env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
            "OTEL_SERVICE_NAME": "kv-counter",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        self.nodes = {name: Node(name, tmp / name) for name in NODE_NAMES}
        self.stats_socket = tmp / "haproxy.sock"
        self.haproxy: subprocess.Popen[str] | None = None
        self.log = HaproxyLog()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- nodes ------------------------------------------------------------------------------

    def start_node(self, name: str) -> Node:
        node = self.nodes[name]
        node.server = start_spin_py(
            KV_COUNTER,
            "--runtime-config-file",
            str(self.runtime_config),
            "--state-dir",
            str(node.state_dir),
            "--workers",
            "1",
            "--shutdown-delay",
            f"{SHUTDOWN_DELAY_S}s",
            listen=f"127.0.0.1:{node.port}",
            env=self.env,
            timeout=NODE_START_TIMEOUT_S,
        )
        node.port = node.server.port
        return node

    def restart_node(self, name: str) -> float:
        """Start a stopped node again on its port; returns the seconds until HAProxy saw it UP
        (the node's start, then `rise` passing checks)."""
        since = time.monotonic()
        self.start_node(name)
        return self.log.wait_for_state(name, "UP", since, timeout=20.0)[0] - since

    def signal_node(self, name: str, signum: int) -> float:
        """Send `signum` to a node; returns the time it was sent."""
        node = self.nodes[name]
        assert node.server is not None
        sent = time.monotonic()
        os.kill(node.pid, signum)
        return sent

    # -- the balancer -----------------------------------------------------------------------

    def start_haproxy(self) -> None:
        for _ in range(5):
            self.port = free_port()
            env = dict(os.environ)
            env.update(
                {
                    "SPIN_PY_LB_BIND": f"127.0.0.1:{self.port}",
                    "SPIN_PY_LB_STATS_SOCKET": str(self.stats_socket),
                    "SPIN_PY_LB_CHECK_INTER": f"{int(CHECK_INTER_S * 1000)}ms",
                }
            )
            for node in self.nodes.values():
                env[f"SPIN_PY_{node.name.upper()}"] = node.address
            self.haproxy = subprocess.Popen(
                ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            threading.Thread(target=self.log.pump, args=(self.haproxy.stdout,), daemon=True).start()
            if self._wait_all_up():
                return
            self._stop_haproxy()  # most likely the port was taken meanwhile: try another
        lines = "\n".join(line for _, line in self.log.lines)
        raise AssertionError(f"haproxy did not start:\n{lines}")

    def _wait_all_up(self, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.haproxy is not None
            if self.haproxy.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                states = {row["svname"]: row["status"] for row in self.server_stats()}
                if all(states.get(name) == "UP" for name in NODE_NAMES):
                    return True
            time.sleep(0.05)
        return False

    def server_stats(self) -> list[dict[str, str]]:
        """HAProxy's `show stat` rows for the three servers (status, scur, stot, ...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        header, *rows = data.decode().strip().splitlines()
        names = header.lstrip("# ").split(",")
        parsed = [dict(zip(names, row.split(","), strict=False)) for row in rows]
        return [row for row in parsed if row.get("svname") in NODE_NAMES]

    def in_flight(self, name: str) -> int:
        """Requests HAProxy has in flight on `name` now (its `scur`)."""
        return next(int(row["scur"]) for row in self.server_stats() if row["svname"] == name)

    # -- lifetime ---------------------------------------------------------------------------

    def start(self) -> Cluster:
        self.start_node(NODE_NAMES[0])  # the first start fills the compile cache if need be
        for name in NODE_NAMES[1:]:
            self.start_node(name)
        self.start_haproxy()
        return self

    def stop(self) -> None:
        self._stop_haproxy()
        for node in self.nodes.values():
            if node.server is not None and node.server.process.poll() is None:
                node.server.stop(signal.SIGINT)

    def _stop_haproxy(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()


async def load(
    url: str,
    *,
    concurrency: int,
    total: int | None = None,
    until: Callable[[list[Outcome]], bool] | None = None,
    headers: Callable[[int], Mapping[str, str]] | None = None,
    timeout_s: float = 60.0,
) -> list[Outcome]:
    """`concurrency` keep-alive clients POST to `url` until `total` requests were sent, or
    until `until(outcomes so far)` holds; each outcome is recorded, failures included."""
    outcomes: list[Outcome] = []
    sent = 0

    def more() -> bool:
        if total is not None:
            return sent < total
        return until is None or not until(outcomes)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while more():
            number = sent
            sent += 1
            started = time.monotonic()
            extra = dict(headers(number)) if headers else {}
            try:
                async with session.post(url, headers=extra) as response:
                    body = await response.text()
                    status, node = response.status, response.headers.get("x-spin-py-node", "")
            except (aiohttp.ClientError, TimeoutError) as err:
                status, body, node = 0, f"{type(err).__name__}: {err}", ""
            outcomes.append(Outcome(started, time.monotonic(), status, body, node))

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return outcomes


FIGURES = pytest.StashKey[list[str]]()


class Figures:
    """Lines of measured figures for the end-of-run summary."""

    def __init__(self, config: pytest.Config) -> None:
        self._lines = config.stash.setdefault(FIGURES, [])

    def add(self, title: str, **values: object) -> None:
        shown = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in values.items())
        self._lines.append(f"{title}: {shown}")
