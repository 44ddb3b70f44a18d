"""chain-front: the public half of the service-chaining example (Spin Python SDK 3.4.1).

``<METHOD> /front/<rest>?<query>`` calls ``http://chain-back.spin.internal/<rest>?<query>``
with the same method and body (``spin_sdk.http.send``) and answers with chain-back's status,
headers and body. The request never leaves the server: spin-py runs chain-back in-process,
although chain-back has no public route.

The query parameter ``component=<id>`` aims the call at ``<id>.spin.internal`` instead; the
manifest allows only chain-back, so any other id is denied. A failed call answers ``502`` with
``x-proxy-error: <ErrorCode case>`` (e.g. ``HttpRequestDenied``), as the proxy component does.
"""

from urllib.parse import parse_qs

from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.types import Err

PREFIX = "/front"


class IncomingHandler(http.IncomingHandler):
    """Forwards the request to chain-back through service chaining."""

    def handle_request(self, request: Request) -> Response:
        """Call chain-back (or the component named by ``component=``) and relay its answer."""
        path, _, query = request.uri.partition("?")
        rest = path[len(PREFIX) :] if path.startswith(PREFIX) else path
        component = parse_qs(query).get("component", ["chain-back"])[-1]
        url = f"http://{component}.spin.internal{rest or '/'}" + (f"?{query}" if query else "")
        headers = {"content-type": request.headers.get("content-type", "application/octet-stream")}
        try:
            back = http.send(Request(request.method, url, headers, request.body))
        except Err as err:
            case = type(err.value).__name__.removeprefix("ErrorCode_")
            return Response(502, {"x-proxy-error": case}, repr(err.value).encode())
        return Response(back.status, dict(back.headers), back.body)
