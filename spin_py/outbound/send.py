"""`wasi:http/outgoing-handler` for real: allowed hosts, the HTTP client, self requests, chaining.

`OutboundHandler` is the `OutgoingHandler` the server installs for every component of the app
(`spin_py.wasi.http.outgoing.use_outgoing_handler`). Per `handle(request, options)`, in the
guest thread and before anything is connected:

1. the URL is built and placed by `route_outbound` with the component's `OutboundPolicy`
   (`allowed_outbound_hosts`, built once per component, `{{ var }}` templates resolved over the
   app's variables). An authority with an empty host (`:443`, what the Spin SDKs send for a
   relative URL) counts as none, as in Spin. Denied or invalid: the future is already
   resolved to the error-code (`HTTP-request-denied` plus Spin's log line, ...);
2. a CLIENT span `"{METHOD}"` starts (child of the innermost open guest span, else the execute
   span) with `http.request.method`, `url.full`, `server.address`, `server.port`, and
   `traceparent`/`tracestate` naming it replace any the guest set;
3. a task on the event loop sends the request: over the network with the pooled client (the
   guest's request-options timeouts, nanoseconds, become seconds; self requests go to the bound
   address), or, for `http://<id>.spin.internal/...`, in-process through the `ChainDispatcher`
   the server installed (there the request-options timeouts do not apply; the chained call
   keeps the caller's deadline). The body streams from the guest as it writes it (its
   `BodyReader`, see `request_body`).

The `PendingResponse` future becomes ready when the response head arrives or the request fails;
failures are error-codes, never traps. The span gets `http.response.status_code` and ends when
the head arrives (as Spin's span covers sending and waiting for the head, not the body);
4xx/5xx responses and failures set status ERROR with `error.type` (the status code, or the
error-code case name).

A self request, or a request to an absolute URL naming the bound address, carries
`SELF_REQUEST_HEADER` (see `outbound_host`), so the server runs it nested. The app-wide parts
(client, chaining, bound address, the per-component policy) are in `outbound_host`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable

import yarl
from opentelemetry.trace import Span

from spin_py.host.channels import describe
from spin_py.host.state import RequestState
from spin_py.outbound import (
    ChainTarget,
    NetworkTarget,
    OutboundError,
    OutboundResponse,
    Timeouts,
    build_url,
    route_outbound,
)
from spin_py.outbound.host import (
    SELF_REQUEST_HEADER,
    ChainedRequest,
    ChainedResponse,
    Headers,
    OutboundHost,
    policy_for,
)
from spin_py.outbound.nesting import child_nesting, nesting_of, self_request_headers
from spin_py.outbound.request_body import release, request_chunks, request_puller
from spin_py.outbound.response import (
    PendingResponse,
    error_code_from,
    incoming_response,
)
from spin_py.telemetry import context_of, inject_headers, mark_error, start_host_span
from spin_py.telemetry import semconv as sc
from spin_py.telemetry.propagation import TRACEPARENT, TRACESTATE
from spin_py.telemetry.scope import telemetry_of
from spin_py.wasi.http.body import BodyReader
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.request import OutgoingRequest, RequestOptions
from spin_py.wasi.http.response import FutureIncomingResponse, ResponseOutcome

__all__ = ["OutboundHandler", "RequestOutbound"]

log = logging.getLogger(__name__)


# -- one request's outbound calls -----------------------------------------------------------


class OutboundHandler:
    """The app's `OutgoingHandler`: every component's requests go out through `host`."""

    def __init__(self, host: OutboundHost) -> None:
        self.host = host

    def send_request(
        self, state: RequestState, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        """Route, trace and start sending `request` (see the module docstring)."""
        return RequestOutbound(state, self.host).send(request, options)


class RequestOutbound:
    """The outbound calls of one request: places, traces and sends its guest's requests."""

    def __init__(self, state: RequestState, host: OutboundHost) -> None:
        self._state = state
        self._host = host

    def send(
        self, request: OutgoingRequest, options: RequestOptions | None
    ) -> FutureIncomingResponse:
        """Route, trace and start sending `request`; never blocks, never traps."""
        body = _body_of(request)
        try:
            target = self._route(request)
        except OutboundError as error:
            return self._refused(request, body, error)
        if isinstance(target, ChainTarget):
            if (refused := self._too_deep(request, body)) is not None:
                return refused
            span = self._client_span(request.method, _chain_url(request))
            headers = _with_trace_context(request.headers.entries(), span)
            return self._start(self._chain(target, request, headers, body, span), span, body)
        url = target.url if target.self_request else self._host.own_url(target.url)
        nested = target.self_request or url is not target.url
        if nested and (refused := self._too_deep(request, body)) is not None:
            return refused
        span = self._client_span(request.method, target.url)
        headers = _with_trace_context(request.headers.entries(), span)
        if nested:
            headers = self_request_headers(headers, self._state)
            headers.append((SELF_REQUEST_HEADER, self._host.self_token.encode()))
        coro = self._network(request.method, url, headers, body, options, span, nested)
        return self._start(coro, span, body)

    def _too_deep(
        self, request: OutgoingRequest, body: BodyReader | None
    ) -> FutureIncomingResponse | None:
        """`loop-detected` (and a warning) when this request would nest deeper than
        `--max-request-depth` (see `spin_py.outbound.nesting`); None when it may go."""
        depth = nesting_of(self._state).depth
        limit = self._host.max_request_depth
        if depth < limit:
            return None
        error = OutboundError(
            "loop-detected", None, f"nested request refused: already {depth} levels deep"
        )
        log.warning(
            'component "%s": nested request to %s refused with loop-detected: the request is '
            "already %d nested levels below its client's request (--max-request-depth %d)",
            self._state.component_id,
            _describe_target(request),
            depth,
            limit,
        )
        return self._refused(request, body, error)

    def _route(self, request: OutgoingRequest) -> NetworkTarget | ChainTarget:
        return route_outbound(
            request.scheme,
            _authority(request.authority),
            request.path_with_query,
            policy=policy_for(self._state.component),
            origin=self._host.origin,
            component_ids=self._host.chain_targets if self._host.chain is not None else (),
            component_id=self._state.component_id,
        )

    def _start(
        self, coro: Coroutine[object, object, ResponseOutcome], span: Span, body: BodyReader | None
    ) -> FutureIncomingResponse:
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self._state.loop)
        except RuntimeError as err:  # the loop is closed: the server is going away
            coro.close()
            return FutureIncomingResponse.resolved(
                _failed(span, body, OutboundError.internal(describe(err)))
            )
        return PendingResponse(self._state, future)

    # -- the two ways a request travels ---------------------------------------------------

    async def _network(
        self,
        method: str,
        url: yarl.URL,
        headers: Headers,
        body: BodyReader | None,
        options: RequestOptions | None,
        span: Span,
        own_listener: bool = False,
    ) -> ResponseOutcome:
        timeouts = _timeouts(options)
        head = self._host.client.send(
            method,
            url,
            headers,
            None if body is None else request_chunks(body),
            connect_timeout=timeouts.connect,
            first_byte_timeout=timeouts.first_byte,
            between_bytes_timeout=timeouts.between_bytes,
            own_listener=own_listener,
        )
        return await self._response(
            head, span, body, "outbound request to %s failed unexpectedly", url
        )

    async def _chain(
        self,
        target: ChainTarget,
        request: OutgoingRequest,
        headers: Headers,
        body: BodyReader | None,
        span: Span,
    ) -> ResponseOutcome:
        chain = self._host.chain
        assert chain is not None  # route_outbound only chains to known components
        chained = ChainedRequest(
            component_id=target.component_id,
            method=request.method,
            scheme=(request.scheme or "https").lower(),
            authority=request.authority or "",
            path_with_query=target.path_with_query,
            headers=headers,
            next_chunk=None if body is None else request_puller(body),
            telemetry=telemetry_of(self._state),
            parent=context_of(span),
            deadline=self._state.deadline,
            nesting=child_nesting(self._state),
        )
        return await self._response(
            chain.dispatch(chained),
            span,
            body,
            "service-chained request to %s failed",
            target.component_id,
        )

    async def _response(
        self,
        head: Awaitable[OutboundResponse | ChainedResponse],
        span: Span,
        body: BodyReader | None,
        unexpected: str,
        target: object,
    ) -> ResponseOutcome:
        """The guest's incoming response once `head` (either way a request travels) gives the
        response head; a failure is an error-code, never a trap (an unexpected exception, a
        host bug, is logged as `unexpected % target` first)."""
        try:
            response = await head
        except OutboundError as error:
            return _failed(span, body, error)
        except asyncio.CancelledError:
            _abandoned(span, body)
            raise
        except Exception as exc:  # a host bug: report it, never trap the guest
            log.exception(unexpected, target)
            return _failed(span, body, OutboundError.internal(describe(exc)))
        _head_arrived(span, response.status)
        release = _on_loop(self._state.loop, response.close)
        return incoming_response(
            self._state, response.status, response.headers, response.next_chunk, release
        )

    # -- telemetry ----------------------------------------------------------------------------

    def _client_span(self, method: str, url: yarl.URL | None) -> Span:
        attributes: dict[str, str | int] = {sc.HTTP_REQUEST_METHOD: _method_attribute(method)}
        if method not in sc.KNOWN_METHODS:
            attributes[sc.HTTP_REQUEST_METHOD_ORIGINAL] = method
        if url is not None:
            attributes[sc.URL_FULL] = str(url)
            if url.host:
                attributes[sc.SERVER_ADDRESS] = url.host
            if url.port is not None:
                attributes[sc.SERVER_PORT] = url.port
        return start_host_span(sc.span_method(method), attributes=attributes, state=self._state)

    def _refused(
        self, request: OutgoingRequest, body: BodyReader | None, error: OutboundError
    ) -> FutureIncomingResponse:
        """`request` refused before it went anywhere: an ended ERROR client span, its body
        released, and a response future already resolved to the error-code."""
        try:
            url: yarl.URL | None = build_url(
                request.scheme, _authority(request.authority), request.path_with_query
            )
        except OutboundError:
            url = None
        span = self._client_span(request.method, url)
        mark_error(span, error.code, str(error))
        span.end()
        if body is not None:
            release(body)
        return FutureIncomingResponse.resolved(error_code_from(error))


# -- helpers --------------------------------------------------------------------------------


def _body_of(request: OutgoingRequest) -> BodyReader | None:
    return None if request.body is None else request.body.reader


def _describe_target(request: OutgoingRequest) -> str:
    authority = _authority(request.authority) or "self"
    return f"{(request.scheme or 'http').lower()}://{authority}{request.path_with_query or '/'}"


def _authority(authority: str | None) -> str | None:
    """None for a missing authority or one with an empty host (`:443`): a relative URL."""
    if not authority or authority.startswith(":"):
        return None
    return authority


def _chain_url(request: OutgoingRequest) -> yarl.URL | None:
    try:
        return build_url(request.scheme, request.authority, request.path_with_query)
    except OutboundError:
        return None


def _with_trace_context(entries: Iterable[tuple[str, bytes]], span: Span) -> Headers:
    """The guest's headers, with `traceparent`/`tracestate` naming the client span."""
    injected = inject_headers(span)
    if not injected:
        return list(entries)
    headers = [(n, v) for n, v in entries if n.lower() not in (TRACEPARENT, TRACESTATE)]
    headers.extend((name, value.encode("latin-1")) for name, value in injected)
    return headers


def _method_attribute(method: str) -> str:
    return method if method in sc.KNOWN_METHODS else sc.OTHER_METHOD


def _timeouts(options: RequestOptions | None) -> Timeouts:
    if options is None:
        return Timeouts()
    return Timeouts.from_nanos(
        options.connect_timeout, options.first_byte_timeout, options.between_bytes_timeout
    )


def _head_arrived(span: Span, status: int) -> None:
    span.set_attribute(sc.HTTP_RESPONSE_STATUS_CODE, status)
    if status >= 400:
        mark_error(span, str(status))
    span.end()


def _failed(span: Span, body: BodyReader | None, error: OutboundError) -> ErrorCode:
    mark_error(span, error.code, str(error))
    span.end()
    if body is not None:
        release(body)
    return error_code_from(error)


def _abandoned(span: Span, body: BodyReader | None) -> None:
    mark_error(span, "cancelled", "the guest abandoned the request")
    span.end()
    if body is not None:
        release(body)


def _on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> Callable[[], None]:
    """`fn` made callable once from any thread (it runs on `loop`)."""
    called = False

    def call() -> None:
        nonlocal called
        if called:
            return
        called = True
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to release
            loop.call_soon_threadsafe(fn)

    return call
