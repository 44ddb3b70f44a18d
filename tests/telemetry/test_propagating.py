"""The export-off tracer: the ids and sampled flags the SDK tracer would give, nothing recorded."""

from __future__ import annotations

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from spin_py.telemetry import configure
from spin_py.telemetry.propagating import PropagatingTracer

TRACE = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT = 0x00F067AA0BA902B7


def remote_parent(sampled: bool, state: TraceState | None = None) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    parent = SpanContext(TRACE, PARENT, is_remote=True, trace_flags=flags, trace_state=state)
    return set_span_in_context(NonRecordingSpan(parent), Context())


@pytest.mark.parametrize(
    ("sampler", "parent_sampled"),
    [
        (ParentBased(ALWAYS_ON), True),
        (ParentBased(ALWAYS_ON), False),
        (ParentBased(ALWAYS_OFF), True),
        (ALWAYS_OFF, True),
        (ALWAYS_ON, False),
    ],
)
def test_a_child_gets_the_sdk_tracers_flags_but_records_nothing(
    sampler: Sampler, parent_sampled: bool
) -> None:
    state = TraceState([("vendor", "x")])
    parent = remote_parent(parent_sampled, state)
    sdk = TracerProvider(sampler=sampler).get_tracer("t").start_span("s", context=parent)
    ours = PropagatingTracer(sampler).start_span("s", context=parent)
    assert not ours.is_recording()
    theirs, mine = sdk.get_span_context(), ours.get_span_context()
    assert mine.trace_id == theirs.trace_id == TRACE
    assert mine.span_id not in (0, PARENT)
    assert mine.trace_flags.sampled == theirs.trace_flags.sampled
    assert mine.trace_state == theirs.trace_state == state


def test_a_root_gets_a_new_trace_id_every_time() -> None:
    tracer = PropagatingTracer(ParentBased(ALWAYS_ON))
    first, second = (tracer.start_span("s").get_span_context() for _ in range(2))
    assert first.is_valid and second.is_valid
    assert first.trace_id != second.trace_id and first.trace_flags.sampled


def test_configure_uses_it_only_while_trace_export_is_off() -> None:
    off = configure({}, app_name="a", version="1")
    assert isinstance(off.tracer, PropagatingTracer)
    on = configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, app_name="a", version="1")
    try:
        assert not isinstance(on.tracer, PropagatingTracer)
        assert on.tracer.start_span("s").is_recording()
    finally:
        on.shutdown(0.5)
