"""Helpers for the outbound HTTP integration tests: real upstream servers on 127.0.0.1 and
manifests written per test (the server itself is `tests.support.wasm_server.serve`).

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
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.outbound_upstreams import payload


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_case(case: str) -> str:
    """`connection-read-timeout` -> `ConnectionReadTimeout`, `DNS-error` -> `DnsError`: the
    componentize-py class name (without `ErrorCode_`) the proxy component reports."""
    return "".join(word[:1].upper() + word[1:].lower() for word in case.split("-"))


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
