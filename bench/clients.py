"""Load that wrk cannot make: a streamed 10 MB echo (W3) and many slow requests at once (W6).

Both use an aiohttp client in the benchmark process. The echo client uploads and downloads at
the same time (the echo component starts its response before reading the body), checks that
every byte came back unchanged, and reports MB/s as body size / wall time of the exchange.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

MB = 1_000_000
CHUNK = 64 * 1024


def pattern(size: int) -> bytes:
    """`size` bytes that are not all alike (so a dropped or repeated chunk changes the hash)."""
    block = hashlib.sha256(b"spin-py bench").digest() * (CHUNK // 32)
    out = bytearray()
    index = 0
    while len(out) < size:
        out += index.to_bytes(4, "big") + block[4:]
        index += 1
    return bytes(out[:size])


@dataclass(frozen=True)
class EchoResult:
    """One echo exchange: status, bytes returned, wall seconds, whether the bytes matched."""

    status: int
    returned: int
    seconds: float
    intact: bool

    @property
    def mb_per_s(self) -> float:
        """Body megabytes (10^6) per second of the whole exchange."""
        return self.returned / MB / self.seconds if self.seconds > 0 else 0.0


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    view = memoryview(body)
    for start in range(0, len(body), CHUNK):
        yield bytes(view[start : start + CHUNK])


async def echo_once(session: aiohttp.ClientSession, url: str, body: bytes) -> EchoResult:
    """POST `body` (with content-length) and read the streamed echo back."""
    expected = hashlib.sha256(body).digest()
    digest = hashlib.sha256()
    returned = 0
    started = time.perf_counter()
    headers = {"content-length": str(len(body)), "content-type": "application/octet-stream"}
    async with session.post(url, data=_chunks(body), headers=headers) as response:
        async for chunk in response.content.iter_chunked(CHUNK):
            digest.update(chunk)
            returned += len(chunk)
        status = response.status
    seconds = time.perf_counter() - started
    return EchoResult(status, returned, seconds, digest.digest() == expected)


async def echo_many(url: str, body: bytes, count: int, timeout: float = 120) -> list[EchoResult]:
    """`count` echo exchanges one after another on a fresh connection each."""
    results = []
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    for _ in range(count):
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
            results.append(await echo_once(session, url, body))
    return results


@dataclass(frozen=True)
class SlowResult:
    """One request of a concurrent batch: status (0 on a client error) and latency."""

    status: int
    seconds: float
    error: str = ""


async def _one(session: aiohttp.ClientSession, url: str) -> SlowResult:
    started = time.perf_counter()
    try:
        async with session.get(url) as response:
            await response.read()
            return SlowResult(response.status, time.perf_counter() - started)
    except (aiohttp.ClientError, TimeoutError) as error:
        return SlowResult(0, time.perf_counter() - started, repr(error))


async def concurrent_gets(url: str, count: int, timeout: float) -> list[SlowResult]:
    """`count` GETs of `url` all started at once, each on its own connection."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
        return list(await asyncio.gather(*(_one(session, url) for _ in range(count))))
