"""The trace UI's store: grouping, summaries, filters and the three limits that bound it."""

from __future__ import annotations

from spin_py.traceui.records import SpanRecord
from spin_py.traceui.store import StoreLimits, TraceFilter, TraceStore, root_of

CALLER = 0xABC


def span(
    trace: int,
    span_id: int,
    parent: int = 0,
    *,
    start: int = 1_000,
    end: int = 2_000,
    name: str = "s",
    error: bool = False,
    attributes: dict[str, object] | None = None,
    size: int = 100,
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind="INTERNAL",
        status_code="ERROR" if error else "UNSET",
        status_message="",
        start_ns=start,
        end_ns=end,
        source="host",
        scope="spin-py",
        attributes=dict(attributes or {}),
        size=size,
    )


def request(trace: int, start: int, route: str, status: int, *, failed: bool = False) -> list:
    """The spans of one request as they end: guest child, execute span, server span last."""
    server = span(
        trace,
        1,
        CALLER,
        start=start,
        end=start + 900,
        name=f"GET {route}",
        attributes={
            "http.request.method": "GET",
            "http.route": route,
            "url.path": route.replace("/...", "/x"),
            "http.response.status_code": status,
        },
    )
    execute = span(trace, 2, 1, start=start + 100, end=start + 800, name="execute")
    guest = span(trace, 3, 2, start=start + 200, end=start + 300, name="guest", error=failed)
    return [guest, execute, server]


def test_spans_group_into_traces_and_the_summary_names_the_server_span() -> None:
    store = TraceStore()
    for record in request(7, 5_000, "/users/:id", 503, failed=True):
        store.add(record)
    (summary,) = store.summaries()
    assert summary == {
        "trace_id": f"{7:032x}",
        "name": "GET /users/:id",
        "start_time_unix_nano": 5_000,
        "duration_ms": 900 / 1e6,
        "span_count": 3,
        "error": True,
        "method": "GET",
        "route": "/users/:id",
        "path": "/users/:id",
        "status_code": 503,
        "guest_span_count": 0,
        "dropped_span_count": 0,
    }
    spans = store.trace(7)
    assert spans is not None and [s.name for s in spans] == ["GET /users/:id", "execute", "guest"]
    assert store.trace(8) is None


def test_root_is_the_earliest_span_whose_parent_is_outside_the_trace() -> None:
    guest, execute, server = request(1, 0, "/a", 200)
    assert root_of([guest, execute]) is execute  # before the server span arrived
    assert root_of([guest, execute, server]) is server


def test_newest_first_and_limit() -> None:
    store = TraceStore()
    for trace in range(1, 6):
        store.add_many(request(trace, trace * 10_000, "/a", 200))
    ids = [s["trace_id"] for s in store.summaries(limit=3)]
    assert ids == [f"{t:032x}" for t in (5, 4, 3)]


def test_filters() -> None:
    store = TraceStore()
    store.add_many(request(0x1111, 1_000, "/users/...", 200))
    store.add_many(request(0x2222, 2_000, "/orders", 404))
    store.add_many(request(0x3333, 3_000, "/orders", 500, failed=True))
    store.add_many(request(0x4444, 4_000, "/users/...", 200, failed=True))

    def ids(**kw: str) -> set[int]:
        return {int(s["trace_id"], 16) for s in store.summaries(TraceFilter(**kw))}

    assert ids(trace_id="0000000000000000000000000000222") == {0x2222}
    assert ids(trace_id=f"{0x3333:032X}") == {0x3333}
    assert ids(route="orders") == {0x2222, 0x3333}
    assert ids(route="/nowhere") == set()
    assert ids(route="/users/x") == {0x1111, 0x4444}  # url.path matches too
    assert ids(status="5xx") == {0x3333}
    assert ids(status="404") == {0x2222}
    assert ids(status="error") == {0x3333, 0x4444}
    assert ids(status="ok") == {0x1111, 0x2222}
    assert ids(route="users", status="error") == {0x4444}


def test_trace_count_limit_drops_the_least_recently_added_trace() -> None:
    store = TraceStore(StoreLimits(max_traces=3))
    for trace in (1, 2, 3):
        store.add(span(trace, 1))
    store.add(span(1, 2, 1))  # trace 1 is active again
    store.add(span(4, 1))
    assert {int(s["trace_id"], 16) for s in store.summaries()} == {1, 3, 4}
    stats = store.stats()
    assert (stats["traces"], stats["spans"], stats["evicted_traces"]) == (3, 4, 1)


def test_byte_budget_drops_old_traces_but_keeps_the_one_being_added_to() -> None:
    store = TraceStore(StoreLimits(max_bytes=1_000))
    for trace in range(1, 6):
        store.add(span(trace, 1, size=300))
    stats = store.stats()
    assert stats["bytes"] <= 1_000 and stats["traces"] == 3
    for span_id in range(2, 10):  # one trace alone over the budget: it stays, others go
        store.add(span(9, span_id, size=300))
    assert [s["trace_id"] for s in store.summaries()] == [f"{9:032x}"]


def test_spans_beyond_the_per_trace_limit_are_dropped_and_counted() -> None:
    store = TraceStore(StoreLimits(max_spans_per_trace=5))
    for span_id in range(1, 9):
        store.add(span(1, span_id))
    (summary,) = store.summaries()
    assert (summary["span_count"], summary["dropped_span_count"]) == (5, 3)
    assert store.dropped_in(1) == 3 and store.stats()["dropped_spans"] == 3


def test_version_grows_with_every_change() -> None:
    store = TraceStore()
    before = store.version
    store.add(span(1, 1))
    assert store.version > before
    now = store.version
    store.summaries()
    assert store.version == now
    store.clear()
    assert store.version > now and store.summaries() == []
