"""The trace UI's bounded in-memory store of recent traces.

Spans arrive one by one as they end (children before their parents, the server span last) and
are grouped by trace id. Three limits bound it, whatever the traffic or what guests send:

- `max_traces` (default 1,000): the trace least recently added to is dropped first;
- `max_bytes` (default 64 MiB, by each record's size estimate, see `records`): same order;
- `max_spans_per_trace` (default 1,000): further spans of that trace are dropped and counted.

Every operation is thread-safe (spans come from the event loop and from guest threads) and
cheap: adding is O(1), a trace's summary is computed once after it changed, listing sorts at most
`max_traces` summaries. `version` grows with every change, for cheap polling.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from spin_py.traceui.records import SpanRecord

DEFAULT_MAX_TRACES = 1_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SPANS_PER_TRACE = 1_000


@dataclass(frozen=True)
class StoreLimits:
    """How much the store keeps (see the module docstring)."""

    max_traces: int = DEFAULT_MAX_TRACES
    max_bytes: int = DEFAULT_MAX_BYTES
    max_spans_per_trace: int = DEFAULT_MAX_SPANS_PER_TRACE


@dataclass(frozen=True)
class TraceFilter:
    """What `TraceStore.summaries` lists: every given criterion must hold."""

    trace_id: str = ""
    """A prefix of the trace id (hex, any case)."""
    route: str = ""
    """A substring of the root span's `http.route`, `url.path` or name."""
    status: str = ""
    """`2xx`..`5xx`, an exact code like `404`, `error` (any span failed) or `ok` (none did)."""

    def matches(self, summary: dict[str, Any]) -> bool:
        if self.trace_id and not summary["trace_id"].startswith(self.trace_id.lower()):
            return False
        if self.route:
            fields = (summary.get("route"), summary.get("path"), summary["name"])
            if not any(isinstance(f, str) and self.route in f for f in fields):
                return False
        return not self.status or _status_matches(self.status.lower(), summary)


def _status_matches(wanted: str, summary: dict[str, Any]) -> bool:
    if wanted == "error":
        return bool(summary["error"])
    if wanted == "ok":
        return not summary["error"]
    code = summary.get("status_code")
    if code is None:
        return False
    if len(wanted) == 3 and wanted.endswith("xx"):
        return str(code)[:1] == wanted[:1]
    return str(code) == wanted


@dataclass
class _Trace:
    spans: list[SpanRecord] = field(default_factory=list)
    size: int = 0
    dropped: int = 0
    summary: dict[str, Any] | None = None


class TraceStore:
    """Recent traces in memory, bounded by `StoreLimits` (see the module docstring)."""

    def __init__(self, limits: StoreLimits | None = None) -> None:
        self.limits = limits or StoreLimits()
        self._lock = threading.Lock()
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._bytes = 0
        self._spans = 0
        self._version = 0
        self._evicted_traces = 0
        self._dropped_spans = 0

    # -- writing ----------------------------------------------------------------------------------

    def add(self, record: SpanRecord) -> None:
        """Keep one finished span (may drop the oldest traces to stay within the limits)."""
        with self._lock:
            self._add(record)

    def add_many(self, records: Iterable[SpanRecord]) -> None:
        """Keep several finished spans."""
        with self._lock:
            for record in records:
                self._add(record)

    def _add(self, record: SpanRecord) -> None:
        trace = self._traces.get(record.trace_id)
        if trace is None:
            trace = self._traces[record.trace_id] = _Trace()
        else:
            self._traces.move_to_end(record.trace_id)
        self._version += 1
        trace.summary = None
        if len(trace.spans) >= self.limits.max_spans_per_trace:
            trace.dropped += 1
            self._dropped_spans += 1
            return
        trace.spans.append(record)
        trace.size += record.size
        self._bytes += record.size
        self._spans += 1
        self._evict(keep=record.trace_id)

    def _evict(self, keep: int) -> None:
        limits = self.limits
        while len(self._traces) > limits.max_traces or (
            self._bytes > limits.max_bytes and len(self._traces) > 1
        ):
            trace_id, trace = next(iter(self._traces.items()))
            if trace_id == keep:  # the only trace left is the one being added to
                break
            del self._traces[trace_id]
            self._bytes -= trace.size
            self._spans -= len(trace.spans)
            self._evicted_traces += 1

    def clear(self) -> None:
        """Forget every trace."""
        with self._lock:
            self._traces.clear()
            self._bytes = self._spans = 0
            self._version += 1

    # -- reading ----------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Grows with every change."""
        with self._lock:
            return self._version

    def summaries(self, where: TraceFilter | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Summaries of the matching traces, newest (by start time) first, at most `limit`."""
        with self._lock:
            items = [self._summary(trace_id, trace) for trace_id, trace in self._traces.items()]
        items.sort(key=lambda s: s["start_time_unix_nano"], reverse=True)
        if where is not None:
            items = [s for s in items if where.matches(s)]
        return items[: max(0, limit)]

    def trace(self, trace_id: int) -> list[SpanRecord] | None:
        """The spans of one trace in start order (None if the store does not hold it)."""
        with self._lock:
            trace = self._traces.get(trace_id)
            spans = list(trace.spans) if trace is not None else None
        if spans is not None:
            spans.sort(key=lambda s: (s.start_ns, s.end_ns))
        return spans

    def dropped_in(self, trace_id: int) -> int:
        """Spans of this trace that were dropped by the per-trace limit."""
        with self._lock:
            trace = self._traces.get(trace_id)
            return trace.dropped if trace is not None else 0

    def stats(self) -> dict[str, int]:
        """What the store holds and has dropped, with its limits."""
        with self._lock:
            return {
                "traces": len(self._traces),
                "spans": self._spans,
                "bytes": self._bytes,
                "evicted_traces": self._evicted_traces,
                "dropped_spans": self._dropped_spans,
                "max_traces": self.limits.max_traces,
                "max_bytes": self.limits.max_bytes,
                "max_spans_per_trace": self.limits.max_spans_per_trace,
                "version": self._version,
            }

    def _summary(self, trace_id: int, trace: _Trace) -> dict[str, Any]:
        if trace.summary is None:
            trace.summary = summarize(trace_id, trace.spans, trace.dropped)
        return trace.summary


def root_of(spans: list[SpanRecord]) -> SpanRecord:
    """The trace's root as far as it arrived: the earliest span whose parent is not in the
    trace (a server span's parent is usually the caller's span, outside spin-py)."""
    ids = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_span_id not in ids]
    return min(orphans or spans, key=lambda s: (s.start_ns, -s.end_ns))


def summarize(trace_id: int, spans: list[SpanRecord], dropped: int = 0) -> dict[str, Any]:
    """The list item of one trace, as documented for `GET /api/traces`."""
    root = root_of(spans)
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    attrs = root.attributes
    method = attrs.get("http.request.method_original") or attrs.get("http.request.method")
    return {
        "trace_id": format(trace_id, "032x"),
        "name": root.name,
        "start_time_unix_nano": start,
        "duration_ms": (end - start) / 1e6,
        "span_count": len(spans),
        "error": any(s.error for s in spans),
        "method": method,
        "route": attrs.get("http.route"),
        "path": attrs.get("url.path"),
        "status_code": attrs.get("http.response.status_code"),
        "guest_span_count": sum(1 for s in spans if s.source == "guest"),
        "dropped_span_count": dropped,
    }
