"""The aiohttp request handler: reserved paths, then the router, then the matched trigger.

First a request line or `Host` no component may see is refused (505, 400: see
`spin_py.server.request_target`). Then, as in Spin: `/.well-known/spin/*`; then the app's routes
on the raw request path (without the query string); no match is a 404 with an empty body; a
static response is answered directly; a component goes through the `ComponentHandler` seam,
whose failures become an empty 500.
"""

from __future__ import annotations

import logging

from aiohttp import web

from spin_py.manifest.model import App
from spin_py.routing import RouteMatch, Router
from spin_py.server.component import ComponentHandler, HealthReporting
from spin_py.server.drain import DRAINING, Drain
from spin_py.server.request_target import protocol_problem
from spin_py.server.responses import RESPONSE_STARTED, make_response
from spin_py.server.static import static_response
from spin_py.server.wellknown import is_well_known, well_known_response
from spin_py.telemetry import ROUTE_KEY

log = logging.getLogger(__name__)


def routing_path(request: web.BaseRequest) -> str:
    """The raw (still percent-encoded) request path without the query string.

    For an absolute-form target (`GET http://host/path`), the path part of the URL.
    """
    raw = request.raw_path
    if not raw.startswith("/"):
        raw = request.rel_url.raw_path
    return raw.partition("?")[0]


class RequestHandler:
    """The aiohttp handler (`handle`) for every path and method of one app."""

    def __init__(
        self, app: App, router: Router, components: ComponentHandler, drain: Drain | None = None
    ) -> None:
        self._app = app
        self._router = router
        self._components = components
        self._drain = drain or Drain()
        self._component_health = (
            components.health_problem if isinstance(components, HealthReporting) else None
        )

    def _health(self) -> str | None:
        """Why health answers 503 now (None: it answers 200): draining, or the components'
        own problem (every request slot held by a stuck guest)."""
        if self._drain.draining:
            return DRAINING
        return None if self._component_health is None else self._component_health()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request."""
        problem = protocol_problem(request.version, request.raw_path, request.headers.get("Host"))
        if problem is not None:  # an unsupported version, a malformed Host (request_target)
            response = make_response(problem)
            response.force_close()
            return response
        path = routing_path(request)
        if is_well_known(path):
            return well_known_response(path, self._app, self._health)
        match = self._router.route(path)
        if match is None:
            return make_response(404)
        request[ROUTE_KEY] = match.raw_route
        static = match.trigger.static_response
        if static is not None:
            return static_response(static)
        return await self._run_component(request, match)

    async def _run_component(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        """Run the seam; a failure before the response started is an empty 500, a failure after
        it is re-raised so that aiohttp aborts the connection (the response is cut short)."""
        try:
            return await self._components.handle(request, match)
        except Exception:
            log.exception('component "%s" failed to handle the request', match.trigger.component)
            if request.get(RESPONSE_STARTED, False):
                raise
            return make_response(500)
