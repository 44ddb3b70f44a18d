"""`WasiSpanProcessor`: hands every span start and end to the host through wasi:otel/tracing.

The host exports the spans (with its own resource and exporter), so the guest needs no exporter,
no batching and no background thread. Telemetry never raises into the application: a failure to
convert or forward a span is logged and the span is lost.
"""

from __future__ import annotations

import logging

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from opentelemetry_wasi import _bindings
from opentelemetry_wasi.convert import to_span_data, to_wit_span_context

_logger = logging.getLogger(__name__)


class WasiSpanProcessor(SpanProcessor):
    """Forwards ``on_start`` to ``tracing.on-start`` and ``on_end`` to ``tracing.on-end``.

    ``bindings`` defaults to the component's generated wasi:otel bindings; tests pass their own.
    """

    def __init__(self, bindings: _bindings.Bindings | None = None) -> None:
        self._bindings = bindings

    def _get_bindings(self) -> _bindings.Bindings:
        """The injected bindings, else the component's own."""
        return self._bindings if self._bindings is not None else _bindings.load()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Tell the host a span started, so host calls made inside it become its children."""
        try:
            b = self._get_bindings()
            b.tracing.on_start(to_wit_span_context(b, span.get_span_context()))
        except Exception:
            _logger.exception("wasi:otel on-start failed for span %r", span.name)

    def on_end(self, span: ReadableSpan) -> None:
        """Send the finished span, every field converted, to the host for export."""
        try:
            b = self._get_bindings()
            b.tracing.on_end(to_span_data(b, span))
        except Exception:
            _logger.exception("wasi:otel on-end failed for span %r", span.name)

    def shutdown(self) -> None:
        """Nothing is buffered in the guest: nothing to do."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered in the guest: always flushed."""
        return True
