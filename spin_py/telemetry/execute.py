"""The `execute_wasm_component <id>` span: the host's current span while a guest runs.

Two steps, because the parent is known on the event loop and the guest runs in a worker thread
(the OpenTelemetry context is a contextvar and does not follow work into another thread):

    # event loop, when the RequestState is created (server side):
    prepare_execute_from_request(state, request)        # or prepare_execute(state, tel, parent)
    # worker thread (Invoker.run), inside `bind(state)`:
    with execute_span_for(state, component_id) as span:
        outcome = ...instantiate, call `handle`, post_return...
        if not outcome.clean_exit:
            record_trap(span, outcome.error, outcome.message)

`execute_span(telemetry, component_id, parent, state=)` is the same with explicit arguments. The
span is attached as the current context in the calling thread, recorded in the request's
`TraceScope` (for wasi:otel `outer-span-context` and host-call spans) and, on exit, the guest
spans that were never ended are dropped, the context detached and the span ended. An exception
leaving the block (a trap) sets status ERROR with the trap message and an exception event.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from spin_py.host.state import RequestState
from spin_py.host.table import GuestExit
from spin_py.telemetry.scope import GuestSpans, TraceScope, bound_state, telemetry_of
from spin_py.telemetry.semconv import ERROR_TYPE, execute_span_name
from spin_py.telemetry.setup import Telemetry

log = logging.getLogger(__name__)


@contextlib.contextmanager
def execute_span(
    telemetry: Telemetry,
    component_id: str,
    parent: Context | None = None,
    *,
    state: RequestState | None = None,
) -> Iterator[Span]:
    """Open the execute span of `component_id` as a child of `parent` and make it current in
    this thread for the duration of the block.

    `parent` is the context of the server span (`server_context(request)`), or of the client
    span of a service-chained request; None means this thread's current context. `state` is the
    request's RequestState (default: the one bound in this thread).
    """
    st = state if state is not None else bound_state()
    span = telemetry.tracer.start_span(
        execute_span_name(component_id), context=parent, kind=SpanKind.INTERNAL
    )
    token = otel_context.attach(set_span_in_context(span, parent))
    scope = st.ext(TraceScope) if st is not None else None
    previous = (scope.telemetry, scope.execute_span) if scope is not None else None
    if scope is not None:
        scope.telemetry, scope.execute_span = telemetry, span
    try:
        yield span
    except BaseException as exc:
        record_trap(span, exc)
        raise
    finally:
        if st is not None:
            _drop_unended(st, telemetry, component_id)
        if scope is not None and previous is not None:
            scope.telemetry, scope.execute_span = previous
        otel_context.detach(token)
        span.end()


def prepare_execute(state: RequestState, telemetry: Telemetry, parent: Context | None) -> None:
    """Record which telemetry serves `state`'s request and the execute span's parent (the
    server span's context, or a client span's for a service-chained call). Any thread."""
    scope = state.ext(TraceScope)
    scope.telemetry, scope.parent = telemetry, parent


@contextlib.contextmanager
def execute_span_for(state: RequestState, component_id: str) -> Iterator[Span]:
    """`execute_span` with the telemetry and parent `prepare_execute` recorded on `state`
    (without them: export-off telemetry and this thread's current context)."""
    scope = state.ext(TraceScope)
    with execute_span(telemetry_of(state), component_id, scope.parent, state=state) as span:
        yield span


def record_outcome(state: RequestState, component_id: str, outcome: str, seconds: float) -> None:
    """Count a finished guest call in the host metrics (`spin.component.execute.duration`) with
    its `outcome` (`ok`, `trap`, `timeout`, `exit`, `out-of-memory`, `cancelled`); a no-op with
    host metrics off."""
    metrics = telemetry_of(state).metrics
    if metrics is not None:
        metrics.execute_finished(component_id, outcome, seconds)


def context_of(span: Span) -> Context:
    """A context holding `span` (e.g. the parent of a service-chained execute span)."""
    return set_span_in_context(span, Context())


def record_trap(span: Span, exc: BaseException | None, message: str | None = None) -> None:
    """Mark `span` failed: status ERROR with `message` (default: the exception's text) as the
    description, `error.type` and, when there is an exception, an exception event. An exit with
    status 0 is not a failure."""
    if isinstance(exc, GuestExit) and exc.code == 0:
        return
    if not span.is_recording():
        return
    description = message or (str(exc) if exc is not None else "") or "guest call failed"
    span.set_status(Status(StatusCode.ERROR, description))
    span.set_attribute(ERROR_TYPE, type(exc).__qualname__ if exc is not None else "trap")
    if exc is not None:
        span.record_exception(exc, attributes={"exception.message": description})


def _drop_unended(state: RequestState, telemetry: Telemetry, component_id: str) -> None:
    if not state.has_ext(GuestSpans):
        return
    dropped = state.ext(GuestSpans).drop_all()
    if dropped:
        telemetry.stats.add("guest_span_unended", dropped)
        log.debug("component %s left %d span(s) unended; they are dropped", component_id, dropped)
