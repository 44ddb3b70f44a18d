"""`load(path) -> App`: read a spin.toml, detect its version, validate it, build the model.

Every failure is a `ManifestError` in one format (see `diagnostics`), e.g.

    spin.toml:14:1: component.hello.allowed_outbound_hosts[1]: "ftp://x" ...
    spin.toml:3:7: invalid TOML: Expected '=' after a key in a key/value pair

Parsing stops at the first problem, except for problems validators `report` and parsing goes
on (every bad `allowed_outbound_hosts` entry): the error then has one such line per problem.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from spin_py.errors import ManifestError
from spin_py.manifest.context import Context
from spin_py.manifest.diagnostics import (
    Invalid,
    file_error,
    format_path,
    located_message,
    manifest_error,
    quote,
)
from spin_py.manifest.input_files import (
    MAX_CONFIG_BYTES,
    NESTED_TOO_DEEPLY,
    check_input,
    read_input,
)
from spin_py.manifest.model import App
from spin_py.manifest.v1 import parse_v1
from spin_py.manifest.v2 import parse_v2

MANIFEST_FILE_NAME = "spin.toml"
_VERSION_KEYS = ("spin_manifest_version", "spin_version")
_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_AT_END = " (at end of document)"


def resolve_manifest_path(path: Path) -> Path:
    """A directory means its `spin.toml`; a manifest that does not exist, or is not a regular
    file of at most `MAX_CONFIG_BYTES` (a FIFO, a device: docs/security.md, "Input files"), is a
    `ManifestError` saying which."""
    candidate = path / MANIFEST_FILE_NAME if path.is_dir() else path
    try:
        check_input(candidate, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise file_error(candidate, "manifest file not found") from None
    except OSError as err:
        raise file_error(candidate, f"cannot read manifest: {err.strerror}") from None
    return candidate


def load(path: Path) -> App:
    """Load and validate the manifest at `path` (a file, or a directory holding spin.toml)."""
    file = resolve_manifest_path(path)
    text = _read(file)
    doc = _parse_toml(file, text)
    ctx = Context(file, text)
    try:
        if _version(doc) == 1:
            app = parse_v1(ctx, doc, file.absolute())
        else:
            app = parse_v2(ctx, doc, file.absolute())
    except Invalid as err:
        raise _problems_error(ctx, [*ctx.problems, err]) from None
    if ctx.problems:
        raise _problems_error(ctx, ctx.problems)
    return app


def _problems_error(ctx: Context, problems: list[Invalid]) -> ManifestError:
    """One error for every problem, one line each in file order (same position: found order)."""
    lines = []
    for problem in problems:
        line, column = ctx.locate(problem.path)
        subject = format_path(problem.path) or "manifest"
        message = located_message(ctx.file, line, column, subject, problem.message)
        lines.append((line, column, message))
    lines.sort(key=lambda item: item[:2])
    return ManifestError("\n".join(message for _, _, message in lines))


def _read(file: Path) -> str:
    try:
        data = read_input(file, MAX_CONFIG_BYTES)
    except OSError as err:
        raise file_error(file, f"cannot read manifest: {err.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise manifest_error(file, line, column, "invalid TOML", "not valid UTF-8") from None


def _parse_toml(file: Path, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _syntax_error(file, text, str(err)) from None
    except RecursionError:
        raise manifest_error(file, 1, 1, "invalid TOML", NESTED_TOO_DEEPLY) from None


def _syntax_error(file: Path, text: str, detail: str) -> ManifestError:
    """Normalize tomllib's "<message> (at line X, column Y)" to the manifest error format."""
    match = _TOML_POSITION.match(detail)
    if match:
        line, column = int(match["line"]), int(match["column"])
        message = match["message"]
    else:
        message = detail.removesuffix(_TOML_AT_END)
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
    return manifest_error(file, line, column, "invalid TOML", message)


def _version(doc: dict[str, object]) -> int:
    """1 or 2, from `spin_manifest_version` (or its v1 alias `spin_version`)."""
    present = [key for key in _VERSION_KEYS if key in doc]
    if not present:
        raise Invalid((_VERSION_KEYS[0],), f"missing field `{_VERSION_KEYS[0]}`")
    if len(present) > 1:
        raise Invalid(
            (present[1],), f"duplicate field: `{present[1]}` is an alias of `{present[0]}`"
        )
    value = doc[present[0]]
    if value == "1":
        return 1
    if value == 2 and isinstance(value, int) and not isinstance(value, bool):
        return 2
    shown = value if isinstance(value, str) else str(value).lower()
    hint = " (write `spin_manifest_version = 2`, without quotes)" if value == "2" else ""
    raise Invalid((present[0],), f"invalid manifest version: {quote(str(shown))}{hint}")
