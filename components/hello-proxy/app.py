"""hello-proxy: the hello component for the plain wasi:http/proxy world (no Spin SDK).

Same answer as ``hello`` (every request: ``200``, ``text/plain; charset=utf-8``, body
``Hello from spin-py!``), but it imports only wasi:http/proxy interfaces, so every peer host
(``wasmtime serve``, ``jco serve``) can serve it too: it is the W1 benchmark component.
"""

import proxy_io
from wit_world import exports
from wit_world.imports.types import IncomingRequest, ResponseOutparam

GREETING = "Hello from spin-py!"


class IncomingHandler(exports.IncomingHandler):
    """Answers every request with the greeting."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        """Send the greeting; the request is not inspected."""
        proxy_io.send_text(response_out, 200, GREETING)
