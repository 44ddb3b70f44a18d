"""Responses for `static_response` triggers: the configured status, headers and body only."""

from __future__ import annotations

from aiohttp import web

from spin_py.manifest.model import StaticResponse
from spin_py.server.responses import make_response


def static_response(config: StaticResponse) -> web.Response:
    """Build the response a `static_response` trigger describes (body sent as UTF-8)."""
    return make_response(config.status_code, config.headers, config.body.encode("utf-8"))
