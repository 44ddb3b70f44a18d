"""The component handler behind the server's seam: one wasi:http guest call per request.

Per request: a fresh `RequestState` for the matched component, the `incoming-request` and
`response-outparam` handles pushed in the guest thread, and `Invoker.invoke` running `handle`
there. On the loop the handler waits for whichever comes first, the response head or the end
of the call:

- head first: the aiohttp response is prepared with the guest's status and headers (chunked
  unless the guest declared `content-length`) and its head sent at once; body bytes follow as
  the guest writes them, each read taking everything the guest wrote since the last one;
  `outgoing-body.finish` ends the body (trailers are written when the response is chunked); an
  aborted body, or a call that fails before finishing it, cuts the connection. A call that
  returns (or exits 0) without finishing the body ends it normally, as wasmtime does when the
  guest's store goes away. A client that goes away fails the guest's next write with
  `connection-terminated`.
- call first, no head: `500` with an empty body. The Invoker already logged a trap,
  timeout or non-zero exit; a guest that returned without setting the response is logged
  here (`guest failed to produce a response prior to returning`).
- the guest set `err(error-code)`: `500` with an empty body and one error log line.

When every request slot of the process is taken (`--max-concurrent-requests`), the request is
answered `503` with `Retry-After` at once (`spin_py.server.overload`); nothing queues. A self
request of this server is refused the same way only when the nested calls' allowance is used up
(`spin_py.runtime.scheduler`).

spin-py adds no header of its own (see `spin_py.server.responses`). Starting the call and
waiting for the head is `Execution` (`spin_py.server.execution`), shared with service-chained
requests (`spin_py.server.chaining`), which hand the body to the calling guest instead of an
aiohttp response. The outbound HTTP of every component goes through one `OutboundHandler`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.http_writer import StreamWriter

from spin_py.config import UpConfig
from spin_py.host.channels import describe
from spin_py.host.context import RuntimeSettings
from spin_py.host.state import RequestState
from spin_py.manifest.model import App
from spin_py.outbound import OutboundClient, SelfOrigin
from spin_py.outbound.host import SELF_REQUEST_HEADER, OutboundHost
from spin_py.outbound.nesting import (
    BUDGET_HEADER,
    DEFAULT_MAX_REQUEST_DEPTH,
    DEPTH_HEADER,
    inbound_nesting,
    nesting_of,
)
from spin_py.outbound.send import OutboundHandler
from spin_py.routing import RouteMatch
from spin_py.runtime.engine import get_engine
from spin_py.runtime.invoke import Invoker, Limits, Outcome
from spin_py.runtime.loader import LoadedComponent, load_components
from spin_py.runtime.scheduler import DEFAULT_STUCK_AFTER
from spin_py.server.chaining import InProcessChaining
from spin_py.server.component import ComponentHandler, ComponentHandlerFactory
from spin_py.server.execution import NO_RESPONSE, Execution, body_forbidden
from spin_py.server.inbound import incoming_request
from spin_py.server.overload import OverloadResponder
from spin_py.server.platform_setup import open_services
from spin_py.server.responses import make_response, make_stream_response
from spin_py.telemetry import prepare_execute_from_request, record_rejected
from spin_py.wasi.component_logs import LogFileLimits
from spin_py.wasi.filesystem.mounts import check_mounts
from spin_py.wasi.http.body import BodyAborted, BodyReader
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.outgoing import use_outgoing_handler
from spin_py.wasi.http.response import ResponseHead, content_length

__all__ = [
    "NO_RESPONSE",
    "WasmComponentHandler",
    "build_handler",
    "wasm_component_handler_factory",
]

log = logging.getLogger(__name__)

CANCEL_CALLS_AFTER = 5.0
"""Seconds `aclose` waits for guest calls still running before cancelling them."""


class WasmComponentHandler:
    """Runs the matched component's `wasi:http/incoming-handler.handle` for each request.

    It also serves the components' outbound HTTP (`OutboundHost`): service-chained requests
    run in-process through the same `Execution` path (`InProcessChaining`), self requests go
    to the address `set_self_origin` gives (called by `up` once the socket is bound) and run
    `nested`. `client` defaults to the process-wide outbound client; `aclose` closes it.
    """

    def __init__(
        self,
        components: dict[str, LoadedComponent],
        invoker: Invoker,
        on_close: Callable[[], None] | None = None,
        *,
        client: OutboundClient | None = None,
        stuck_after: float = DEFAULT_STUCK_AFTER,
        max_request_depth: int = DEFAULT_MAX_REQUEST_DEPTH,
    ) -> None:
        self._components = components
        self._invoker = invoker
        self._stuck_after = stuck_after
        self._on_close = on_close
        self._calls: set[asyncio.Future[Outcome]] = set()
        self._overload = OverloadResponder(invoker.slots)
        chaining = InProcessChaining(invoker, components, self._calls)
        self._outbound = OutboundHost(
            client, chaining, chaining.targets, max_request_depth=max_request_depth
        )
        handler = OutboundHandler(self._outbound)
        for loaded in components.values():
            use_outgoing_handler(loaded.context, handler)

    def set_self_origin(self, origin: SelfOrigin) -> None:
        """Where self requests (relative URLs, `self`, `self.alt`) go: the bound listener."""
        self._outbound.origin = origin

    async def handle(self, request: web.Request, match: RouteMatch) -> web.StreamResponse:
        """Answer `request` with the component `match` names."""
        component_id = match.trigger.component
        loaded = self._components.get(component_id or "")
        if loaded is None:
            log.error('component "%s" is not loaded', component_id)
            return make_response(500)
        nested = self._outbound.is_self_request(request.headers.get(SELF_REQUEST_HEADER))
        slot = self._invoker.slots.enter(nested=nested)
        if slot is None:
            record_rejected(request, component_id or "")
            return self._overload.refuse(request, nested=nested)
        state = RequestState(loaded.context, asyncio.get_running_loop())
        if nested:  # trusted: a self request of this server, with its depth and time left
            headers = request.headers
            nesting = inbound_nesting(state, headers.get(DEPTH_HEADER), headers.get(BUDGET_HEADER))
        else:
            nesting = nesting_of(state)
        prepare_execute_from_request(state, request)
        guest_request = incoming_request(request, match, state)
        execution = Execution.start(
            self._invoker, loaded, state, guest_request, nested=nested, slot=slot
        )
        execution.track(self._calls)
        try:
            head = await execution.head()
            if head is None:
                return make_response(500)
            return await _stream(request, execution, head)
        except asyncio.CancelledError:
            execution.cancel()  # ends the guest's blocking host calls (see Invoker.invoke)
            raise
        finally:
            execution.close()
            nesting.tree.end()  # no nested request outlives this one
            if nested:  # ... nor a self request's guest its delivered response
                execution.cancel()

    def health_problem(self) -> str | None:
        """Unhealthy when every request slot is held by a guest call running longer than
        `stuck_after` seconds (`--stuck-after`): this process can only answer 503 now."""
        seen = self._invoker.slots.snapshot(self._stuck_after)
        if not seen.all_stuck:
            return None
        return (
            f"unhealthy: all {seen.limit} request slots of process {os.getpid()} are held by "
            f"guests running for more than {self._stuck_after:g}s (oldest {seen.oldest_s:.0f}s)"
        )

    def interrupt(self) -> None:
        """End the running guest calls now (shutdown, after the grace period; see
        `Interruptible`): blocked host calls at once, wasm code within one epoch slice."""
        self._invoker.interrupt()

    async def aclose(self) -> None:
        """Give running guest calls `CANCEL_CALLS_AFTER` seconds, cancel the rest, stop the
        worker threads, close the outbound client, then run `on_close` (closes the platform
        services)."""
        if self._calls:
            _, pending = await asyncio.wait(set(self._calls), timeout=CANCEL_CALLS_AFTER)
            for call in pending:
                call.cancel()
        await self._invoker.aclose()
        await self._outbound.aclose()
        if self._on_close is not None:
            self._on_close()


async def _stream(
    request: web.Request, execution: Execution, head: ResponseHead
) -> web.StreamResponse:
    headers = [(name, value.decode("latin-1")) for name, value in head.headers]
    response = make_stream_response(head.status, headers)
    # aiohttp (3.11+) holds the head until `_send_head` or the first body write.
    response._send_headers_immediately = False
    await response.prepare(request)
    body = head.body
    if body is None:
        _send_head(request)
        _check_empty_length(request, head)
        return response
    send = not body_forbidden(request.method, head.status)
    try:
        if not send:
            _send_head(request)
        elif await _send_ready(request, response, body):
            return response
        while (data := await body.read()) is not None:
            if send:
                await response.write(data)
    except BodyAborted as aborted:
        _cut(request, execution, str(aborted))
        return response
    except Exception as exc:  # the client went away: its guest is cancelled
        # One line per request: a guest still running reports its own end if it fails because
        # of this ("request cancelled: ..."), so the hang-up itself is then a debug line.
        level = logging.INFO if execution.call.done() else logging.DEBUG
        execution.cancel()
        body.close(ErrorCode.connection_terminated())
        _cut(request, execution, f"the client went away ({describe(exc)})", level)
        return response
    trailers = body.trailers
    if trailers is not None and len(trailers):
        await _write_trailers(request, response, trailers)
    return response


async def _send_ready(request: web.Request, response: web.StreamResponse, body: BodyReader) -> bool:
    """Send the head with what the guest wrote before the head reached the loop: for a fast
    guest the whole body and its end, in one write to the socket; the head alone when nothing
    is there yet. True when that completed the response."""
    ready = body.read_nowait()
    if ready is None or ready == (b"", False):
        _send_head(request)
        return False
    data, finished = ready
    if finished and not body.trailers:
        await response.write_eof(data)
        return True
    if data:
        await response.write(data)
    else:
        _send_head(request)
    return False


def _send_head(request: web.Request) -> None:
    """Send the prepared response head now (aiohttp holds it for the first body write)."""
    writer = request.writer
    if isinstance(writer, StreamWriter):
        writer.send_headers()


def _cut(
    request: web.Request, execution: Execution, reason: str, level: int = logging.WARNING
) -> None:
    """End the connection without completing the response (the client sees it cut short)."""
    log.log(level, 'component "%s": response cut short: %s', execution.component_id, reason)
    if request.transport is not None:
        request.transport.close()


def _check_empty_length(request: web.Request, head: ResponseHead) -> None:
    """A response set without a body: cut it if it promised bytes it will never send."""
    try:
        declared = content_length(Fields.trusted(head.headers))
    except ValueError:
        declared = None
    if declared and not body_forbidden(request.method, head.status) and request.transport:
        request.transport.close()


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


def build_handler(
    app: App, config: UpConfig, cache_dir: Path | None, client: OutboundClient | None = None
) -> WasmComponentHandler:
    """Load `app`'s components (those of `config.component_ids`, if any) and build the handler;
    this process's platform services (variables, key-value, SQLite) are opened here. `client`:
    an outbound client of its own (default: the process-wide one)."""
    services = open_services(app, config)
    settings = RuntimeSettings(
        state_dir=config.resolved_state_dir,
        log_dir=config.resolved_log_dir,
        env=config.env,
        quiet=config.quiet,
        follow=config.follow or None,
        extensions=(services, LogFileLimits(config.security.max_log_bytes)),
    )
    engine = get_engine()
    try:
        components = load_components(
            app,
            settings,
            engine,
            cache_dir,
            only=config.component_ids or None,
            max_instance_memory=config.max_instance_memory,
            cache_max_bytes=config.compile_cache_max_bytes,
        )
        check_mounts(loaded.context for loaded in components.values())
    except BaseException:
        services.close()
        raise
    limits = Limits(
        config.request_timeout,
        config.max_instance_memory,
        config.max_concurrent_requests,
        config.running_guests,
        config.reuse_instances,
    )
    invoker = Invoker(engine, limits=limits)
    return WasmComponentHandler(
        components,
        invoker,
        services.close,
        client=client,
        stuck_after=config.stuck_after,
        max_request_depth=config.security.max_request_depth,
    )
