"""`spin-py up` without the CLI: load the app, bind, build the server, print the listing, serve.

The listening socket is bound before the component handler is built, so a busy port fails fast;
the listing is printed only once the server accepts connections.
"""

from __future__ import annotations

import inspect
import sys
from typing import TextIO

from aiohttp import web

from spin_py import __version__, manifest
from spin_py.config import UpConfig
from spin_py.routing import Router
from spin_py.server import lifecycle
from spin_py.server.app import create_web_app
from spin_py.server.component import ComponentHandlerFactory, default_component_handler
from spin_py.server.listen import bind_listener, bound_url
from spin_py.server.listing import listed_routes, render_json, render_plain
from spin_py.telemetry import configure

TELEMETRY_SHUTDOWN_S = 5.0
"""Bounded wait for buffered telemetry to flush at shutdown."""


def up(
    config: UpConfig,
    *,
    components: ComponentHandlerFactory = default_component_handler,
    out: TextIO = sys.stdout,
) -> None:
    """Serve the app at `config.manifest_path` until SIGINT/SIGTERM; errors are `SpinPyError`s."""
    app = manifest.load(config.manifest_path)
    router = Router.build(app.triggers)
    telemetry = configure(dict(config.otel_env), app_name=app.name, version=__version__)
    sock = bind_listener(config.listen, find_free_port=config.find_free_port)
    base_url = bound_url(sock)
    routes = listed_routes(base_url, router)
    render = render_json if config.output_format == "json" else render_plain

    async def build_app() -> web.Application:
        handler = components(app, config)
        if inspect.isawaitable(handler):
            handler = await handler
        return create_web_app(app, router, handler, telemetry)

    def on_ready() -> None:
        out.write(render(base_url, routes))
        out.flush()

    try:
        lifecycle.run(build_app, sock, on_ready)
    finally:
        telemetry.shutdown(TELEMETRY_SHUTDOWN_S)
