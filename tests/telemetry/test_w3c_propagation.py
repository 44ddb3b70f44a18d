"""W3C Trace Context on the way in (docs/observability.md section 3) and out."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    TraceState,
    get_current_span,
)

from spin_py.telemetry.propagation import (
    AllLinesGetter,
    W3CPropagator,
    extract,
    format_traceparent,
    inject_headers,
    parse_traceparent,
    parse_tracestate,
    trace_state_from_pairs,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
VALID = f"00-{TRACE}-{SPAN}-01"


def headers(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def remote(ctx: Context) -> SpanContext:
    return get_current_span(ctx).get_span_context()


@pytest.mark.parametrize(
    ("value", "sampled"),
    [
        (VALID, True),
        (f"00-{TRACE}-{SPAN}-00", False),
        (f"00-{TRACE}-{SPAN}-09", True),
        (f"00-{TRACE}-{SPAN}-fe", False),
        (f" \t00-{TRACE}-{SPAN}-01 \t", True),
        (f"cc-{TRACE}-{SPAN}-01", True),
        (f"cc-{TRACE}-{SPAN}-01-what-the-future-will-be-like", True),
        (f"01-{TRACE}-{SPAN}-00-", False),
    ],
)
def test_valid_traceparents(value: str, sampled: bool) -> None:
    parsed = parse_traceparent(value)
    assert parsed is not None
    assert parsed.trace_id == int(TRACE, 16)
    assert parsed.span_id == int(SPAN, 16)
    assert parsed.is_remote
    assert parsed.trace_flags.sampled is sampled
    assert int(parsed.trace_flags) in (0, 1)  # only the sampled bit is kept


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00",
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE.upper()}-{SPAN}-01",
        f"00-{TRACE}-{SPAN.upper()}-01",
        f"00-{TRACE}-{SPAN}-0A",
        f"0A-{TRACE}-{SPAN}-01",
        f"00-{TRACE[:-1]}g-{SPAN}-01",
        f"00-{TRACE}-{SPAN[:-1]}z-01",
        f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00-{TRACE}0-{SPAN}-01",
        f"00-{TRACE}-{SPAN[:-1]}-01",
        f"00-{TRACE}-{SPAN}0-01",
        f"00-{TRACE}-{SPAN}-1",
        f"00-{TRACE}-{SPAN}-011",
        f"0-{TRACE}-{SPAN}-01",
        f"000-{TRACE}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-01-extra",
        f"00-{TRACE}-{SPAN}-01-",
        f"00_{TRACE}_{SPAN}_01",
        f"cc-{TRACE}-{SPAN}-01x",
        f"cc-{TRACE}-{SPAN}-0",
        f"00-{TRACE}-{SPAN}-0\u0661",
        f"00-+{TRACE[1:]}-{SPAN}-01",
    ],
)
def test_invalid_traceparents(value: str) -> None:
    assert parse_traceparent(value) is None


def test_extract_valid_with_case_insensitive_names() -> None:
    ctx = extract(headers(("TraceParent", VALID), ("TRACESTATE", "congo=t61rcWkgMzE")))
    parent = remote(ctx)
    assert (parent.trace_id, parent.span_id) == (int(TRACE, 16), int(SPAN, 16))
    assert parent.is_remote and parent.trace_flags.sampled
    assert list(parent.trace_state.items()) == [("congo", "t61rcWkgMzE")]


def test_extract_combines_every_tracestate_line() -> None:
    ctx = extract(
        headers(("traceparent", VALID), ("tracestate", "a=1, b=2"), ("tracestate", " c=3 ,,d=4\t"))
    )
    assert list(remote(ctx).trace_state.items()) == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]


@pytest.mark.parametrize("bad", ["ff-" + VALID[3:], VALID.upper(), "garbage"])
def test_invalid_traceparent_starts_a_new_trace_and_ignores_tracestate(bad: str) -> None:
    ctx = extract(headers(("traceparent", bad), ("tracestate", "a=1")))
    assert not remote(ctx).is_valid
    assert ctx == Context()


def test_missing_traceparent_is_an_empty_context() -> None:
    assert extract(headers(("tracestate", "a=1"))) == Context()


def test_two_traceparent_lines_are_invalid() -> None:
    ctx = extract(headers(("traceparent", VALID), ("traceparent", VALID)))
    assert not remote(ctx).is_valid


def test_plain_mapping_headers() -> None:
    ctx = extract({"traceparent": VALID, "tracestate": "k=v"})
    assert remote(ctx).trace_id == int(TRACE, 16)
    assert list(remote(ctx).trace_state.items()) == [("k", "v")]


def members(n: int) -> str:
    return ",".join(f"k{i}=v{i}" for i in range(n))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a=1"], [("a", "1")]),
        (["a=1,,b=2", ""], [("a", "1"), ("b", "2")]),
        (["t-1@sys=x", "a/b*c_d-e=1"], [("t-1@sys", "x"), ("a/b*c_d-e", "1")]),
        (["t@sys_fourteen_x=1"], [("t@sys_fourteen_x", "1")]),
        (["0tenant@vendor=v"], [("0tenant@vendor", "v")]),
        (["a=b c"], [("a", "b c")]),
        (["a= b"], [("a", " b")]),
        ([members(32)], [(f"k{i}", f"v{i}") for i in range(32)]),
        (
            [members(16), members(32)[len(members(16)) + 1 :]],
            [(f"k{i}", f"v{i}") for i in range(32)],
        ),
        (["a" * 256 + "=1"], [("a" * 256, "1")]),
        (["a=" + "v" * 256], [("a", "v" * 256)]),
    ],
)
def test_valid_tracestates(lines: list[str], expected: list[tuple[str, str]]) -> None:
    assert list(parse_tracestate(lines).items()) == expected


@pytest.mark.parametrize(
    "lines",
    [
        [members(33)],
        [members(20), members(33)[len(members(20)) + 1 :]],
        ["A=1"],
        ["1a=1"],
        ["a=1,b"],
        ["a==1"],
        ["a=1=2"],
        ["a="],
        ["=1"],
        ["a=1,a=2"],
        ["a=1", "a=3"],
        ["tenant@sys_too_long_xy=1"],
        ["ten@ant@sys=1"],
        ["a" * 257 + "=1"],
        ["a=" + "v" * 257],
        ["a=caf\u00e9"],
        ["a=x\x7f"],
        ["a b=1"],
    ],
)
def test_invalid_tracestates_are_dropped_entirely(lines: list[str]) -> None:
    assert len(parse_tracestate(lines)) == 0


def test_trace_state_from_pairs_validates() -> None:
    assert list(trace_state_from_pairs([("a", "1"), ("b", "2")]).items()) == [
        ("a", "1"),
        ("b", "2"),
    ]
    assert len(trace_state_from_pairs([("a", "1"), ("B", "2")])) == 0
    assert len(trace_state_from_pairs([("a", "1"), ("a", "2")])) == 0
    assert len(trace_state_from_pairs([(f"k{i}", "v") for i in range(33)])) == 0


def test_propagator_with_all_lines_getter_matches_extract() -> None:
    carrier = headers(("traceparent", VALID), ("tracestate", "a=1"), ("tracestate", "b=2"))
    ctx = W3CPropagator().extract(carrier, getter=AllLinesGetter())
    assert remote(ctx).trace_id == int(TRACE, 16)
    assert list(remote(ctx).trace_state.items()) == [("a", "1"), ("b", "2")]
    bad = headers(("traceparent", VALID), ("traceparent", VALID))
    assert not remote(W3CPropagator().extract(bad, getter=AllLinesGetter())).is_valid


def test_inject_headers() -> None:
    state = TraceState([("a", "1")])
    ctx = SpanContext(int(TRACE, 16), 0x42, False, TraceFlags(1), state)
    assert inject_headers(NonRecordingSpan(ctx)) == [
        ("traceparent", f"00-{TRACE}-0000000000000042-01"),
        ("tracestate", "a=1"),
    ]
    unsampled = SpanContext(1, 2, False, TraceFlags(0))
    assert inject_headers(unsampled) == [("traceparent", f"00-{1:032x}-{2:016x}-00")]
    assert inject_headers(SpanContext(0, 0, False)) == []
    assert format_traceparent(ctx) == f"00-{TRACE}-0000000000000042-01"


def test_propagator_inject_round_trips() -> None:
    ctx = extract(headers(("traceparent", VALID), ("tracestate", "x=y")))
    carrier: dict[str, str] = {}
    W3CPropagator().inject(carrier, ctx)
    assert carrier == {"traceparent": VALID, "tracestate": "x=y"}
