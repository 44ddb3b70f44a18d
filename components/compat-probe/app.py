"""compat-probe: guest-side checks of Spin compatibility rules (tests only).

Plain wasi:http/proxy world, raw bindings (``wit_world``). Two behaviours, by the request path:

* ``.../trailers``: consumes the request body, finishes it at once *without reading it*, and
  waits on its ``future-trailers`` (subscribe, block, get). Answers ``200`` ``application/json``
  ``{"trailers": [["name", "value"], ...] | null}``. A host that waited for the rest of the
  body (or for trailers that never come) would hang here while the client is still sending.
* anything else: what a guest gets when it builds headers with names the host forbids.
  ``200`` ``application/json``::

    {"construct": {"<name>": {"from-list": R, "append": R, "set": R, "delete": R}, ...},
     "bad-value": R,
     "incoming-headers-append": R,
     "outgoing-request-headers-append": {"host": R, "x-added": R},
     "outgoing-response-headers-append": {"transfer-encoding": R, "x-added": R},
     "outgoing-request-from-incoming": ["name", ...],
     "seen": ["name", ...]}

  where ``R`` is ``"ok"`` or the ``header-error`` case (``"forbidden"``, ``"invalid-syntax"``,
  ``"immutable"``). ``construct`` tries each name of ``NAMES`` (the forbidden set of wasmtime's
  wasi:http in several spellings, plus a harmless name and an invalid one) on a new ``fields``
  with ``from-list``, ``append``, ``set`` and ``delete``. ``bad-value`` appends a value holding
  a line feed. ``incoming-headers-append`` changes the request's own headers;
  ``outgoing-*-headers-append`` change the headers of an outgoing request or response after it
  was built from them. ``outgoing-request-from-incoming`` lists the header names of an outgoing
  request built from a clone of the incoming headers (what a proxying guest forwards), and
  ``seen`` the names of the incoming headers.
"""

import json

import proxy_io
from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
)
from wit_world.types import Err

NAMES = (
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
    "Host",
    "TRANSFER-ENCODING",
    "x-allowed",
    "bad name",
)


def outcome(action) -> str:
    """``"ok"``, or the header-error case ``action`` failed with (kebab case)."""
    try:
        action()
    except Err as error:
        case = type(error.value).__name__.removeprefix("HeaderError_")
        return "".join("-" + c.lower() if c.isupper() else c for c in case).lstrip("-")
    return "ok"


def construct(name: str) -> dict[str, str]:
    """Each way of putting ``name`` into a new, mutable ``fields``."""

    def from_list() -> None:
        Fields.from_list([(name, b"v")]).__exit__(None, None, None)

    def on_new(method: str):
        def call() -> None:
            fields = Fields()
            try:
                if method == "append":
                    fields.append(name, b"v")
                elif method == "set":
                    fields.set(name, [b"v"])
                else:
                    fields.delete(name)
            finally:
                fields.__exit__(None, None, None)

        return call

    return {
        "from-list": outcome(from_list),
        "append": outcome(on_new("append")),
        "set": outcome(on_new("set")),
        "delete": outcome(on_new("delete")),
    }


def append_to_child(owner_headers: Fields, name: str) -> str:
    """Append to headers handed out by a request or response (they are immutable)."""
    try:
        return outcome(lambda: owner_headers.append(name, b"v"))
    finally:
        owner_headers.__exit__(None, None, None)


class IncomingHandler(exports.IncomingHandler):
    """Reports the header rules, or the trailers of a body finished unread, as JSON."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        if proxy_io.path_of(request).endswith("/trailers"):
            trailers = proxy_io.wait_trailers(request.consume())
            report = {"trailers": None if trailers is None else pairs(trailers)}
            body = json.dumps(report).encode()
            proxy_io.send(response_out, 200, [("content-type", b"application/json")], body)
            return
        header_rules(request, response_out)


def pairs(entries: proxy_io.Headers) -> list[list[str]]:
    """Header entries as JSON-ready ``[name, value]`` pairs (values decoded as latin-1)."""
    return [[name, value.decode("latin-1")] for name, value in entries]


def header_rules(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Answer with the header-rules report (see the module docstring)."""
    report: dict[str, object] = {"construct": {name: construct(name) for name in NAMES}}

    def bad_value() -> None:
        fields = Fields()
        try:
            fields.append("x-bad", b"line\nfeed")
        finally:
            fields.__exit__(None, None, None)

    report["bad-value"] = outcome(bad_value)

    incoming = request.headers()
    report["seen"] = [name for name, _ in incoming.entries()]
    forwarded = incoming.clone()
    report["incoming-headers-append"] = append_to_child(incoming, "x-added")

    outgoing = OutgoingRequest(forwarded)
    names = outgoing.headers()
    report["outgoing-request-from-incoming"] = [name for name, _ in names.entries()]
    names.__exit__(None, None, None)
    report["outgoing-request-headers-append"] = {
        name: append_to_child(outgoing.headers(), name) for name in ("host", "x-added")
    }
    outgoing.__exit__(None, None, None)

    response = OutgoingResponse(Fields())
    report["outgoing-response-headers-append"] = {
        name: append_to_child(response.headers(), name) for name in ("transfer-encoding", "x-added")
    }
    response.__exit__(None, None, None)

    body = json.dumps(report).encode()
    proxy_io.send(response_out, 200, [("content-type", b"application/json")], body)
