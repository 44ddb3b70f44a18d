"""Spin's reserved endpoints under `/.well-known/spin/`, answered before any app route.

`health` answers `200 OK`, or `503` with a one-line reason when the process cannot serve (every
request slot held by a stuck guest, or `draining` once a SIGTERM started the drain of a
`--shutdown-delay`, see `spin_py.server.drain`; Spin has no such states and always answers
`OK`); `info`
answers the app's name and version as JSON; every other path under the prefix is a 404 with an
empty body, even if the app declares a route there.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from spin_py.manifest.model import App
from spin_py.routing import WELL_KNOWN_PREFIX
from spin_py.server.responses import make_response

HEALTH_PATH = WELL_KNOWN_PREFIX + "health"
INFO_PATH = WELL_KNOWN_PREFIX + "info"


def is_well_known(path: str) -> bool:
    """Whether `path` (raw, without query) is in the reserved namespace."""
    return path.startswith(WELL_KNOWN_PREFIX)


def well_known_response(
    path: str, app: App, health_problem: Callable[[], str | None] | None = None
) -> web.Response:
    """The response for a reserved path; call only when `is_well_known(path)`.
    `health_problem` says why the process is unhealthy (None: it is healthy)."""
    if path == HEALTH_PATH:
        problem = health_problem() if health_problem is not None else None
        if problem is not None:
            return make_response(503, [("content-type", "text/plain")], problem.encode())
        return make_response(200, body=b"OK")
    if path == INFO_PATH:
        return _info_response(app)
    return make_response(404)


def _info_response(app: App) -> web.Response:
    body = json.dumps({"name": app.name, "version": app.version}, indent=2)
    return make_response(200, [("content-type", "application/json")], body.encode("utf-8"))
