"""The servers under test, as command lines: spin-py and its peers.

Each function returns a `Target`: a name, the command, extra environment and the path to poll
until the server is ready. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.tools import REPO

SPIN_PY = Path(sys.executable).parent / "spin-py"
READY_TIMEOUT = 300.0
"""Seconds a server may take to answer its first request (a cold compile of a 37 MB component
on a busy 2-core machine takes tens of seconds)."""


@dataclass(frozen=True)
class Target:
    """A server to start: `command` listens on 127.0.0.1:`port`; `ready_path` answers 200."""

    name: str
    command: list[str]
    port: int
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def url(self, path: str | None = None) -> str:
        """`http://127.0.0.1:<port><path>` (the ready path by default)."""
        return f"http://127.0.0.1:{self.port}{self.ready_path if path is None else path}"


def spin_py(
    manifest: str,
    port: int,
    state_dir: Path,
    ready_path: str,
    env: dict[str, str] | None = None,
    name: str = "spin-py",
    workers: int | None = None,
    extra: tuple[str, ...] = (),
) -> Target:
    """`spin-py up -f manifests/<manifest> [*extra]`; `workers=None` keeps the default worker
    count."""
    command = [str(SPIN_PY), "up", "-f", str(REPO / "manifests" / manifest)]
    command += ["--listen", f"127.0.0.1:{port}", "--state-dir", str(state_dir), *extra]
    if workers is not None:
        command += ["--workers", str(workers)]
    note = "default workers" if workers is None else f"{workers} worker process(es)"
    if extra:
        note += " " + " ".join(extra)
    return Target(name, command, port, ready_path, dict(env or {}), note)


def wasmtime_serve(wasmtime: Path, component: Path, port: int, ready_path: str) -> Target:
    """`wasmtime serve -S cli`: fresh instance per request (the default for WASIp2 components).

    `-S cli` links wasi:cli (environment, exit, ...), which componentize-py components import.
    """
    command = [str(wasmtime), "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}", str(component)]
    return Target("wasmtime serve", command, port, ready_path, {}, "fresh instance per request")


def jco_serve(
    jco_js: Path, component: Path, port: int, ready_path: str, isolate: bool = False
) -> Target:
    """`jco serve`: one reused instance by default; `isolate` adds `--isolate-requests instance`."""
    command = ["node", str(jco_js), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if isolate:
        command += ["--isolate-requests", "instance"]
    command.append(str(component))
    if isolate:
        return Target(
            "jco serve (isolate)",
            command,
            port,
            ready_path,
            {},
            "fresh instance per request (--isolate-requests instance)",
        )
    return Target("jco serve", command, port, ready_path, {}, "one instance reused by all requests")


def raw_aiohttp(port: int) -> Target:
    """`bench/raw_aiohttp.py`: a constant answer, the ceiling for a Python front end."""
    command = [sys.executable, str(REPO / "bench" / "raw_aiohttp.py"), "--port", str(port)]
    return Target("raw aiohttp", command, port, "/", {}, "constant response, one process")


def null_collector(port: int) -> Target:
    """`bench/null_collector.py`: an OTLP/HTTP sink for the tracing-on runs."""
    command = [sys.executable, str(REPO / "bench" / "null_collector.py"), "--port", str(port)]
    return Target("null collector", command, port, "/stats")
