"""Running the aiohttp application on a bound socket until SIGINT or SIGTERM.

`serve` starts the site, calls `on_ready` (which prints the route listing) only once the socket is
accepting, then waits for a signal. Shutdown stops accepting, gives in-flight requests up to
`SHUTDOWN_TIMEOUT` seconds, runs the app's cleanup hooks (the component handler's `aclose`) and
returns normally, so `spin-py up` exits with status 0. A second signal during shutdown does not
interrupt it; the wait is bounded anyway.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

SHUTDOWN_TIMEOUT = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve(
    build_app: Callable[[], Awaitable[web.Application]],
    sock: socket.socket,
    on_ready: Callable[[], None],
) -> None:
    """Serve the app `build_app` makes (inside the loop) on `sock` until a stop signal."""
    stop = _stop_event()
    web_app = await build_app()
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        if not stop.is_set():
            await web.SockSite(runner, sock).start()
            on_ready()
            await stop.wait()
    finally:
        await runner.cleanup()


def run(
    build_app: Callable[[], Awaitable[web.Application]],
    sock: socket.socket,
    on_ready: Callable[[], None],
) -> None:
    """Blocking entry point: `serve` in a fresh event loop."""
    asyncio.run(serve(build_app, sock, on_ready))


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    return stop
