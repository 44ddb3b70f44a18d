"""The hello component: the smallest Spin Python SDK app (world ``spin-http``).

Every request, whatever its method or path, gets ``200`` with a ``text/plain`` body
``Hello from spin-py!``. It is the demo app and the guest-dominated benchmark workload.
"""

from spin_sdk import http
from spin_sdk.http import Request, Response

GREETING = b"Hello from spin-py!"


class IncomingHandler(http.IncomingHandler):
    """Answers every request with the greeting."""

    def handle_request(self, request: Request) -> Response:
        """Return the fixed greeting; the request is not inspected."""
        return Response(200, {"content-type": "text/plain; charset=utf-8"}, GREETING)
