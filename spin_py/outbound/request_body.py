"""Outgoing request bodies as the HTTP client and a chained component read them.

The guest writes an outbound request's body into the `OutgoingBody` that `outgoing-request.body`
made (it owns a bounded channel, `spin_py.host.channels.ByteChannel`); the sender reads it on
the event loop through its `BodyReader`: the aiohttp client as an async iterator
(`request_chunks`), a chained component as a `next_chunk` source (`request_puller`). A slow
upstream slows the guest down (the channel is bounded). A body the guest aborted (a
content-length mismatch, a body dropped unfinished) fails the read with `OutboundError` carrying
that error-code, so the request never looks complete upstream. Once the sender stops reading
(the request failed, or the upstream answered without reading it all), `release` closes the
reader so further guest writes are accepted and dropped: the failure reaches the guest once,
through the response future (guests such as the Spin SDK write the body and await the
response concurrently). Request trailers are dropped: aiohttp's client cannot send them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from spin_py.host.channels import NextChunk
from spin_py.outbound.errors import OutboundError
from spin_py.wasi.http.body import BodyAborted, BodyReader

__all__ = ["release", "request_chunks", "request_puller"]

log = logging.getLogger(__name__)


async def _read(reader: BodyReader) -> bytes | None:
    try:
        return await reader.read()
    except BodyAborted as aborted:
        code = aborted.code
        raise OutboundError(code.case, code.payload, f"request body aborted: {code}") from None


async def request_chunks(reader: BodyReader) -> AsyncIterator[bytes]:
    """The body as the guest writes it; raises `OutboundError` if the guest aborted it."""
    try:
        while (data := await _read(reader)) is not None:
            yield data
        trailers = reader.trailers
        if trailers is not None and len(trailers):
            log.debug("dropping %d outgoing request trailer(s): not supported", len(trailers))
    finally:
        release(reader)


def request_puller(reader: BodyReader) -> NextChunk:
    """The body as a `next_chunk` source (None at the end) for a chained component."""

    async def next_chunk() -> bytes | None:
        return await _read(reader)

    return next_chunk


def release(reader: BodyReader) -> None:
    """Nobody reads this body any more (any thread): guest writes are accepted and dropped."""
    reader.close(discard_writes=True)
