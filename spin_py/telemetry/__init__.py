"""OpenTelemetry for spin-py: setup from the OTEL_* environment, W3C propagation, the server and
execute spans, host-call spans, host metrics and the access log. The wasi:otel host, which
carries a guest's own telemetry, is the interface package `spin_py.wasi_otel` above this one.

The public surface:

- `configure(env, app_name=, version=, span_processors=, metric_readers=, access_log=)
  -> Telemetry`; `Telemetry.shutdown(timeout_s)`; `Telemetry.metrics` (`host_metrics`)
- `server_span_middleware(telemetry)`, `ROUTE_KEY`, `server_context(request)`, `defer_end(request)`,
  `note_response` (an `on_response_prepare` handler), `record_rejected(request, component_id)`
- `prepare_execute(state, telemetry, parent)` / `prepare_execute_from_request(state, request)`
  (event loop), then `execute_span_for(state, component_id)` (guest thread), or
  `execute_span(telemetry, component_id, parent, state=)`; `record_trap(span, exc, message)`;
  `context_of(span)`
- `host_span(name, kind=, attributes=)` / `start_host_span(...)`, `mark_error(span, error_type)`,
  `inject_headers(span)`, `parent_context(state)`
- `extract(headers) -> Context`
"""

from __future__ import annotations

from spin_py.telemetry.execute import (
    context_of,
    execute_span,
    execute_span_for,
    prepare_execute,
    record_trap,
)
from spin_py.telemetry.host_spans import (
    host_span,
    inject_headers,
    mark_error,
    parent_context,
    start_host_span,
)
from spin_py.telemetry.propagation import extract
from spin_py.telemetry.server_span import (
    ROUTE_KEY,
    SERVER_SPAN_KEY,
    defer_end,
    note_response,
    prepare_execute_from_request,
    record_rejected,
    server_context,
    server_span_middleware,
)
from spin_py.telemetry.setup import Telemetry, configure

__all__ = [
    "ROUTE_KEY",
    "SERVER_SPAN_KEY",
    "Telemetry",
    "configure",
    "context_of",
    "defer_end",
    "execute_span",
    "execute_span_for",
    "extract",
    "host_span",
    "inject_headers",
    "mark_error",
    "note_response",
    "parent_context",
    "prepare_execute",
    "prepare_execute_from_request",
    "record_rejected",
    "record_trap",
    "server_context",
    "server_span_middleware",
    "start_host_span",
]
