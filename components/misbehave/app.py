"""The misbehave component: a guest that fails on purpose, one way per route.

World ``spinpy:components/misbehave`` (wasi:http/proxy plus wasi:cli/exit), raw ``wit_world``
bindings, so it can do what the Spin SDK never would (return without a response, exit). The
behaviour is picked by the last segment of the request path, so any route prefix works
(``/trap``, ``/x/y/trap``). Plain-text bodies unless noted.

=======================  ======================================================================
``ok``                   200 ``ok``
``trap``                 raises before any response: componentize-py turns it into a trap
``trap-after-response``  sends 200 headers and ``partial``, then raises (a trap mid-body)
``loop``                 spins forever before any response (needs the host's deadline)
``alloc``                appends 10 MiB bytearrays forever (needs the host's memory cap)
``no-response``          returns without setting the response-outparam
``write-after-finish``   sends 200 and ``partial``, finishes the body, then writes again
``exit0``                sends 200 ``bye`` completely, then calls wasi:cli/exit with ok
``exit1``                calls wasi:cli/exit with err before any response
``stdout``               prints one line to stdout and one to stderr, then 200 ``printed``
``env``                  200 ``application/json``: the guest's environment as an object
``file?path=P``          200 ``application/octet-stream`` with the bytes of file P; 403 with the
                         error text on a permission error, 404 with the error text on any other
``sleep?ms=N``           sleeps N ms (``time.sleep``, i.e. wasi:clocks + wasi:io/poll), 200
                         ``slept N``
``count``                200 with how many requests this instance has served, this one included
                         (always ``1`` with a fresh instance per request)
anything else            404 ``no such misbehaviour: <segment>``
=======================  ======================================================================
"""

import json
import os
import sys
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import proxy_io
from wit_world import exports
from wit_world.imports import exit as wasi_exit
from wit_world.imports.types import IncomingRequest, OutgoingBody, ResponseOutparam
from wit_world.types import Err, Ok

Route = Callable[[IncomingRequest, ResponseOutparam], None]
ALLOC_STEP = 10 * 1024 * 1024


class IncomingHandler(exports.IncomingHandler):
    """Runs the misbehaviour named by the last path segment."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        """Dispatch on the last path segment; unknown names get a 404."""
        name = proxy_io.path_of(request).rstrip("/").rpartition("/")[2]
        route = ROUTES.get(name)
        if route is None:
            proxy_io.send_text(response_out, 404, f"no such misbehaviour: {name}")
        else:
            route(request, response_out)


def query_param(request: IncomingRequest, name: str) -> str | None:
    """The first value of a query parameter, or None."""
    values = parse_qs(proxy_io.query_of(request)).get(name)
    return values[0] if values else None


def ok(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """200 ``ok``: the control case."""
    proxy_io.send_text(response_out, 200, "ok")


def trap(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Raise before responding; the uncaught exception traps the guest."""
    raise RuntimeError("misbehave: deliberate trap")


def trap_after_response(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Start a 200 response, write part of the body, then raise."""
    _body, stream = proxy_io.start_response(response_out, 200, [])
    proxy_io.write_all(stream, b"partial")
    raise RuntimeError("misbehave: deliberate trap after the response started")


def loop(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Never return."""
    while True:
        pass


def alloc(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Allocate 10 MiB at a time until the host (or wasm32's 4 GiB) says no."""
    hoard = []
    while True:
        hoard.append(bytearray(ALLOC_STEP))


def no_response(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Return without calling response-outparam.set."""


def write_after_finish(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Send 200 and ``partial``, finish the body, then ask the finished body for its stream."""
    body, stream = proxy_io.start_response(response_out, 200, [])
    proxy_io.write_all(stream, b"partial")
    proxy_io.finish_body(body, stream)
    late: OutgoingBody = body  # consumed by finish: using it again is guest misuse
    proxy_io.write_all(late.write(), b"too late")


def exit0(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Send a complete 200 ``bye``, then exit with success."""
    proxy_io.send_text(response_out, 200, "bye")
    wasi_exit.exit(Ok(None))


def exit1(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Exit with failure before any response."""
    wasi_exit.exit(Err(None))


def stdout(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Print a line to each of stdout and stderr, then answer 200 ``printed``."""
    print("misbehave: a line on stdout", flush=True)
    print("misbehave: a line on stderr", file=sys.stderr, flush=True)
    proxy_io.send_text(response_out, 200, "printed")


def env(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Answer with the guest's environment variables as a JSON object."""
    data = json.dumps(dict(os.environ), sort_keys=True).encode()
    proxy_io.send(response_out, 200, [("content-type", b"application/json")], data)


def file(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Answer with the bytes of the file named by ``?path=``; 403/404 with the error text."""
    path = query_param(request, "path") or ""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except PermissionError as error:
        proxy_io.send_text(response_out, 403, str(error))
        return
    except (OSError, ValueError) as error:
        proxy_io.send_text(response_out, 404, str(error))
        return
    proxy_io.send(response_out, 200, [("content-type", b"application/octet-stream")], data)


def sleep(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Sleep ``?ms=N`` milliseconds (default 0), then answer 200 ``slept N``."""
    millis = int(query_param(request, "ms") or "0")
    time.sleep(millis / 1000)
    proxy_io.send_text(response_out, 200, f"slept {millis}")


SERVED = [0]
"""Requests this instance has served (module state: it lives as long as the instance)."""


def count(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    """Answer how many requests this instance has served, this one included."""
    SERVED[0] += 1
    proxy_io.send_text(response_out, 200, str(SERVED[0]))


ROUTES: dict[str, Route] = {
    "ok": ok,
    "count": count,
    "trap": trap,
    "trap-after-response": trap_after_response,
    "loop": loop,
    "alloc": alloc,
    "no-response": no_response,
    "write-after-finish": write_after_finish,
    "exit0": exit0,
    "exit1": exit1,
    "stdout": stdout,
    "env": env,
    "file": file,
    "sleep": sleep,
}
