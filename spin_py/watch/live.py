"""An app that can be replaced while it serves: generations swapped atomically on one listener.

`spin-py watch` keeps its listening socket for its whole life; what changes is the
`Generation` behind it: a loaded manifest, its router and its component handler (compiled
components, invoker, platform services). `LiveApp.handle` (the aiohttp handler of every request)
takes the current generation when the request arrives and runs the whole request on it,
counting it in flight. `swap` makes a new generation current in one assignment on the event loop,
so every request is answered by exactly one complete generation, old or new, never by a mix and
never by none. The old generation is closed (`aclose`: its invoker threads, platform services)
only once its last in-flight request has finished.

At shutdown, `interrupt` and `aclose` reach every generation still alive (the current one and
those waiting for their requests to finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web

from spin_py.manifest.model import App
from spin_py.routing import Router
from spin_py.server.component import AsyncCloseable, ComponentHandler, Interruptible
from spin_py.server.drain import Drain
from spin_py.server.handler import RequestHandler
from spin_py.server.responses import make_response

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Generation:
    """One loaded version of the app."""

    number: int
    app: App
    router: Router
    components: ComponentHandler
    fingerprint: object = None
    """What it was loaded from (compared to skip reloading the same inputs)."""
    drain: Drain | None = None
    """The process's shutdown drain (health and `Connection: close` follow it)."""
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    handler: RequestHandler = field(init=False)

    def __post_init__(self) -> None:
        self.idle.set()
        self.handler = RequestHandler(self.app, self.router, self.components, self.drain)

    def enter(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()


class LiveApp:
    """The swappable app behind the listener (see the module docstring)."""

    def __init__(self) -> None:
        self.current: Generation | None = None
        self._retiring: dict[Generation, asyncio.Task[None]] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer `request` with the generation current when it arrived."""
        generation = self.current
        if generation is None:  # not reachable: the socket listens after the first swap
            return make_response(503)
        generation.enter()
        try:
            return await generation.handler.handle(request)
        finally:
            generation.leave()

    def swap(self, generation: Generation) -> Generation | None:
        """Make `generation` current; the previous one (returned) is closed once idle."""
        previous, self.current = self.current, generation
        if previous is not None:
            self._retiring[previous] = asyncio.get_running_loop().create_task(
                self._retire(previous), name=f"spin-py-retire-{previous.number}"
            )
        return previous

    async def _retire(self, generation: Generation) -> None:
        try:
            await generation.idle.wait()
            await close(generation)
            log.debug("generation %d closed", generation.number)
        finally:
            self._retiring.pop(generation, None)

    def interrupt(self) -> None:
        """Shutdown, after the grace period: end the running guest calls of every generation."""
        for generation in [*self._retiring, *([self.current] if self.current else [])]:
            if isinstance(generation.components, Interruptible):
                generation.components.interrupt()

    async def aclose(self) -> None:
        """Shutdown: close the current generation and wait for the retiring ones."""
        current, self.current = self.current, None
        if current is not None:
            await close(current)
        for task in list(self._retiring.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def close(generation: Generation) -> None:
    """Release what a generation holds (never raises: it is logged)."""
    components = generation.components
    if isinstance(components, AsyncCloseable):
        try:
            await components.aclose()
        except Exception:
            log.exception("closing generation %d failed", generation.number)
