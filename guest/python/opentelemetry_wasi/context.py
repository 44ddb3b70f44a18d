"""The host's span as the parent of the guest's spans.

``outer-span-context`` returns the span the host has open around the guest (spin-py's
``execute_wasm_component`` span). Installing it as the current span, wrapped in a non-recording
span, makes ordinary ``tracer.start_as_current_span(...)`` calls start children of it, in the
host's trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace

from opentelemetry_wasi import _bindings
from opentelemetry_wasi.convert import from_wit_span_context

_logger = logging.getLogger(__name__)


def host_span_context(bindings: _bindings.Bindings | None = None) -> trace.SpanContext:
    """The host's current span context (``outer-span-context``), as a remote SDK context."""
    b = bindings if bindings is not None else _bindings.load()
    return from_wit_span_context(b.tracing.outer_span_context())


@contextmanager
def host_context(bindings: _bindings.Bindings | None = None) -> Iterator[otel_context.Context]:
    """Run the block (or, as ``@host_context()``, the function) under the host's span.

    Spans started inside are children of the host's span and share its trace id. If the host's
    context cannot be read, the block runs unchanged (its spans start a new trace) and a warning
    is logged: telemetry never fails the request.
    """
    try:
        parent = host_span_context(bindings)
    except Exception:
        _logger.warning(
            "wasi:otel outer-span-context failed; spans start a new trace", exc_info=True
        )
        parent = trace.INVALID_SPAN_CONTEXT
    ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent))
    token = otel_context.attach(ctx)
    try:
        yield ctx
    finally:
        otel_context.detach(token)
