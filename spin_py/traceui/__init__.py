"""The built-in trace viewer (`spin-py up --trace-ui`): recent traces, a waterfall, metric tables.

docs/observability.md section 8 describes it for users. The pieces:

- `records`: a finished span as kept (`SpanRecord`), from the SDK or from OTLP protobuf;
- `store`: `TraceStore`, bounded by trace count, bytes and spans per trace;
- `state`: `UiState`, the store and the metric data the web app serves from;
- `readers`: how serving processes feed it (an in-process span processor and metric reader, or
  forwarding from worker processes: spans as JSON records, metrics over OTLP/HTTP);
- `metrics_view`: the per-route, per-component, outbound and platform tables;
- `web`: the page, the JSON API and the OTLP/HTTP receiver (`create_ui_app`);
- `local`: the UI inside the serving process (`LocalTraceUI`).

With `--workers N` the UI runs in a process of its own, started by the supervisor, and the
workers forward their spans and metrics to it (`spin_py.server.trace_ui` wires that).
"""

from __future__ import annotations

from spin_py.traceui.local import LocalTraceUI
from spin_py.traceui.readers import (
    StoreSpanProcessor,
    forwarding_metric_reader,
    forwarding_span_processor,
    local_metric_reader,
)
from spin_py.traceui.state import UiState
from spin_py.traceui.store import StoreLimits, TraceFilter, TraceStore
from spin_py.traceui.web import create_ui_app

__all__ = [
    "LocalTraceUI",
    "StoreLimits",
    "StoreSpanProcessor",
    "TraceFilter",
    "TraceStore",
    "UiState",
    "create_ui_app",
    "forwarding_metric_reader",
    "forwarding_span_processor",
    "local_metric_reader",
]
