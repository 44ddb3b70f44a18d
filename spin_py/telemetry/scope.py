"""The per-request telemetry state host functions reach through `RequestState` extensions.

- `TraceScope`: which `Telemetry` serves the request, the parent of its execute span
  (`spin_py.telemetry.execute.prepare_execute`) and the execute span itself (`execute_span`).
- `GuestSpans`: the guest's open spans (wasi:otel `on-start` without `on-end` yet), oldest
  first; the last one is the innermost, the parent of host-call spans.

When no execute span was opened (host functions called outside `execute_span`), a process-wide
fallback `Telemetry` with export off is used, so nothing ever fails for lack of setup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext

from spin_py.host.state import RequestState, current
from spin_py.host.table import HostTrap
from spin_py.telemetry.setup import Telemetry, configure

MAX_OPEN_GUEST_SPANS = 1024
"""More open guest spans than this in one request is misuse: further `on-start`s are ignored."""

_FALLBACK_LOCK = threading.Lock()
_FALLBACK: list[Telemetry] = []


@dataclass
class TraceScope:
    """RequestState extension: the request's telemetry, the execute span's parent (set on the
    event loop by `prepare_execute`) and the execute span itself (set in the guest thread)."""

    telemetry: Telemetry | None = None
    parent: Context | None = None
    execute_span: Span | None = None


@dataclass
class GuestSpans:
    """RequestState extension: the guest's open spans by span id, in start order."""

    open: dict[int, SpanContext] = field(default_factory=dict)

    def started(self, context: SpanContext) -> bool:
        """Record a span the guest started (a restarted id moves to the innermost place);
        False when the request already has `MAX_OPEN_GUEST_SPANS` open spans."""
        self.open.pop(context.span_id, None)
        if len(self.open) >= MAX_OPEN_GUEST_SPANS:
            return False
        self.open[context.span_id] = context
        return True

    def ended(self, span_id: int) -> SpanContext | None:
        """Forget the span `span_id`; returns its context, or None if it was not open."""
        return self.open.pop(span_id, None)

    def innermost(self) -> SpanContext | None:
        """The most recently started span that is still open, if any."""
        return next(reversed(self.open.values()), None)

    def drop_all(self) -> int:
        """Forget every open span (end of request); returns how many there were."""
        count = len(self.open)
        self.open.clear()
        return count


def bound_state() -> RequestState | None:
    """The RequestState bound in this thread, or None outside a request."""
    try:
        return current()
    except HostTrap:
        return None


def fallback_telemetry() -> Telemetry:
    """A process-wide Telemetry with export off, for host calls outside `execute_span`."""
    with _FALLBACK_LOCK:
        if not _FALLBACK:
            _FALLBACK.append(configure({}, app_name="", version="0"))
        return _FALLBACK[0]


def telemetry_of(state: RequestState) -> Telemetry:
    """The Telemetry serving `state`'s request (the fallback if none was set)."""
    scope = state.ext(TraceScope)
    return scope.telemetry if scope.telemetry is not None else fallback_telemetry()
