"""The `wasi:otel/tracing@0.2.0-rc.2` host functions.

- `on-start(span-context)`: remember the guest's span as open (the parent of host-call spans).
- `on-end(span-data)`: forget it and export it through the host's span processors (an `on-end`
  for a span never started is exported anyway, with a debug log; unsampled spans are not
  exported).
- `outer-span-context()`: the execute span (the host's current span while the guest runs).
- `current-span-context()`: the innermost open guest span, else the execute span (the newer
  proposal's name; both live in the same instance).

Bookkeeping happens whether or not traces are exported, so propagation keeps working with export
off. Every function is guarded: nothing a guest sends traps it or harms the host.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext
from wasmtime.component import LinkerInstance, Record

from spin_py.host.linking import add_funcs
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.telemetry.scope import GuestSpans, TraceScope, telemetry_of
from spin_py.wasi_otel import span_context
from spin_py.wasi_otel.common import OTEL_VERSION, stats_now
from spin_py.wasi_otel.guard import Issues, guarded
from spin_py.wasi_otel.ids import parse_span_id
from spin_py.wasi_otel.records import field
from spin_py.wasi_otel.spans import build_span

INTERFACE = f"wasi:otel/tracing@{OTEL_VERSION}"

log = logging.getLogger(__name__)


def _zero_context() -> Record:
    return span_context.to_guest(trace.INVALID_SPAN_CONTEXT)


@guarded("on-start", lambda: None, stats_now)
def on_start(store: Store, context: Any) -> None:
    """Record a guest span as open."""
    state = current()
    parsed = span_context.from_guest(context)
    if parsed is None:
        Issues(telemetry_of(state).stats).report(
            "guest_span_dropped", "on-start with an invalid or zero trace/span id"
        )
        return
    if not state.ext(GuestSpans).started(parsed):
        Issues(telemetry_of(state).stats).report(
            "guest_span_open_limit", "too many open spans in one request; on-start ignored"
        )


@guarded("on-end", lambda: None, stats_now)
def on_end(store: Store, span: Any) -> None:
    """Close a guest span and export it."""
    state = current()
    telemetry = telemetry_of(state)
    span_id = parse_span_id(field(field(span, "span-context"), "span-id"))
    if span_id and state.ext(GuestSpans).ended(span_id) is None:
        telemetry.stats.add("guest_span_unknown_end")
        log.debug("on-end for span %016x, which was never started: exported anyway", span_id)
    if not telemetry.traces_exported:
        return
    built = build_span(span, telemetry.resource, Issues(telemetry.stats))
    if built is not None:
        telemetry.export_span(built)


def _execute_context() -> SpanContext:
    execute = current().ext(TraceScope).execute_span
    if execute is not None:
        return execute.get_span_context()
    return trace.get_current_span().get_span_context()


@guarded("outer-span-context", _zero_context, stats_now)
def outer_span_context(store: Store) -> Record:
    """The execute span's context, as the remote parent of the guest's spans."""
    return span_context.to_guest(_execute_context(), is_remote=True)


@guarded("current-span-context", _zero_context, stats_now)
def current_span_context(store: Store) -> Record:
    """The innermost open guest span, else the execute span."""
    innermost = current().ext(GuestSpans).innermost()
    if innermost is not None:
        return span_context.to_guest(innermost)
    return span_context.to_guest(_execute_context(), is_remote=True)


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:otel/tracing` (both `outer-span-context` and `current-span-context`)."""
    with root.add_instance(INTERFACE) as instance:
        add_funcs(
            instance,
            {
                "on-start": on_start,
                "on-end": on_end,
                "outer-span-context": outer_span_context,
                "current-span-context": current_span_context,
            },
        )
