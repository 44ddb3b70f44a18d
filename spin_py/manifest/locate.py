"""Find the line and column of a key path in TOML source text.

tomllib reports positions only for syntax errors, so this module re-scans the (already valid)
document and records where every key, table header and array element starts. It understands
just enough TOML for that: headers, arrays of tables, dotted and quoted keys, strings of all four
kinds, arrays and inline tables. Anything it cannot place falls back to the nearest enclosing key,
and finally to line 1, column 1: locations are best effort and never raise.
"""

from __future__ import annotations

import bisect
import contextlib
import tomllib

from spin_py.manifest.diagnostics import KeyPath

Position = tuple[int, int]
"""1-based (line, column)."""

_BARE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\r\n")


class Locator:
    """Positions of the keys of one document; `find(path)` gives the best known position."""

    def __init__(self, text: str) -> None:
        self._positions: dict[KeyPath, Position] = {}
        scanner = _Scanner(text, self._positions)
        # Keep what was recorded before any surprise: locations are best effort.
        with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
            scanner.document()

    def find(self, path: KeyPath) -> Position:
        """The position of `path`, or of its nearest recorded ancestor, or (1, 1)."""
        while path:
            if path in self._positions:
                return self._positions[path]
            path = path[:-1]
        return (1, 1)


class _Scanner:
    """A single pass over the text recording `positions[path] = (line, column)`."""

    def __init__(self, text: str, positions: dict[KeyPath, Position]) -> None:
        self.text = text
        self.i = 0
        self.positions = positions
        self.line_starts = [0] + [n + 1 for n, ch in enumerate(text) if ch == "\n"]
        self.array_tables: dict[KeyPath, int] = {}

    # -- positions -------------------------------------------------------------------------------

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset)
        return (line, offset - self.line_starts[line - 1] + 1)

    def record(self, path: KeyPath, offset: int) -> None:
        self.positions.setdefault(path, self.position(offset))

    # -- document structure ----------------------------------------------------------------------

    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return
            if self.text.startswith("[[", self.i):
                self.i += 2
                table = self.header(array=True)
                self.i += 2
            elif self.text[self.i] == "[":
                self.i += 1
                table = self.header(array=False)
                self.i += 1
            else:
                self.key_value(table)

    def header(self, *, array: bool) -> KeyPath:
        """Parse a header's dotted key (cursor after `[`/`[[`); leave the cursor on `]`."""
        keys = self.dotted_key()
        concrete: KeyPath = ()
        for key, offset in keys[:-1]:
            concrete = self.resolve((*concrete, key))
            self.record(concrete, offset)
        last, offset = keys[-1]
        concrete = (*concrete, last)
        self.record(concrete, offset)
        if array:
            index = self.array_tables.get(concrete, 0)
            self.array_tables[concrete] = index + 1
            concrete = (*concrete, index)
            self.record(concrete, offset)
        self.skip_blank(newlines=False)
        return concrete

    def resolve(self, path: KeyPath) -> KeyPath:
        """Inside `[[a]]`, `a` means its latest element: append that element's index."""
        count = self.array_tables.get(path)
        return path if count is None else (*path, count - 1)

    def key_value(self, table: KeyPath) -> None:
        path = table
        for key, offset in self.dotted_key():
            path = self.resolve((*path, key))
            self.record(path, offset)
        self.skip_blank(newlines=False)
        self.expect("=")
        self.value(path)

    def dotted_key(self) -> list[tuple[str, int]]:
        """Parse `a."b".'c'`; return each key with the offset where it starts."""
        keys: list[tuple[str, int]] = []
        while True:
            self.skip_blank(newlines=False)
            keys.append(self.key())
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return keys
            self.i += 1

    def key(self) -> tuple[str, int]:
        """Parse one bare or quoted key; return it with its start offset."""
        start = self.i
        if self.peek() in ('"', "'"):
            self.skip_string()
            return str(tomllib.loads(f"k = {self.text[start : self.i]}")["k"]), start
        while self.peek() in _BARE_CHARS:
            self.i += 1
        if self.i == start:
            raise ValueError(f"expected a key at offset {start}")
        return self.text[start : self.i], start

    # -- values ----------------------------------------------------------------------------------

    def value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.skip_string()
        elif ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        else:
            while self.i < len(self.text) and self.text[self.i] not in _SCALAR_END:
                self.i += 1

    def array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.i += 1
                return
            self.record((*path, index), self.i)
            self.value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            self.separator("]")

    def inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.i += 1
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            self.separator("}")

    def separator(self, close: str) -> None:
        """After an element: a comma, or the closing bracket (anything else cannot be scanned)."""
        if self.peek() == ",":
            self.i += 1
        elif self.peek() != close:
            raise ValueError(f"expected ',' or {close!r} at offset {self.i}")

    def skip_string(self) -> None:
        quote = self.text[self.i]
        triple = quote * 3
        if self.text.startswith(triple, self.i):
            end = self.find_close(triple, self.i + 3, escapes=quote == '"') + 3
            for _ in range(2):  # up to two quotes may directly precede the closing delimiter
                if self.peek_at(end) == quote:
                    end += 1
            self.i = end
            return
        self.i = self.find_close(quote, self.i + 1, escapes=quote == '"') + 1

    def find_close(self, delim: str, start: int, *, escapes: bool) -> int:
        j = start
        while True:
            if escapes and self.text[j] == "\\":
                j += 2
                continue
            if self.text.startswith(delim, j):
                return j
            if j >= len(self.text):
                raise IndexError("unterminated string")
            j += 1

    # -- lexical helpers -------------------------------------------------------------------------

    def peek(self) -> str:
        """The current character; running off the end means the text is not what we expect."""
        if self.i >= len(self.text):
            raise IndexError("unexpected end of document")
        return self.text[self.i]

    def peek_at(self, offset: int) -> str:
        return self.text[offset] if offset < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise ValueError(f"expected {ch!r} at offset {self.i}")
        self.i += 1

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs and comments (and newlines if asked)."""
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.i += 1
            elif ch == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.i += 1
            else:
                return
