"""Typed, path-aware access to the tables tomllib returns.

`Table` wraps one TOML table with its key path, so every type error, missing key and unknown key
is raised as `Invalid` naming exactly where it is. The wording follows serde's, which is what Spin
users see: ``missing field `name` ``, ``unknown field `x`, expected one of `a`, `b` ``,
``invalid type: integer `1`, expected a string``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from spin_py.manifest.diagnostics import Invalid, KeyPath, quote


def describe(value: object) -> str:
    """A TOML value as serde describes it in type errors: ``integer `1` ``, `string "x"`, ..."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {quote(value)}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, datetime.date | datetime.time):
        return "datetime"
    return type(value).__name__


def type_error(path: KeyPath, value: object, expected: str) -> Invalid:
    """`invalid type: <found>, expected <expected>` at `path`."""
    return Invalid(path, f"invalid type: {describe(value)}, expected {expected}")


def expect_str(path: KeyPath, value: object) -> str:
    """`value` if it is a string, else a type error at `path`."""
    if not isinstance(value, str):
        raise type_error(path, value, "a string")
    return value


def expect_str_list(path: KeyPath, value: object) -> tuple[str, ...]:
    """`value` if it is an array of strings, else a type error at the offending element."""
    if not isinstance(value, list):
        raise type_error(path, value, "an array of strings")
    return tuple(expect_str((*path, i), item) for i, item in enumerate(value))


class Table:
    """One TOML table and where it is; accessors raise `Invalid` with the value's key path."""

    def __init__(self, data: dict[str, object], path: KeyPath) -> None:
        self.data = data
        self.path = path

    @classmethod
    def of(cls, path: KeyPath, value: object, expected: str = "a table") -> Table:
        """Wrap `value` if it is a table, else a type error at `path`."""
        if not isinstance(value, dict):
            raise type_error(path, value, expected)
        return cls(value, path)

    def at(self, key: str | int) -> KeyPath:
        """The key path of one of this table's keys."""
        return (*self.path, key)

    def has(self, key: str) -> bool:
        return key in self.data

    def names(self) -> list[str]:
        return list(self.data)

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Reject the first key not in `allowed`, naming the keys that are."""
        allowed = list(allowed)
        for key in self.data:
            if key not in allowed:
                expected = ", ".join(f"`{name}`" for name in allowed)
                raise Invalid(self.at(key), f"unknown field `{key}`, expected one of {expected}")

    def missing(self, key: str) -> Invalid:
        return Invalid(self.at(key), f"missing field `{key}`")

    def required(self, key: str) -> object:
        if key not in self.data:
            raise self.missing(key)
        return self.data[key]

    def req_str(self, key: str) -> str:
        return expect_str(self.at(key), self.required(key))

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else expect_str(self.at(key), value)

    def opt_bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise type_error(self.at(key), value, "a boolean")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        return expect_str_list(self.at(key), self.data.get(key, []))

    def table(self, key: str) -> Table:
        """The sub-table `key` (an empty one if absent)."""
        return Table.of(self.at(key), self.data.get(key, {}))

    def opt_table(self, key: str) -> Table | None:
        return Table.of(self.at(key), self.data[key]) if key in self.data else None

    def str_table(self, key: str) -> tuple[tuple[str, str], ...]:
        """A table of strings (`environment`, `headers`, ...) as ordered pairs."""
        sub = self.table(key)
        return tuple((name, expect_str(sub.at(name), value)) for name, value in sub.data.items())
