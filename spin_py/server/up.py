"""`spin-py up` without the CLI: load the app, bind, build the server, print the listing, serve.

The socket is bound before the component handler is built, so a busy port fails fast, and
listens only once the app is loaded, so no connection is accepted before it can be served; the
listing is printed once the server accepts connections. With `config.workers > 1` the socket is
bound the same way, once, and a `Supervisor` forks that many worker processes, each serving it
with `serve_socket` and telemetry of its own; it listens, and the listing is printed, once all
of them are ready (docs/compatibility.md#startup-and-readiness). `--trace-ui` and
`--access-log` are wired in by `trace_ui`.
"""

from __future__ import annotations

import inspect
import socket
import ssl
import sys
from collections.abc import Callable
from typing import TextIO

from aiohttp import web

from spin_py import __version__, manifest
from spin_py.config import UpConfig
from spin_py.manifest.model import App
from spin_py.manifest.select import retain_components
from spin_py.outbound.chaining import SelfOrigin
from spin_py.routing import Router

# Imported here, before workers fork, so every host interface module (the composition list) is
# loaded once in the parent: its pages are shared and workers start sooner.
from spin_py.runtime import composition  # noqa: F401
from spin_py.runtime.compile_cache import COMPILED_DIR
from spin_py.runtime.loader import all_cached
from spin_py.server import lifecycle, trace_ui
from spin_py.server.app import create_web_app
from spin_py.server.component import (
    ComponentHandlerFactory,
    SelfOriginAware,
)
from spin_py.server.drain import Drain
from spin_py.server.listen import bind_listener, bound_url
from spin_py.server.listing import render_listing
from spin_py.server.supervisor import Supervisor
from spin_py.server.tls import server_context
from spin_py.server.worker import AwaitTurn
from spin_py.telemetry import Telemetry, configure

TELEMETRY_SHUTDOWN_S = 5.0
"""Bounded wait for buffered telemetry to flush at shutdown."""


def up(
    config: UpConfig,
    *,
    components: ComponentHandlerFactory,
    out: TextIO = sys.stdout,
    app: App | None = None,
) -> None:
    """Serve the app at `config.manifest_path` (`app`: that manifest, if the caller loaded it
    already) until SIGINT/SIGTERM; errors are `SpinPyError`s."""
    if app is None:
        app = retain_components(manifest.load(config.manifest_path), config.component_ids)
    # Before the port is bound, so that a bad certificate or key fails first; built once (forked
    # workers inherit it).
    ssl_context = None if config.tls is None else server_context(config.tls)
    router = Router.build(app.triggers)
    if config.workers > 1:
        _up_workers(app, router, config, components, out, ssl_context)
        return
    sock = bind_listener(config.listen, find_free_port=config.find_free_port)
    ui_sock = trace_ui.bind(config)
    extras = trace_ui.in_process(config, ui_sock)
    telemetry = configure_telemetry(config, app.name, extras)
    on_ready = trace_ui.announcing(_listing(sock, router, config, out), ui_sock, config, out)
    try:
        serve_socket(
            app,
            router,
            config,
            components,
            sock,
            on_ready,
            telemetry,
            ssl_context=ssl_context,
            setup=extras.setup_app,
        )
    finally:
        if ui_sock is not None:
            ui_sock.close()


def configure_telemetry(
    config: UpConfig, app_name: str, extras: trace_ui.TelemetryExtras
) -> Telemetry:
    """The process's telemetry from the `OTEL_*` environment, with the `--trace-ui` and
    `--access-log` extras."""
    return configure(
        dict(config.otel_env),
        app_name=app_name,
        version=__version__,
        span_processors=extras.span_processors,
        metric_readers=extras.metric_readers,
        access_log=extras.access_log,
    )


def serve_socket(
    app: App,
    router: Router,
    config: UpConfig,
    components: ComponentHandlerFactory,
    sock: socket.socket,
    on_ready: Callable[[], None],
    telemetry: Telemetry,
    *,
    ssl_context: ssl.SSLContext | None = None,
    await_turn: AwaitTurn | None = None,
    setup: Callable[[web.Application], None] | None = None,
) -> None:
    """Serve `app` on the bound `sock` in this process until SIGINT/SIGTERM (over TLS with
    `ssl_context`): listen once the app is loaded, or in a worker (`await_turn`, `sock` shared
    by worker processes) when its turn comes; `on_ready` runs once it accepts; `setup` gets the
    aiohttp application before it starts. Shuts `telemetry` down (bounded) at the end."""

    drain = Drain(config.shutdown_delay)

    async def build_app() -> web.Application:
        handler = components(app, config)
        if inspect.isawaitable(handler):
            handler = await handler
        if isinstance(handler, SelfOriginAware):
            handler.set_self_origin(SelfOrigin.from_sockname(scheme(config), sock.getsockname()))
        web_app = create_web_app(app, router, handler, telemetry, drain)
        if setup is not None:
            setup(web_app)
        return web_app

    try:
        shared = await_turn is not None
        lifecycle.run(
            build_app,
            sock,
            on_ready,
            shared=shared,
            await_turn=await_turn,
            ssl_context=ssl_context,
            drain=drain,
            connections=config.security.connections,
        )
    finally:
        telemetry.shutdown(TELEMETRY_SHUTDOWN_S)


def _cache_is_warm(app: App, config: UpConfig) -> bool:
    """Whether every component is compiled already: then all workers can start at once (no
    worker has to fill the cache for the others)."""
    if config.cache_root is None:
        return False
    only = config.component_ids or None
    return all_cached(app, config.cache_root / COMPILED_DIR, only)


def _up_workers(
    app: App,
    router: Router,
    config: UpConfig,
    components: ComponentHandlerFactory,
    out: TextIO,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """`up` with `config.workers` processes: bind here, serve in forked workers."""
    sock = bind_listener(config.listen, find_free_port=config.find_free_port)
    ui_sock = trace_ui.bind(config)

    def serve_worker(await_turn: AwaitTurn) -> None:  # runs in a forked worker
        telemetry = configure_telemetry(config, app.name, trace_ui.forwarding(config, ui_sock))
        serve_socket(
            app,
            router,
            config,
            components,
            sock,
            _nothing,
            telemetry,
            ssl_context=ssl_context,
            await_turn=await_turn,
        )

    sidecar = trace_ui.sidecar(ui_sock, sock) if ui_sock is not None else None
    on_ready = trace_ui.announcing(_listing(sock, router, config, out), ui_sock, config, out)
    try:
        supervisor = Supervisor(
            config.workers,
            sock,
            serve_worker,
            shutdown_delay=config.shutdown_delay,
            sidecar=sidecar,
            parallel_start=_cache_is_warm(app, config),
        )
        supervisor.run(on_ready)
    finally:
        sock.close()
        if ui_sock is not None:
            ui_sock.close()


def _nothing() -> None:
    """A worker prints nothing once it accepts (the supervisor prints the listing)."""


def _listing(
    sock: socket.socket, router: Router, config: UpConfig, out: TextIO
) -> Callable[[], None]:
    """Prints the startup listing for the bound `sock` when called."""
    text = render_listing(bound_url(sock, scheme(config)), router, config.output_format)

    def print_listing() -> None:
        out.write(text)
        out.flush()

    return print_listing


def scheme(config: UpConfig) -> str:
    """`https` with `--tls-cert`, else `http`."""
    return "http" if config.tls is None else "https"
