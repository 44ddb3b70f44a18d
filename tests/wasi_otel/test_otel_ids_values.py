"""wasi:otel ids (strict hex) and JSON AnyValue decoding (docs/observability.md section 4)."""

from __future__ import annotations

import pytest

from spin_py.wasi_otel.ids import (
    format_span_id,
    format_trace_id,
    parse_span_id,
    parse_trace_id,
)
from spin_py.wasi_otel.values import BadValue, decode_attribute, decode_body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0af7651916cd43dd8448eb211c80319c", 0x0AF7651916CD43DD8448EB211C80319C),
        ("0AF7651916CD43DD8448EB211C80319C", 0x0AF7651916CD43DD8448EB211C80319C),
        ("1", 1),
        ("abc", 0xABC),
        ("f" * 32, 2**128 - 1),
    ],
)
def test_trace_ids_accepted(raw: str, expected: int) -> None:
    assert parse_trace_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "0" * 32, "0", "f" * 33, "0x1", "+1", "-1", "1_0", " 1", "1 ", "g", "\u0661", None, 5],
)
def test_trace_ids_rejected(raw: object) -> None:
    assert parse_trace_id(raw) == 0


@pytest.mark.parametrize(("raw", "expected"), [("b7ad6b7169203331", 0xB7AD6B7169203331), ("A", 10)])
def test_span_ids_accepted(raw: str, expected: int) -> None:
    assert parse_span_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "0" * 16, "f" * 17, "0X1", "1_1", "\t1", "ff ff"])
def test_span_ids_rejected(raw: str) -> None:
    assert parse_span_id(raw) == 0


def test_ids_are_formatted_lower_case_and_padded() -> None:
    assert format_trace_id(0xABC) == "0" * 29 + "abc"
    assert format_span_id(0xABC) == "0" * 13 + "abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"hello"', "hello"),
        ("true", True),
        ("false", False),
        ("42", 42),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775807", 2**63 - 1),
        ("1.5", 1.5),
        ("1.0", 1.0),
        ('"data:application/octet-stream;base64,AAEC/w=="', b"\x00\x01\x02\xff"),
        ('"{base64}:aGk="', b"hi"),
        ('"data:text/plain;base64,aGk="', "data:text/plain;base64,aGk="),
        ('["a","b"]', ("a", "b")),
        ("[true,false]", (True, False)),
        ("[1,2,3]", (1, 2, 3)),
        ("[1.5,1]", (1.5, 1.0)),
        ("[1,2.5]", (1.0, 2.5)),
        ("[]", ()),
    ],
)
def test_attribute_values(raw: str, expected: object) -> None:
    value = decode_attribute(raw)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, tuple) and expected:
        assert [type(v) for v in value] == [type(v) for v in expected]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "raw",
    [
        "null",
        '{"0":1,"1":2}',
        '{"a":"b"}',
        '[1,"a"]',
        "[true,1]",
        "[[1],[2]]",
        "[null]",
        '[{"a":1}]',
        "9223372036854775808",
        "-9223372036854775809",
        "[9223372036854775808]",
        "NaN",
        "Infinity",
        "not json",
        "",
        '"data:application/octet-stream;base64,@@@"',
        '"{base64}:abc"',
        "[1,",
    ],
)
def test_unusable_attribute_values_raise_bad_value(raw: str) -> None:
    with pytest.raises(BadValue):
        decode_attribute(raw)


def test_non_string_value_is_bad() -> None:
    with pytest.raises(BadValue):
        decode_attribute(None)


def test_deeply_nested_json_is_bad_not_a_crash() -> None:
    with pytest.raises(BadValue):
        decode_attribute("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadValue):
        decode_body("[" * 100 + "]" * 100)


def test_log_bodies_keep_maps_and_lists() -> None:
    body = decode_body('{"user":{"id":7,"tags":["a",1,null]},"raw":"{base64}:aGk="}')
    assert body == {"user": {"id": 7, "tags": ["a", 1, None]}, "raw": b"hi"}
    assert decode_body('"plain"') == "plain"
    assert decode_body("null") is None
    with pytest.raises(BadValue):
        decode_body("{oops")
