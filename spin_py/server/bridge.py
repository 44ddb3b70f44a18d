"""The component handler behind the server's seam: one wasi:http guest call per request.

Per request: a fresh `RequestState` for the matched component, the `incoming-request` and
`response-outparam` handles pushed in the guest thread, and `Invoker.invoke` running `handle`
there. On the loop the handler waits for whichever comes first, the response head or the end
of the call:

- head first: the aiohttp response is prepared with the guest's status and headers (chunked
  unless the guest declared `content-length`) and its head sent at once; body bytes follow as
  the guest writes them; `outgoing-body.finish` ends the body (trailers are written when the
  response is chunked); an aborted body, or a call that fails before finishing it, cuts the
  connection. A call that returns (or exits 0) without finishing the body ends it normally,
  as wasmtime does when the guest's store goes away.
- call first, no head: `500` with an empty body. The Invoker already logged a trap,
  timeout or non-zero exit; a guest that returned without setting the response is logged
  here (`guest failed to produce a response prior to returning`).
- the guest set `err(error-code)`: `500` with an empty body and one error log line.

spin-py adds no header of its own (see `spin_py.server.responses`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_writer import StreamWriter

from spin_py.config import UpConfig
from spin_py.manifest.model import App
from spin_py.routing import RouteMatch
from spin_py.runtime.context import RuntimeSettings
from spin_py.runtime.engine import get_engine
from spin_py.runtime.invoke import Invoker, Limits, Outcome
from spin_py.runtime.loader import LoadedComponent, load_components
from spin_py.runtime.state import RequestState
from spin_py.runtime.streams import StreamFailed
from spin_py.server.component import ComponentHandler, ComponentHandlerFactory
from spin_py.server.exchange import BodyEnd, Exchange, Head, ResponseBody
from spin_py.server.inbound import incoming_request
from spin_py.server.responses import make_response, make_stream_response
from spin_py.telemetry import prepare_execute_from_request
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.hooks import HttpHooks
from spin_py.wasi.http.kinds import INCOMING_REQUEST, RESPONSE_OUTPARAM
from spin_py.wasi.http.request import IncomingRequest
from spin_py.wasi.http.response import ResponseOutparam, content_length

__all__ = ["WasmComponentHandler", "build_handler", "wasm_component_handler_factory"]

log = logging.getLogger("spin_py.server.bridge")

NO_RESPONSE = "guest failed to produce a response prior to returning"
SHUTDOWN_GRACE = 5.0
"""Seconds `aclose` waits for guest calls still running before cancelling them."""


class WasmComponentHandler:
    """Runs the matched component's `wasi:http/incoming-handler.handle` for each request."""

    def __init__(self, components: dict[str, LoadedComponent], invoker: Invoker) -> None:
        self._components = components
        self._invoker = invoker
        self._calls: set[asyncio.Task[Outcome]] = set()

    async def handle(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        """Answer `request` with the component `match` names."""
        component_id = match.trigger.component
        loaded = self._components.get(component_id or "")
        if loaded is None:
            log.error('component "%s" is not loaded', component_id)
            return make_response(500)
        state = RequestState(loaded.context, asyncio.get_running_loop())
        prepare_execute_from_request(state, request)
        exchange = Exchange(state)
        state.ext(HttpHooks).response_body = exchange.body_for
        guest_request = incoming_request(request, match, state)
        call = self._start(loaded, state, guest_request, exchange)
        try:
            return await _respond(request, loaded.id, exchange, call)
        except asyncio.CancelledError:
            call.cancel()  # ends the guest's blocking host calls (see Invoker.invoke)
            raise
        finally:
            exchange.close()

    async def aclose(self) -> None:
        """Give running guest calls `SHUTDOWN_GRACE` seconds, cancel the rest, stop the
        worker threads."""
        if self._calls:
            _, pending = await asyncio.wait(set(self._calls), timeout=SHUTDOWN_GRACE)
            for call in pending:
                call.cancel()
        await self._invoker.aclose()

    def _start(
        self,
        loaded: LoadedComponent,
        state: RequestState,
        guest_request: IncomingRequest,
        exchange: Exchange,
    ) -> asyncio.Task[Outcome]:
        def make_args(st: RequestState) -> tuple[Any, ...]:
            return (
                st.table.push(guest_request, INCOMING_REQUEST),
                st.table.push(ResponseOutparam(exchange), RESPONSE_OUTPARAM),
            )

        call = asyncio.ensure_future(self._invoker.invoke(loaded, state, make_args))
        self._calls.add(call)
        call.add_done_callback(self._calls.discard)
        return call


async def _respond(
    request: web.Request, component_id: str, exchange: Exchange, call: asyncio.Task[Outcome]
) -> web.StreamResponse:
    await _first_of(exchange.head, call)
    if not exchange.head.done():
        outcome = call.result()
        if outcome.clean_exit:
            log.error('component "%s": %s', component_id, NO_RESPONSE)
        return make_response(500)
    head = exchange.head.result()
    if isinstance(head, ErrorCode):
        log.error('component "%s" responded with an error: %s', component_id, head)
        return make_response(500)
    return await _stream(request, component_id, head, call)


async def _stream(
    request: web.Request, component_id: str, head: Head, call: asyncio.Task[Outcome]
) -> web.StreamResponse:
    headers = [(name, value.decode("latin-1")) for name, value in head.headers]
    response = make_stream_response(head.status, headers)
    await response.prepare(request)
    writer = request.writer
    if isinstance(writer, StreamWriter):
        writer.send_headers()
    body = head.body
    if body is None:
        _check_empty_length(request, head)
        return response
    body.attach(None if _must_be_empty(request.method, head.status) else response)
    end = await _body_end(head, body, call)
    drained = await _drain(body)
    if end is None or end.aborted is not None or not drained:
        _cut(request, component_id, end, call)
    elif end.trailers is not None and len(end.trailers):
        await _write_trailers(request, response, end.trailers)
    return response


async def _drain(body: ResponseBody) -> bool:
    """Wait until the guest's bytes have reached the response; False if writing failed."""
    try:
        await body.drain()
    except StreamFailed:
        return False
    return True


async def _body_end(head: Head, body: ResponseBody, call: asyncio.Task[Outcome]) -> BodyEnd | None:
    """How the body ended: finished/aborted by the guest, or left open by a call that ended
    (a clean end finishes it, a failure leaves it unfinished: None)."""
    ended = asyncio.wrap_future(body.ended)
    await _first_of(ended, call)
    if ended.done():
        return ended.result()
    ended.cancel()
    if not call.result().clean_exit:
        return None
    outgoing = head.outgoing
    if outgoing is not None and not outgoing.complete:
        return BodyEnd(aborted=ErrorCode.response_body_size(outgoing.written or 0))
    return BodyEnd()


async def _first_of(*futures: asyncio.Future[Any]) -> None:
    """Wait until at least one of `futures` is done (none is cancelled)."""
    await asyncio.wait(set(futures), return_when=asyncio.FIRST_COMPLETED)


def _cut(
    request: web.Request, component_id: str, end: BodyEnd | None, call: asyncio.Task[Outcome]
) -> None:
    """End the connection without completing the response (the client sees it cut short)."""
    if end is not None and end.aborted is not None:
        reason = f"the body was aborted ({end.aborted})"
    else:
        outcome = call.result() if call.done() else None
        reason = f"the guest call ended: {outcome.kind.value}" if outcome else "the guest failed"
    log.warning('component "%s": response cut short: %s', component_id, reason)
    if request.transport is not None:
        request.transport.close()


def _check_empty_length(request: web.Request, head: Head) -> None:
    """A response set without a body: cut it if it promised bytes it will never send."""
    try:
        declared = content_length(Fields.trusted(head.headers))
    except ValueError:
        declared = None
    if declared and not _must_be_empty(request.method, head.status) and request.transport:
        request.transport.close()


def _must_be_empty(method: str, status: int) -> bool:
    """HEAD responses and 1xx/204/304 carry no body on the wire."""
    return method == "HEAD" or status < 200 or status in (204, 304)


async def _write_trailers(
    request: web.Request, response: web.StreamResponse, trailers: Fields
) -> None:
    """End a chunked body with trailer fields (aiohttp itself cannot send trailers)."""
    writer = request.writer
    if not isinstance(writer, StreamWriter) or not writer.chunked:
        log.debug("dropping response trailers: the response is not chunked")
        return
    block = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in trailers.entries())
    writer.chunked = False  # from here on, the chunked framing below is written as-is
    await response.write_eof(b"0\r\n" + block + b"\r\n")


def wasm_component_handler_factory(cache_dir: Path | None) -> ComponentHandlerFactory:
    """A `ComponentHandlerFactory` that loads the app's components in a worker thread
    (compiled artifacts cached in `cache_dir`; None disables the cache) and runs them with one
    process-wide Invoker. A component that cannot load raises `ComponentLoadError`."""

    async def create(app: App, config: UpConfig) -> ComponentHandler:
        return await asyncio.to_thread(build_handler, app, config, cache_dir)

    return create


def build_handler(app: App, config: UpConfig, cache_dir: Path | None) -> WasmComponentHandler:
    """Load `app`'s components (those of `config.component_ids`, if any) and build the handler."""
    settings = RuntimeSettings(
        state_dir=config.resolved_state_dir,
        log_dir=config.resolved_log_dir,
        env=config.env,
        quiet=config.quiet,
        follow=config.follow or None,
    )
    engine = get_engine()
    components = load_components(
        app,
        settings,
        engine,
        cache_dir,
        only=config.component_ids or None,
        max_instance_memory=config.max_instance_memory,
    )
    limits = Limits(config.request_timeout, config.max_instance_memory)
    return WasmComponentHandler(components, Invoker(engine, limits=limits))
