"""Manifest `files` / `exclude_files` globs, matched the way Spin's glob patterns are.

Patterns are relative to the manifest directory and use `/` separators: `*` and `?` match
within one path segment (dot files included), `[...]` is a character class, and a `**`
segment matches any number of directories.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path


def _class_end(segment: str, start: int) -> int:
    """Index of the `]` closing the class opened at `start`, or -1."""
    i = start + 1
    if segment[i : i + 1] == "!":
        i += 1
    if segment[i : i + 1] == "]":
        i += 1
    return segment.find("]", i)


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        end = _class_end(segment, i) if ch == "[" else -1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif end > 0:
            body = segment[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append("[" + ("^" if negate else "") + body + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching relative `/`-separated paths against `pattern`."""
    parts = [p for p in pattern.strip("/").split("/") if p not in ("", ".")]
    out: list[str] = []
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if seg == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
        else:
            out.append(_segment_regex(seg) + ("" if last else "/"))
    return re.compile("^" + "".join(out) + "$")


class Excludes:
    """The `exclude_files` patterns of one component."""

    def __init__(self, base_dir: Path, patterns: Iterable[str]) -> None:
        self._base = os.path.realpath(base_dir)
        self._patterns = [compile_glob(p) for p in patterns]

    def excluded(self, host_path: str) -> bool:
        """True if `host_path` (absolute) matches an exclude pattern, relative to the base."""
        if not self._patterns:
            return False
        rel = os.path.relpath(host_path, self._base)
        if rel.startswith(".."):
            return False
        rel = rel.replace(os.sep, "/")
        return any(p.match(rel) for p in self._patterns)


def expand(base_dir: Path, pattern: str) -> Iterator[str]:
    """The regular files matching `pattern` under `base_dir`, as relative `/` paths."""
    base = os.path.realpath(base_dir)
    for match in sorted(glob.glob(pattern, root_dir=base, recursive=True, include_hidden=True)):
        rel = os.path.normpath(match)
        if rel.startswith("..") or os.path.isabs(rel):
            continue
        if os.path.isfile(os.path.join(base, rel)):
            yield rel.replace(os.sep, "/")
