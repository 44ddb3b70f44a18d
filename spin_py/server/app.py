"""Builds the aiohttp `Application` that serves one Spin app.

One catch-all route for every method and path hands requests to `RequestHandler`; aiohttp's own
routing is not used (Spin's routing rules are in `spin_py.routing`). The response-prepare signal
strips the headers aiohttp would add (see `responses`); a middleware turns the few errors aiohttp
raises itself (a request target the catch-all cannot match, such as `OPTIONS *`) into responses
with an empty body; with a `Drain`, responses close their connection once it started; the
component handler, if it has an `interrupt`, is interrupted once the
shutdown grace period passed, and, if it has an `aclose`, is closed on cleanup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from spin_py.manifest.model import App
from spin_py.routing import Router
from spin_py.server.component import AsyncCloseable, ComponentHandler, Interruptible
from spin_py.server.drain import Drain, close_while_draining
from spin_py.server.handler import RequestHandler
from spin_py.server.lifecycle import INTERRUPT_GUESTS_AFTER
from spin_py.server.responses import make_response, strip_added_headers
from spin_py.telemetry import Telemetry, note_response, server_span_middleware

SPIN_APP = web.AppKey("spin_app", App)
"""The loaded app, for code holding only the `web.Application` (middlewares, telemetry)."""


def create_web_app(
    app: App,
    router: Router,
    components: ComponentHandler,
    telemetry: Telemetry | None = None,
    drain: Drain | None = None,
) -> web.Application:
    """An aiohttp application serving `app`'s routes with `components` for component triggers;
    with `telemetry`, every request gets a server span (outermost middleware); `drain` is the
    process's shutdown drain (health and `Connection: close` follow it)."""
    handler = RequestHandler(app, router, components, drain)
    web_app = serving_web_app(handler.handle, components, telemetry, drain)
    web_app[SPIN_APP] = app
    return web_app


def serving_web_app(
    handle: Callable[[web.Request], Awaitable[web.StreamResponse]],
    components: object,
    telemetry: Telemetry | None = None,
    drain: Drain | None = None,
) -> web.Application:
    """The aiohttp application around `handle` (every method and path): middlewares, the
    response-prepare signals, and the shutdown hooks of `components` (if it is `Interruptible`
    or `AsyncCloseable`). `spin-py watch` uses it with an app it swaps (`spin_py.watch.live`)."""
    middlewares: list[Middleware] = [empty_error_bodies]
    if telemetry is not None:
        middlewares.insert(0, server_span_middleware(telemetry))
    web_app = web.Application(middlewares=middlewares)
    web_app.on_response_prepare.append(strip_added_headers)
    if drain is not None:
        web_app.on_response_prepare.append(close_while_draining(drain))
    if telemetry is not None:
        web_app.on_response_prepare.append(note_response)
    web_app.router.add_route("*", "/{tail:.*}", handle)
    if isinstance(components, Interruptible):
        _interrupt_after_grace(web_app, components)
    if isinstance(components, AsyncCloseable):
        web_app.on_cleanup.append(_closer(components))
    return web_app


@web.middleware
async def empty_error_bodies(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer an `HTTPException` raised by aiohttp with its status and an empty body."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return make_response(exc.status)


def _interrupt_after_grace(web_app: web.Application, components: Interruptible) -> None:
    """At shutdown, in-flight requests get `INTERRUPT_GUESTS_AFTER` seconds, then their guests
    are interrupted, so the handlers still answer within aiohttp's graceful wait (the timer is
    dropped at cleanup if everything ended sooner)."""
    timers: list[asyncio.TimerHandle] = []

    async def schedule(_: web.Application) -> None:
        timers.append(
            asyncio.get_running_loop().call_later(INTERRUPT_GUESTS_AFTER, components.interrupt)
        )

    async def drop(_: web.Application) -> None:
        for timer in timers:
            timer.cancel()

    web_app.on_shutdown.append(schedule)
    web_app.on_cleanup.append(drop)


def _closer(components: AsyncCloseable) -> Callable[[web.Application], Awaitable[None]]:
    async def close(_: web.Application) -> None:
        await components.aclose()

    return close
