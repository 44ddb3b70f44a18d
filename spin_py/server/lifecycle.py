"""Running the aiohttp application on a bound socket until SIGINT or SIGTERM.

`serve` builds the app (loading every component), starts listening on the bound socket (or, in a
worker, waits for its turn: the supervisor listens once all workers are ready), starts the site,
calls `on_ready` (which prints the route listing) once the socket is accepting, then waits for a
signal. No connection is accepted, or even queued, before the app is ready.

With a shutdown delay (`Drain.delay`), a SIGTERM first drains: the server keeps accepting for that
long while health answers 503 and responses close their connections (see `spin_py.server.drain`);
SIGINT, or a second signal, ends the delay at once. Shutdown then stops accepting, gives in-flight
requests `INTERRUPT_GUESTS_AFTER` seconds, then interrupts the guests still running (the app's
shutdown hook, see `spin_py.server.app`), so their handlers answer within aiohttp's graceful wait of
`SHUTDOWN_TIMEOUT` seconds; it runs the app's cleanup hooks (the component handler's `aclose`) and
returns normally, so `spin-py up` exits with status 0. A second signal during shutdown does not
interrupt it; the wait is bounded anyway (by about `INTERRUPT_GUESTS_AFTER` plus one epoch slice for
a guest spinning in pure wasm, by at most twice `SHUTDOWN_TIMEOUT` for any handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from spin_py.config import ConnectionLimits
from spin_py.server.connections import GuardedAppRunner
from spin_py.server.drain import Drain
from spin_py.server.listen import BACKLOG, start_listening

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 5.0
"""aiohttp's graceful wait for in-flight handlers (it waits once more after cancelling them)."""
INTERRUPT_GUESTS_AFTER = 4.0
"""Seconds in-flight requests get before their guests are interrupted (< `SHUTDOWN_TIMEOUT`)."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

SHARED_ACCEPT_BATCH = 1
"""Connections a worker process accepts per wake-up on a socket shared with other workers."""
SHARED_ACCEPT_PAUSE = 0.001
"""Seconds a worker sleeps after each connection it accepts from a shared socket.

Workers sharing a socket wait for it with epoll; the one that is running accepts whatever is
queued. asyncio accepts up to its `backlog` argument per wake-up (aiohttp's default: 128), so
under a burst of new keep-alive connections one worker took them all while the other idled
(measured, two workers, tiny guest, `wrk -c16` runs of 2 s: 18 runs in 24 with one worker
doing over 90% of the work). Accepting one at a time still lost to CPU starvation on a busy
machine (10 in 48; `sched_yield` after each accept: 3 in 24); sleeping 1 ms after each accept
lets the other workers run and take their share (0 in 48). The sleep releases the GIL, so the
worker's guest thread keeps running meanwhile."""


async def serve(
    build_app: Callable[[], Awaitable[web.Application]],
    sock: socket.socket,
    on_ready: Callable[[], None],
    *,
    shared: bool = False,
    await_turn: Callable[[], Awaitable[None]] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    drain: Drain | None = None,
    connections: ConnectionLimits | None = None,
) -> None:
    """Serve the app `build_app` makes (inside the loop) on `sock` until a stop signal.

    `sock` is bound but not listening (`spin_py.server.listen`): once the app is built, this
    process starts listening, or, with `await_turn`, waits for it to return (a worker: its
    supervisor listens once every worker is ready). `shared`: other worker processes accept
    on `sock` too (see `SHARED_ACCEPT_BATCH`). `ssl_context`: serve HTTPS. `drain`: the
    shutdown delay a SIGTERM starts before the listener closes. `connections`: the header and
    keep-alive timeouts and the connection cap (`spin_py.server.connections`; default values
    when None).
    """
    stops = _StopSignals()
    try:
        stop = stops.stopped
        web_app = await build_app()
        runner = GuardedAppRunner(
            web_app,
            connections or ConnectionLimits(),
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            handler_cancellation=True,  # a client that hangs up cancels its request (and guest)
        )
        await runner.setup()
        try:
            if await_turn is None:
                start_listening(sock)
            else:
                await _unless_stopped(await_turn(), stop)
            if not stop.is_set():
                await _start_site(runner, sock, shared, ssl_context)
                on_ready()
                await stop.wait()
                if drain is not None and drain.delay > 0 and stops.received == [signal.SIGTERM]:
                    await _drain(drain, stops)
        finally:
            await runner.cleanup()
    finally:
        stops.close()  # before asyncio closes its self-pipe: a late signal must not find it closed


def run(
    build_app: Callable[[], Awaitable[web.Application]],
    sock: socket.socket,
    on_ready: Callable[[], None],
    *,
    shared: bool = False,
    await_turn: Callable[[], Awaitable[None]] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    drain: Drain | None = None,
    connections: ConnectionLimits | None = None,
) -> None:
    """Blocking entry point: `serve` in a fresh event loop."""
    asyncio.run(
        serve(
            build_app,
            sock,
            on_ready,
            shared=shared,
            await_turn=await_turn,
            ssl_context=ssl_context,
            drain=drain,
            connections=connections,
        )
    )


async def _drain(drain: Drain, stops: _StopSignals) -> None:
    """Serve on with health answering 503 for `drain.delay` seconds, or until another signal."""
    drain.start()
    log.info("draining for %gs before closing the listener (health answers 503)", drain.delay)
    await stops.next_signal(timeout=drain.delay)


async def _unless_stopped(turn: Awaitable[None], stop: asyncio.Event) -> None:
    """Wait for `turn`, or for `stop` (then `turn` is cancelled)."""
    waiting = asyncio.ensure_future(turn)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopped):
            task.cancel()
    if waiting.done() and not waiting.cancelled():
        waiting.result()  # re-raise what the turn raised


async def _start_site(
    runner: web.AppRunner,
    sock: socket.socket,
    shared: bool,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    if not shared:
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        return
    # asyncio re-`listen()`s with the same number it uses as its accept batch: restore the
    # queue length the socket was bound with (`listen.BACKLOG`).
    turns = _TakeTurnsSocket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
    await web.SockSite(runner, turns, backlog=SHARED_ACCEPT_BATCH, ssl_context=ssl_context).start()
    sock.listen(BACKLOG)


class _TakeTurnsSocket(socket.socket):
    """A listening socket (a duplicate of the shared one) that pauses after every accept
    (`SHARED_ACCEPT_PAUSE`), so the other workers get their share of a burst."""

    def accept(self) -> tuple[socket.socket, Any]:
        conn = super().accept()
        time.sleep(SHARED_ACCEPT_PAUSE)
        return conn


class _StopSignals:
    """The stop signals this process received, in order (handlers installed on creation);
    `stopped` is set by the first."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.stopped = asyncio.Event()
        self._next = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, signum)

    def close(self) -> None:
        """Put the default signal handling back (asyncio closes its self-pipe before removing
        its handlers, so a signal in between hit a closed wakeup fd and printed a traceback)."""
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)

    def _on_signal(self, signum: int) -> None:
        self.received.append(signum)
        self.stopped.set()
        self._next.set()

    async def next_signal(self, timeout: float) -> None:
        """Until one more signal arrives, or `timeout` seconds pass."""
        self._next.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._next.wait(), timeout)
