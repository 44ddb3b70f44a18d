"""Spin's reserved endpoints under `/.well-known/spin/`, answered before any app route.

`health` answers `200 OK`; `info` answers the app's name and version as JSON; every other path
under the prefix is a 404 with an empty body, even if the app declares a route there.
"""

from __future__ import annotations

import json

from aiohttp import web

from spin_py.manifest.model import App
from spin_py.routing import WELL_KNOWN_PREFIX
from spin_py.server.responses import make_response

HEALTH_PATH = WELL_KNOWN_PREFIX + "health"
INFO_PATH = WELL_KNOWN_PREFIX + "info"


def is_well_known(path: str) -> bool:
    """Whether `path` (raw, without query) is in the reserved namespace."""
    return path.startswith(WELL_KNOWN_PREFIX)


def well_known_response(path: str, app: App) -> web.Response:
    """The response for a reserved path; call only when `is_well_known(path)`."""
    if path == HEALTH_PATH:
        return make_response(200, body=b"OK")
    if path == INFO_PATH:
        return _info_response(app)
    return make_response(404)


def _info_response(app: App) -> web.Response:
    body = json.dumps({"name": app.name, "version": app.version}, indent=2)
    return make_response(200, [("content-type", "application/json")], body.encode("utf-8"))
