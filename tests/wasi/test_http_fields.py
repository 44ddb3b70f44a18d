"""`wasi:http/types` `fields`: every method, and the syntax / forbidden / immutable / size rules."""

from __future__ import annotations

import pytest

from spin_py.host.table import HostBudget, HostTrap
from spin_py.wasi.http.fields import (
    FORBIDDEN_HEADERS,
    MAX_FIELDS_SIZE,
    Fields,
    HeaderError,
    valid_name,
    valid_value,
)


def header_error(fn: object, *args: object) -> str:
    with pytest.raises(HeaderError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value.case


def test_new_fields_are_empty_and_mutable() -> None:
    fields = Fields()
    assert fields.entries() == []
    assert fields.mutable
    assert not fields.has("x")
    assert fields.get("x") == []


def test_from_list_keeps_order_and_lowercases_names() -> None:
    fields = Fields.from_guest([("Content-Type", b"text/plain"), ("X-A", b"1"), ("x-a", b"2")])
    assert fields.entries() == [("content-type", b"text/plain"), ("x-a", b"1"), ("x-a", b"2")]
    assert fields.get("X-A") == [b"1", b"2"]
    assert fields.has("CONTENT-TYPE")


@pytest.mark.parametrize(
    ("entries", "case"),
    [
        ([("bad header", b"v")], "invalid-syntax"),
        ([("", b"v")], "invalid-syntax"),
        ([("x", b"bad\nvalue")], "invalid-syntax"),
        ([("x", b"nul\x00")], "invalid-syntax"),
        ([("Connection", b"close")], "forbidden"),
        ([("ok", b"v"), ("Transfer-Encoding", b"chunked")], "forbidden"),
    ],
)
def test_from_list_rejects(entries: list[tuple[str, bytes]], case: str) -> None:
    assert header_error(Fields.from_guest, entries) == case


def test_from_list_with_custom_forbidden_set() -> None:
    custom = FORBIDDEN_HEADERS | {"custom-forbidden-header"}
    assert header_error(Fields.from_guest, [("Custom-Forbidden-Header", b"x")], custom) == (
        "forbidden"
    )
    assert Fields.from_guest([("custom-forbidden-header", b"x")]).has("custom-forbidden-header")


def test_append_adds_after_existing_values() -> None:
    fields = Fields()
    fields.append("x-a", b"1")
    fields.append("X-B", b"2")
    fields.append("x-a", b"3")
    assert fields.entries() == [("x-a", b"1"), ("x-b", b"2"), ("x-a", b"3")]
    assert fields.get("x-a") == [b"1", b"3"]


def test_set_replaces_every_value_and_empty_list_deletes() -> None:
    fields = Fields.from_guest([("x-a", b"1"), ("x-b", b"2"), ("x-a", b"3")])
    fields.set("X-A", [b"new", b"newer"])
    assert fields.get("x-a") == [b"new", b"newer"]
    assert fields.get("x-b") == [b"2"]
    fields.set("x-a", [])
    assert not fields.has("x-a")
    assert fields.entries() == [("x-b", b"2")]


def test_delete_removes_all_values_and_absent_is_fine() -> None:
    fields = Fields.from_guest([("x-a", b"1"), ("x-a", b"2"), ("x-b", b"3")])
    fields.delete("X-A")
    assert fields.entries() == [("x-b", b"3")]
    fields.delete("never-there")
    assert fields.entries() == [("x-b", b"3")]


@pytest.mark.parametrize("name", sorted(FORBIDDEN_HEADERS))
def test_forbidden_names_rejected_by_every_mutation(name: str) -> None:
    fields = Fields()
    assert header_error(fields.append, name, b"v") == "forbidden"
    assert header_error(fields.set, name.upper(), [b"v"]) == "forbidden"
    assert header_error(fields.delete, name) == "forbidden"
    assert fields.entries() == []


def test_invalid_syntax_rejected_by_every_mutation() -> None:
    fields = Fields()
    assert header_error(fields.append, "a b", b"v") == "invalid-syntax"
    assert header_error(fields.append, "ok", b"v\r\n") == "invalid-syntax"
    assert header_error(fields.set, "ok", [b"fine", b"bad\x7f"]) == "invalid-syntax"
    assert header_error(fields.set, "caf\u00e9", [b"v"]) == "invalid-syntax"
    assert header_error(fields.delete, "a:b") == "invalid-syntax"
    assert fields.entries() == []


def test_lookups_with_invalid_names_find_nothing() -> None:
    fields = Fields.from_guest([("x", b"1")])
    assert fields.get("bad name") == []
    assert not fields.has("bad name")


def test_immutable_fields_reject_mutations_but_answer_reads() -> None:
    fields = Fields.trusted([("Host", b"example.com"), ("x-a", b"1")])
    assert not fields.mutable
    assert header_error(fields.append, "x-a", b"2") == "immutable"
    assert header_error(fields.set, "x-a", [b"2"]) == "immutable"
    assert header_error(fields.delete, "x-a") == "immutable"
    assert fields.get("host") == [b"example.com"]
    assert fields.entries() == [("host", b"example.com"), ("x-a", b"1")]


def test_syntax_and_forbidden_are_checked_before_immutability() -> None:
    fields = Fields.trusted([])
    assert header_error(fields.append, "bad name", b"v") == "invalid-syntax"
    assert header_error(fields.append, "connection", b"v") == "forbidden"


def test_view_is_immutable_and_shares_entries() -> None:
    fields = Fields.from_guest([("x-a", b"1")])
    view = fields.view()
    assert header_error(view.append, "x-b", b"2") == "immutable"
    fields.append("x-b", b"2")
    assert view.entries() == [("x-a", b"1"), ("x-b", b"2")]


def test_clone_is_a_mutable_independent_copy() -> None:
    original = Fields.trusted([("x-a", b"1")])
    copy = original.clone()
    assert copy.mutable
    copy.append("x-b", b"2")
    assert original.entries() == [("x-a", b"1")]
    assert copy.entries() == [("x-a", b"1"), ("x-b", b"2")]


def test_freeze_makes_fields_immutable() -> None:
    fields = Fields()
    fields.freeze()
    assert header_error(fields.append, "x", b"1") == "immutable"


def test_trusted_fields_skip_validation() -> None:
    fields = Fields.trusted([("Connection", b"keep-alive")])
    assert fields.get("connection") == [b"keep-alive"]


def test_growing_past_the_size_limit_traps() -> None:
    fields = Fields()
    big = b"x" * (64 * 1024)
    with pytest.raises(HostTrap, match="limit"):
        for i in range(MAX_FIELDS_SIZE // len(big) + 2):
            fields.append(f"x-{i}", big)
    with pytest.raises(HostTrap):
        Fields().set("x", [big] * (MAX_FIELDS_SIZE // len(big) + 1))


def test_size_accounting_shrinks_on_delete() -> None:
    fields = Fields()
    big = b"x" * (MAX_FIELDS_SIZE // 2)
    fields.append("a", big)
    fields.delete("a")
    fields.append("b", big)  # would exceed the limit if "a" were still counted
    fields.set("b", [big])
    assert fields.get("b") == [big]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("x-ok", True), ("A!#$%&'*+-.^_`|~9", True), ("", False), ("a b", False), ("a:b", False)],
)
def test_valid_name(name: str, ok: bool) -> None:
    assert valid_name(name) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [(b"", True), (b"tab\tok", True), (b"\x80\xff obs-text", True), (b"\r", False)],
)
def test_valid_value(value: bytes, ok: bool) -> None:
    assert valid_value(value) is ok


def test_guest_built_fields_are_charged_while_held() -> None:
    budget = HostBudget(limit=1000)
    fields = Fields.from_guest([("a", b"1" * 100)]).charge_to(budget)
    charged = budget.used
    assert charged == 1 + 100 + 32  # name, value and the per-entry overhead
    fields.append("b", b"2")
    assert budget.used == charged + 1 + 1 + 32
    fields.delete("a")  # shrinking refunds
    assert budget.used == 34
    clone = fields.clone().charge_to(budget)
    assert budget.used == 68
    with pytest.raises(HostTrap, match="over the host limit of 1000 bytes"):
        fields.set("c", [b"x" * 1000])
    assert fields.entries() == [("b", b"2")]  # unchanged by the refused growth
    clone.on_drop()  # the guest dropped it
    fields.on_drop()
    assert budget.used == 0
    assert Fields.from_guest([("b", b"2")]) == fields  # the budget is not part of equality
