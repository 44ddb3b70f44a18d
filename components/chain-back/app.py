"""chain-back: the private half of the service-chaining example (Spin Python SDK 3.4.1).

It has no public route: it is reachable only as ``http://chain-back.spin.internal/...`` from
another component of the app (``chain-front``). Every request gets ``200``
``application/json`` describing what this component saw, so tests can check the request
service chaining delivers::

    {"component": "chain-back", "method": "POST", "uri": "/items/7?x=1",
     "headers": {"spin-path-info": "/items/7", ...}, "body_length": 3}

A query parameter ``size=N`` adds ``N`` bytes of padding (``"x" * N``) as ``"padding"``, to
make the response body as large as a test needs.
"""

import json
from urllib.parse import parse_qs

from spin_sdk import http
from spin_sdk.http import Request, Response


class IncomingHandler(http.IncomingHandler):
    """Describes the request it received."""

    def handle_request(self, request: Request) -> Response:
        """Answer with the JSON description."""
        query = parse_qs(request.uri.partition("?")[2])
        size = int(query.get("size", ["0"])[-1])
        body = {
            "component": "chain-back",
            "method": request.method,
            "uri": request.uri,
            "headers": dict(request.headers),
            "body_length": len(request.body or b""),
            "padding": "x" * size,
        }
        return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())
