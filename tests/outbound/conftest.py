"""Real upstream servers on 127.0.0.1 for the outbound client tests.

- `upstream`: an aiohttp app (inspect the request, download N bytes, echo, redirect, gzip,
  cookie) on a free port;
- `raw_server`: plain asyncio servers whose handlers misbehave on purpose (stall, truncate,
  close early, send garbage) or show the exact bytes on the wire;
- `client`: an `OutboundClient` whose resolver knows only `upstream.test` (-> 127.0.0.1), so
  name lookups are deterministic and never leave the machine;
- `tls_files`: a self-signed certificate for localhost / upstream.test / 127.0.0.1 (openssl).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from spin_py.outbound.client import OutboundClient
from tests.support.outbound_upstreams import Handler, StaticResolver, serve, upstream_app


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    """Base URL (`http://127.0.0.1:<port>`) of the upstream app."""
    runner, port = await serve(upstream_app())
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cert.pem, key.pem): self-signed, for localhost, upstream.test and 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,DNS:upstream.test,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_upstream(tls_files: tuple[Path, Path]) -> AsyncIterator[int]:
    """Port of the upstream app served over TLS with the self-signed certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    runner, port = await serve(upstream_app(), ssl_context=context)
    yield port
    await runner.cleanup()


# --- raw servers -----------------------------------------------------------------------------


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Start asyncio servers on 127.0.0.1 with the given handler; returns their port."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []
    tasks: list[asyncio.Task[None] | None] = []

    async def start(handler: Handler) -> int:
        async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            tasks.append(asyncio.current_task())
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await handler(reader, writer)

        server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for task in tasks:
        if task is not None:
            task.cancel()
    await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
    for writer in writers:
        writer.close()
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[OutboundClient]:
    """A client whose resolver knows only `upstream.test`."""
    outbound = OutboundClient(resolver=StaticResolver({"upstream.test": "127.0.0.1"}))
    yield outbound
    await outbound.close()
