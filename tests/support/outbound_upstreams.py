"""Upstream-side helpers for the outbound tests: deterministic payloads, the one resolver that
knows only the names it is given (`StaticResolver`, used by every test's outbound client), the
upstream aiohttp app, raw-server types (fixtures are in tests/outbound/conftest.py)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

PATTERN = bytes(range(256)) * 256  # 64 KiB
MIB = 1024 * 1024
KNOWN_NAMES = {"upstream.test": "127.0.0.1", "api.upstream.test": "127.0.0.1"}
"""The names the test servers' outbound client resolves (to the test's own upstreams)."""
GZIPPED = gzip.compress(b"hello outbound " * 100)


def payload(size: int) -> bytes:
    """`size` deterministic bytes (PATTERN repeated)."""
    whole, rest = divmod(size, len(PATTERN))
    return PATTERN * whole + PATTERN[:rest]


async def chunks(size: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`payload(size)` as an async stream of `chunk`-sized pieces."""
    data = payload(size)
    for start in range(0, size, chunk):
        yield data[start : start + chunk]


class StaticResolver(AbstractResolver):
    """Resolves only the names it was given; anything else fails like getaddrinfo does."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=self.names[host],
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


# --- the well-behaved upstream -------------------------------------------------------------


async def _inspect(request: web.Request) -> web.Response:
    digest = hashlib.sha256()
    length = 0
    async for data in request.content.iter_any():
        digest.update(data)
        length += len(data)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.json_response(
        {
            "method": request.method,
            "path_qs": request.raw_path,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
            "length": length,
            "sha256": digest.hexdigest(),
            "peer_port": peer[1] if peer else None,
        }
    )


async def _download(request: web.Request) -> web.StreamResponse:
    size = int(request.query.get("size", "0"))
    response = web.StreamResponse()
    if request.query.get("mode") == "chunked":
        response.enable_chunked_encoding()
    else:
        response.content_length = size
    await response.prepare(request)
    if request.method != "HEAD":
        async for data in chunks(size):
            await response.write(data)
    await response.write_eof()
    return response


async def _echo(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    async for data in request.content.iter_any():
        await response.write(data)
    await response.write_eof()
    return response


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/inspect")


async def _gzip(request: web.Request) -> web.Response:
    return web.Response(body=GZIPPED, headers={"Content-Encoding": "gzip"})


async def _cookie(request: web.Request) -> web.Response:
    response = web.Response(text="ok")
    response.set_cookie("session", "abc")
    return response


def upstream_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/inspect", _inspect)
    app.router.add_route("*", "/download", _download)
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/gzip", _gzip)
    app.router.add_get("/cookie", _cookie)
    return app


async def serve(app: web.Application, **site_args: object) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, **site_args)  # type: ignore[arg-type]
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    return runner, server.sockets[0].getsockname()[1]


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """The request head, up to and including the blank line."""
    return await reader.readuntil(b"\r\n\r\n")
