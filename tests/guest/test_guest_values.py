"""opentelemetry_wasi.values: attribute values as JSON-encoded OpenTelemetry AnyValue text."""

from __future__ import annotations

import base64
import json

import pytest
from opentelemetry_wasi.values import BYTES_PREFIX, encode_value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("hello", '"hello"'),
        ("", '""'),
        ('é"\n', '"é\\"\\n"'),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (2**63 - 1, "9223372036854775807"),
        (1.0, "1.0"),
        (-0.25, "-0.25"),
        (("a", "b"), '["a","b"]'),
        ([True, False], "[true,false]"),
        ((1, 2, 3), "[1,2,3]"),
        ([0.5, 1.5], "[0.5,1.5]"),
        ([], "[]"),
        (None, "null"),
        ({"k": [1, "x"], "n": {"m": False}}, '{"k":[1,"x"],"n":{"m":false}}'),
    ],
)
def test_json_forms(value: object, text: str) -> None:
    assert encode_value(value) == text


def test_bools_stay_bools_not_integers() -> None:
    assert json.loads(encode_value([True, 1])) == [True, 1]
    assert isinstance(json.loads(encode_value(True)), bool)


def test_bytes_become_a_base64_data_uri() -> None:
    raw = bytes(range(256))
    text = json.loads(encode_value(raw))
    assert text.startswith(BYTES_PREFIX)
    assert base64.b64decode(text.removeprefix(BYTES_PREFIX)) == raw
    assert json.loads(encode_value(bytearray(b"\x00\xff"))) == BYTES_PREFIX + "AP8="


@pytest.mark.parametrize(
    ("value", "spelling"),
    [(float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity")],
)
def test_non_finite_floats_are_strings_so_the_json_stays_valid(value: float, spelling: str) -> None:
    assert json.loads(encode_value(value)) == spelling
    assert json.loads(encode_value([1.0, value])) == [1.0, spelling]


def test_unknown_objects_fall_back_to_their_text() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    assert encode_value(Thing()) == '"a thing"'
