"""The one in-process spin-py server of the tests: the real aiohttp app, router, wasi:http bridge
and outbound host on a free port of 127.0.0.1, in the test's own event loop.

`serve(manifest, cache_dir, *, outbound=..., telemetry=...)` is an async context manager
yielding a `Served` (base URL, port, and the captured log records of the `spin_py` loggers).
The self origin is set to the bound port (as `spin-py up` does), and the outbound client's
resolver knows only the names in `outbound` (`upstream.test`, `api.upstream.test` ->
127.0.0.1 by default), so no name lookup leaves the machine. `telemetry=` adds the server span
middleware (and the export it configures). Components are compiled through a compile cache
under `cache_dir`, so every test after the first loads them in milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from spin_py import manifest
from spin_py.host.context import RuntimeSettings
from spin_py.outbound import OutboundClient, SelfOrigin
from spin_py.routing import Router
from spin_py.runtime.engine import get_engine
from spin_py.runtime.invoke import Invoker, Limits
from spin_py.runtime.loader import load_components
from spin_py.server.app import create_web_app
from spin_py.server.bridge import WasmComponentHandler
from spin_py.telemetry import Telemetry
from tests.support.outbound_upstreams import KNOWN_NAMES, StaticResolver

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"


class LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Served:
    """A running in-process server."""

    base_url: str
    _logs: LogCollector = field(default_factory=LogCollector)
    port: int = 0

    def errors(self) -> list[str]:
        """Messages logged at ERROR or above since the server started (or `clear_logs`)."""
        return [r.getMessage() for r in self._logs.records if r.levelno >= logging.ERROR]

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self._logs.records if r.levelno >= level]

    def clear_logs(self) -> None:
        self._logs.records.clear()


@contextlib.asynccontextmanager
async def serve(
    manifest_path: Path,
    cache_dir: Path,
    *,
    outbound: Mapping[str, str] = KNOWN_NAMES,
    telemetry: Telemetry | None = None,
    request_timeout: float | None = None,
    max_instance_memory: int | None = None,
    sources: dict[str, Path] | None = None,
) -> AsyncIterator[Served]:
    """Serve `manifest_path` (a spin.toml or its directory) until the block ends (see the module
    docstring). `sources` replaces component sources (id -> path), e.g. with a fresh build."""
    app = manifest.load(manifest_path)
    if sources:
        app = _with_sources(app, sources)
    settings = RuntimeSettings(state_dir=cache_dir / "state", quiet=True)
    components = load_components(
        app,
        settings,
        get_engine(),
        cache_dir,
        max_instance_memory=max_instance_memory,
        report=lambda _line: None,
    )
    limits = Limits(request_timeout=request_timeout, max_instance_memory=max_instance_memory)
    client = OutboundClient(resolver=StaticResolver(dict(outbound)))
    handler = WasmComponentHandler(components, Invoker(limits=limits), client=client)
    web_app = create_web_app(app, Router.build(app.triggers), handler, telemetry)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2.0)
    collector = LogCollector()
    logger = logging.getLogger("spin_py")
    logger.addHandler(collector)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        handler.set_self_origin(SelfOrigin("http", "127.0.0.1", port))
        yield Served(f"http://127.0.0.1:{port}", collector, port)
    finally:
        await runner.cleanup()
        logger.removeHandler(collector)
        logger.setLevel(old_level)


def _with_sources(app: manifest.App, sources: dict[str, Path]) -> manifest.App:
    import dataclasses

    components = dict(app.components)
    for component_id, path in sources.items():
        components[component_id] = dataclasses.replace(components[component_id], source=str(path))
    return dataclasses.replace(app, components=components)


def raw_exchange(base_url: str, request: bytes, timeout: float = 30.0) -> bytes:
    """Send raw request bytes on a new connection; return everything read until the server
    closes it (send `Connection: close`). A reset connection ends the read."""
    import socket

    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    data = bytearray()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return bytes(data)


@dataclass(frozen=True)
class RawChunked:
    """A chunked body parsed off the wire."""

    body: bytes
    complete: bool
    """True when the terminating zero-size chunk (and the trailer section) arrived."""
    trailers: list[tuple[str, str]]


def split_response(data: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, rest) of a raw HTTP/1.1 response."""
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
    return status, headers, rest


def parse_chunked(data: bytes) -> RawChunked:
    """Decode a chunked body, noting whether it was properly terminated."""
    body = bytearray()
    while True:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            return RawChunked(bytes(body), False, [])
        size = int(line.split(b";")[0], 16)
        if size == 0:
            break
        if len(data) < size + 2:
            body += data[:size]
            return RawChunked(bytes(body), False, [])
        body += data[:size]
        data = data[size + 2 :]
    trailers: list[tuple[str, str]] = []
    while True:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            return RawChunked(bytes(body), False, trailers)
        if not line:
            return RawChunked(bytes(body), True, trailers)
        name, _, value = line.decode("latin-1").partition(":")
        trailers.append((name.strip(), value.strip()))
