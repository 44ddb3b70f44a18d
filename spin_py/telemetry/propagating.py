"""The tracer used while trace export is off: ids and propagation, nothing recorded.

With no span exporter, a recording SDK span is pure cost (attributes cleaned and stored, events,
a processor chain that drops it at the end), and it showed up as about a tenth of the event
loop's time per request. `PropagatingTracer.start_span` returns a `NonRecordingSpan` whose
`SpanContext` is exactly what the SDK's tracer would have given the span: the parent's trace id
(or a new random one), a new span id, and the sampled flag and trace state the configured
sampler decides. So `traceparent` is still extracted, continued and injected with export off
(docs/observability.md), and the spans that exist cost a few objects each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.util._decorator import _agnosticcontextmanager
from opentelemetry.util.types import Attributes

_SAMPLED = trace_api.TraceFlags(trace_api.TraceFlags.SAMPLED)
_NOT_SAMPLED = trace_api.TraceFlags(trace_api.TraceFlags.DEFAULT)
_SAMPLED_DECISIONS = frozenset({Decision.RECORD_AND_SAMPLE})


class PropagatingTracer(trace_api.Tracer):
    """A tracer whose spans carry real ids but record nothing (see the module docstring)."""

    def __init__(self, sampler: Sampler, id_generator: IdGenerator | None = None) -> None:
        self._sampler = sampler
        self._ids = id_generator if id_generator is not None else RandomIdGenerator()

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: trace_api.SpanKind = trace_api.SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        parent = trace_api.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else self._ids.generate_trace_id()
        decision = self._sampler.should_sample(context, trace_id, name, kind, attributes, links)
        sampled = decision.decision in _SAMPLED_DECISIONS
        flags = _SAMPLED if sampled else _NOT_SAMPLED
        span_context = trace_api.SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=decision.trace_state,
        )
        return trace_api.NonRecordingSpan(span_context)

    @_agnosticcontextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        kind: trace_api.SpanKind = trace_api.SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[trace_api.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace_api.Span]:
        span = self.start_span(name, context, kind, attributes, links)
        token = otel_context.attach(trace_api.set_span_in_context(span, context))
        try:
            yield span
        finally:
            otel_context.detach(token)
