"""Helpers for the outbound HTTP integration tests: an in-process spin-py server with outbound
wired, real upstream servers on 127.0.0.1, manifests written per test.

- `serve_outbound(manifest, ...)`: the real aiohttp app, router, wasi:http bridge and outbound
  host, on a free port of 127.0.0.1 in the test's event loop, with the self origin set to that
  port (as `spin-py up` does) and an `OutboundClient` whose resolver knows only the names it is
  given (`upstream.test`, `api.upstream.test` -> 127.0.0.1), so no name lookup leaves the
  machine. `telemetry=` adds the server span middleware (and the export it configures).
- `Upstream`: an aiohttp app recording what it received (`/inspect`, `/download`, `/sink`,
  `/status/<code>`, `/redirect`); `raw_listener(handler)`: a plain asyncio server for
  misbehaving upstreams; `unaccepting_port()`: a listener whose accept queue is full, so
  connecting hangs.
- `write_manifest(dir, components, routes)`: a spin.toml whose components point at built wasm.
- `error_case(case)`: the name the proxy reports in `x-proxy-error` for a WIT error-code case.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

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
from tests.support.wasm_server import LogCollector, Served

PATTERN = bytes(range(256)) * 256  # 64 KiB
MIB = 1024 * 1024
KNOWN_NAMES = {"upstream.test": "127.0.0.1", "api.upstream.test": "127.0.0.1"}


def payload(size: int) -> bytes:
    """`size` deterministic bytes."""
    whole, rest = divmod(size, len(PATTERN))
    return PATTERN * whole + PATTERN[:rest]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_case(case: str) -> str:
    """`connection-read-timeout` -> `ConnectionReadTimeout`, `DNS-error` -> `DnsError`: the
    componentize-py class name (without `ErrorCode_`) the proxy component reports."""
    return "".join(word[:1].upper() + word[1:].lower() for word in case.split("-"))


class StaticResolver(AbstractResolver):
    """Resolves only the names it was given; anything else fails like getaddrinfo does."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        address = self.names[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


# --- the in-process server ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve_outbound(
    manifest_path: Path,
    cache_dir: Path,
    *,
    telemetry: Telemetry | None = None,
    request_timeout: float | None = None,
    names: dict[str, str] | None = None,
) -> AsyncIterator[Served]:
    """Serve `manifest_path` until the block ends (see the module docstring)."""
    app = manifest.load(manifest_path)
    settings = RuntimeSettings(state_dir=cache_dir / "state", quiet=True)
    components = load_components(app, settings, get_engine(), cache_dir, report=lambda _: None)
    client = OutboundClient(resolver=StaticResolver(names or KNOWN_NAMES))
    invoker = Invoker(limits=Limits(request_timeout=request_timeout))
    handler = WasmComponentHandler(components, invoker, client=client)
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


def write_manifest(
    directory: Path,
    components: dict[str, tuple[Path, list[str]]],
    routes: dict[str, str | None],
    variables: dict[str, str] | None = None,
) -> Path:
    """A spin.toml in `directory`: component id -> (wasm, allowed_outbound_hosts); route ->
    component id (a None route is private: `{ private = true }`, keyed by a dummy name)."""
    lines = ["spin_manifest_version = 2", "", "[application]", 'name = "outbound-test"', ""]
    if variables:
        lines.append("[variables]")
        lines += [f'{name} = {{ default = "{value}" }}' for name, value in variables.items()]
        lines.append("")
    for route, component in routes.items():
        route_value = "{ private = true }" if route.startswith("private:") else f'"{route}"'
        lines += ["[[trigger.http]]", f"route = {route_value}", f'component = "{component}"', ""]
    for component_id, (source, allowed) in components.items():
        hosts = ", ".join(f'"{entry}"' for entry in allowed)
        lines += [
            f"[component.{component_id}]",
            f'source = "{source}"',
            f"allowed_outbound_hosts = [{hosts}]",
            "",
        ]
    path = directory / "spin.toml"
    path.write_text("\n".join(lines))
    return path


# --- upstream servers --------------------------------------------------------------------------


@dataclass
class Upstream:
    """A real aiohttp upstream on 127.0.0.1 that records every request it received."""

    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/inspect", self._inspect)
        app.router.add_route("*", "/download", self._download)
        app.router.add_route("*", "/sink", self._sink)
        app.router.add_route("*", "/status/{code}", self._status)
        app.router.add_route("*", "/redirect", self._redirect)
        return app

    async def _record(self, request: web.Request) -> dict[str, Any]:
        digest = hashlib.sha256()
        length = 0
        async for data in request.content.iter_any():
            digest.update(data)
            length += len(data)
        record = {
            "method": request.method,
            "path_qs": request.raw_path,
            "headers": [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            "length": length,
            "sha256": digest.hexdigest(),
        }
        self.seen.append(record)
        return record

    async def _inspect(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        return web.json_response(record, headers={"x-upstream": "inspect"})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return await _send_payload(request, int(request.query.get("size", "0")))

    async def _sink(self, request: web.Request) -> web.StreamResponse:
        """Read the whole body, then answer `size` bytes; the digest of what came in is in
        the `x-received-*` headers."""
        record = await self._record(request)
        headers = {
            "x-received-length": str(record["length"]),
            "x-received-sha256": record["sha256"],
        }
        return await _send_payload(request, int(request.query.get("size", "0")), headers)

    async def _status(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def _redirect(self, request: web.Request) -> web.Response:
        await self._record(request)
        raise web.HTTPFound("/inspect")

    def header(self, index: int, name: str) -> list[str]:
        """Every value of header `name` in request `index`."""
        return [v for k, v in self.seen[index]["headers"] if k.lower() == name.lower()]


async def _send_payload(
    request: web.Request, size: int, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    response = web.StreamResponse(headers=headers or {})
    if request.query.get("mode") == "chunked":
        response.enable_chunked_encoding()
    else:
        response.content_length = size
    await response.prepare(request)
    data = payload(size)
    for start in range(0, size, 64 * 1024):
        await response.write(data[start : start + 64 * 1024])
    await response.write_eof()
    return response


@contextlib.asynccontextmanager
async def run_upstream() -> AsyncIterator[Upstream]:
    """An `Upstream` serving on a free port until the block ends."""
    upstream = Upstream()
    runner = web.AppRunner(upstream.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    upstream.port = runner.addresses[0][1]
    try:
        yield upstream
    finally:
        await runner.cleanup()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_listener(handler: RawHandler) -> AsyncIterator[int]:
    """A plain asyncio server on 127.0.0.1 running `handler` per connection; yields its port."""
    tasks: set[asyncio.Task[Any]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            tasks.add(task)
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
        await server.wait_closed()


@contextlib.contextmanager
def unaccepting_port() -> Iterator[int]:
    """A port whose listener never accepts and whose queue is full: connects hang (Linux)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        yield port
    finally:
        filler.close()
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
