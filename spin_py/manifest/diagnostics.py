"""Key paths and the one error format every manifest problem is reported in.

Validators raise `Invalid(path, message)` with the key path of the offending value; the loader
turns it into a `ManifestError` once it knows the file and the line. The format is

    <file>:<line>:<column>: <key.path>: <message>

where `<key.path>` is e.g. `component.hello.allowed_outbound_hosts[1]`. TOML syntax errors use
`invalid TOML` in place of the key path; problems with the file itself (missing, unreadable) are
reported as `<file>: <message>`.
"""

from __future__ import annotations

import re
from pathlib import Path

from spin_py.errors import ManifestError

KeyPath = tuple[str | int, ...]
"""Where a value lives in the manifest: table keys (str) and array indexes (int)."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class Invalid(Exception):
    """A manifest value is invalid; carries its key path until the loader adds a location."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def format_path(path: KeyPath) -> str:
    """Render a key path the way a user would write it: `trigger.http[0].route`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if _BARE_KEY.fullmatch(part) else quote(part)
        out += f".{key}" if out else key
    return out


def quote(text: str) -> str:
    """Double-quote a value for a message (backslashes and quotes escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def located_message(file: Path, line: int, column: int, subject: str, message: str) -> str:
    """The single message format: `<file>:<line>:<column>: <subject>: <message>`."""
    return f"{file}:{line}:{column}: {subject}: {message}"


def manifest_error(file: Path, line: int, column: int, subject: str, message: str) -> ManifestError:
    """A `ManifestError` in the single message format."""
    return ManifestError(located_message(file, line, column, subject, message))


def file_error(file: Path, message: str) -> ManifestError:
    """A `ManifestError` about the file as a whole (no position): `<file>: <message>`."""
    return ManifestError(f"{file}: {message}")
