"""Run the real `spin-py` command in a subprocess for integration tests.

`start_spin_py(manifest, *args)` starts `spin-py up` on `127.0.0.1:0` (the kernel picks a free port,
so parallel runs never race for one), waits until the startup listing reports the bound URL, and
returns a `SpinPyProcess`. Its output is collected by reader threads; `stop()` signals the process,
waits (bounded) and returns everything it printed. `run_spin_py(*args)` runs a command to
completion. The `spin_py_server` fixture starts servers and stops whatever is still running at
teardown.

For `--workers N`: `wait_ready(server, n)` waits for the supervisor's `worker N (pid P) ready`
lines (slot -> pid), and `frozen(pid)` SIGSTOPs one worker for a block, so that the kernel hands
every new connection to the others. `wait_until` polls a condition with a deadline.

Raw-socket helpers (`raw_request`) read the exact response head, so tests can assert on every header
the server sends.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SPIN_PY = str(Path(sys.executable).with_name("spin-py"))
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class Finished:
    """How a spin-py process ended."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class SpinPyProcess:
    """A running `spin-py up`; `base_url` is the URL from its startup listing."""

    process: subprocess.Popen[str]
    base_url: str
    startup_line: str
    _stdout: list[str] = field(default_factory=list)
    _stderr: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def stderr_so_far(self) -> str:
        return "".join(self._stderr)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Finished:
        """Send `signum`, wait up to `timeout` seconds (then kill), return the full output."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"spin-py did not exit within {timeout}s of signal {signum}"
            ) from exc
        for thread in self._threads:
            thread.join(timeout)
        return Finished(returncode, "".join(self._stdout), "".join(self._stderr))


READY_LINE = re.compile(r"worker (\d+) \(pid (\d+)\) ready")


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> float:
    """Poll `predicate` until it holds and return that moment (`time.monotonic()`); fail after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)
    return time.monotonic()


def ready_workers(server: SpinPyProcess) -> dict[int, int]:
    """slot -> pid of the latest `ready` line per worker slot."""
    return {int(m[1]): int(m[2]) for m in READY_LINE.finditer(server.stderr_so_far())}


def wait_ready(server: SpinPyProcess, count: int) -> dict[int, int]:
    """Wait until `count` worker slots have reported ready; slot -> pid."""
    wait_until(lambda: len(ready_workers(server)) == count, what=f"{count} ready workers")
    return ready_workers(server)


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP `pid` for the block: it accepts no connection meanwhile."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _child_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPIN_HTTP_LISTEN_ADDR"}
    env.update(extra or {})
    return env


def _pump(stream: object, sink: list[str], lines: queue.Queue[str] | None) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)
        if lines is not None:
            lines.put(line)


def _startup_url(line: str) -> str | None:
    """The base URL announced by a listing line (plain `Serving ...` or the JSON object)."""
    if line.startswith("Serving "):
        return line.removeprefix("Serving ").strip()
    if line.startswith("{"):
        return str(json.loads(line)["url"])
    return None


def start_spin_py(
    manifest: Path | str,
    *args: str,
    listen: str | None = "127.0.0.1:0",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = READY_TIMEOUT,
    subcommand: str = "up",
    executable: str = SPIN_PY,
) -> SpinPyProcess:
    """Start `spin-py up -f manifest [--listen listen] *args` (or `spin-py watch ...`; another
    installation's `executable`) and wait until it serves."""
    command = [executable, subcommand, "-f", str(manifest), *args]
    if listen is not None:
        command += ["--listen", listen]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_child_env(env),
        cwd=cwd,
    )
    stdout: list[str] = []
    stderr: list[str] = []
    lines: queue.Queue[str] = queue.Queue()
    threads = [
        threading.Thread(target=_pump, args=(process.stdout, stdout, lines), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, stderr, None), daemon=True),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                for thread in threads:
                    thread.join(1)
                raise AssertionError(
                    f"spin-py up did not start (exit {process.returncode}).\n"
                    f"stdout:\n{''.join(stdout)}\nstderr:\n{''.join(stderr)}"
                ) from None
            continue
        url = _startup_url(line)
        if url is not None:
            return SpinPyProcess(process, url, line, stdout, stderr, threads)


def run_spin_py(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run `spin-py *args` to completion (for commands that exit on their own)."""
    return subprocess.run(
        [SPIN_PY, *args],
        capture_output=True,
        text=True,
        env=_child_env(env),
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def spin_py_server() -> Iterator[Callable[..., SpinPyProcess]]:
    """Factory fixture: `spin_py_server(manifest, *args, **kw)` starts `spin-py up`; every server
    still running at teardown is stopped."""
    started: list[SpinPyProcess] = []

    def start(manifest: Path | str, *args: str, **kwargs: object) -> SpinPyProcess:
        server = start_spin_py(manifest, *args, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGTERM)


@dataclass(frozen=True)
class RawResponse:
    """A response read off the socket: status line, headers in order, body."""

    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ", 2)[1])

    def header_names(self) -> set[str]:
        return {name.lower() for name, _ in self.headers}

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


def raw_request(
    base_url: str, method: str, target: str, extra_headers: str = "", timeout: float = 10.0
) -> RawResponse:
    """Send one HTTP/1.1 request over a plain socket; read the head and the body (Content-Length,
    or the raw chunked framing up to its last chunk, undecoded)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra_headers}\r\n"
        sock.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_bytes, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
        headers = [tuple(h.split(": ", 1)) for h in header_lines]
        response = RawResponse(status_line, [(n, v) for n, v in headers], body)
        length = int(response.header("content-length") or 0)
        chunked = (response.header("transfer-encoding") or "").lower() == "chunked"

        def complete() -> bool:
            return body.endswith(b"0\r\n\r\n") if chunked else len(body) >= length

        if method != "HEAD":
            while not complete():
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        return RawResponse(status_line, response.headers, body)
