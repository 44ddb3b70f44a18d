"""The one seam between the HTTP front end and whatever runs components.

The request handler routes a request; when the match names a component it awaits
`ComponentHandler.handle(request, match)` and sends back the response it returns. Everything about
running Wasm (instantiation, the spin-* headers, streaming the body, deadlines) lives behind this
seam. An implementation:

- returns a response built with `spin_py.server.responses` (`make_response` for a whole body, or a
  `make_stream_response` it has already prepared and written), so no header is added by aiohttp;
- turns its own failures into `500` with an empty body plus an error log naming the component;
  anything it raises anyway is caught by the request handler and answered the same way, unless
  the response had already started: then the error is logged and the connection is aborted, so the
  client sees a cut-short response rather than a complete one;
- may also provide `async def aclose(self) -> None` (see `AsyncCloseable`): it is awaited once at
  shutdown, after the listener has stopped accepting;
- may also provide `set_self_origin(origin)` (see `SelfOriginAware`): `up` calls it with the
  bound address once the handler exists, for the guests' self requests;
- may also provide `interrupt()` (see `Interruptible`): at shutdown, once in-flight requests had
  their grace period, it must end the guest calls still running (even a guest spinning in pure
  wasm with no request timeout), so shutdown is bounded;
- may also provide `health_problem()` (see `HealthReporting`): what makes this process unfit to
  serve, or None; `/.well-known/spin/health` answers 503 with it.

The server gets its handler from a `ComponentHandlerFactory` (sync or async), called once inside
the running event loop before the first request (`spin_py.server.bridge` builds the real one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aiohttp import web

from spin_py.config import UpConfig
from spin_py.manifest.model import App
from spin_py.outbound.chaining import SelfOrigin
from spin_py.routing import RouteMatch


class ComponentHandler(Protocol):
    """Runs the component a route matched and produces the HTTP response."""

    async def handle(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        """Answer `request`, which the router matched to `match.trigger.component`."""
        ...


@runtime_checkable
class AsyncCloseable(Protocol):
    """Optional: a component handler with resources to release at shutdown."""

    async def aclose(self) -> None:
        """Release resources (worker threads, caches); called once at shutdown."""
        ...


@runtime_checkable
class SelfOriginAware(Protocol):
    """Optional: a component handler whose guests make self requests (relative URLs)."""

    def set_self_origin(self, origin: SelfOrigin) -> None:
        """The address the listener actually bound; called once, before the first request."""
        ...


@runtime_checkable
class Interruptible(Protocol):
    """Optional: a component handler that can stop its running guest calls at once."""

    def interrupt(self) -> None:
        """End every running guest call now and refuse new ones; called at shutdown, after the
        grace period (`spin_py.server.lifecycle.INTERRUPT_GUESTS_AFTER`), on the event loop."""
        ...


@runtime_checkable
class HealthReporting(Protocol):
    """Optional: a component handler that can tell when it cannot serve any more."""

    def health_problem(self) -> str | None:
        """One line saying why this process cannot serve requests now (None: it can)."""
        ...


ComponentHandlerFactory = Callable[[App, UpConfig], ComponentHandler | Awaitable[ComponentHandler]]
"""Builds the component handler for an app; called once, inside the running event loop, after
the socket is bound and before the listing is printed. It may be a coroutine function (e.g. to
compile components in a worker thread); a `SpinPyError` it raises stops `up` with that message."""
