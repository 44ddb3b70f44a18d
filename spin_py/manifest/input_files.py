"""Reading the files a user points spin-py at: regular files only, of bounded size.

The manifest, the runtime config, `--variable @file`, `--sqlite @file`, `.env` and a
component's `source` are paths the operator or the manifest author chose. A FIFO there would
block startup forever (and with it SIGTERM), a device such as `/dev/zero` would be read without
end (docs/security.md, "Input files"). So `read_input` opens without blocking, checks that it
opened a regular file no larger than its limit, and reads it; `check_input` does the same
checks without reading. Both raise `InputFileError`, an `OSError` whose `strerror` says what is
wrong, so callers that report `strerror` need no change.

Parsers of nested data (TOML, JSON) raise `RecursionError` on deeply nested values; callers
turn it into their own clean error with `NESTED_TOO_DEEPLY`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = [
    "MAX_COMPONENT_BYTES",
    "MAX_CONFIG_BYTES",
    "MAX_SQL_BYTES",
    "NESTED_TOO_DEEPLY",
    "InputFileError",
    "check_input",
    "read_input",
]

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""The manifest, the runtime config, variables files and `.env` files."""
MAX_SQL_BYTES = 256 * 1024 * 1024
"""A `--sqlite @file` script."""
MAX_COMPONENT_BYTES = 512 * 1024 * 1024
"""A component's `source` (componentize-py components are about 40 MB)."""

NESTED_TOO_DEEPLY = "values are nested too deeply"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(OSError):
    """The file cannot be used as input (not a regular file, too large)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(errno.EINVAL, problem, str(path))


def _open_checked(path: Path, limit: int) -> tuple[int, int]:
    """An fd for `path` (opened without blocking) and its size, checked; the caller closes it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise InputFileError(path, f"not a regular file ({kind})")
        if info.st_size > limit:
            raise InputFileError(path, f"larger than {limit} bytes ({info.st_size} bytes)")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def check_input(path: Path, limit: int) -> None:
    """Raise `FileNotFoundError`, `InputFileError` or another `OSError` unless `path` is a
    readable regular file of at most `limit` bytes."""
    fd, _ = _open_checked(path, limit)
    os.close(fd)


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path` (at most `limit`); `OSError`s as `check_input`."""
    fd, _ = _open_checked(path, limit)
    try:
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise InputFileError(path, f"larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)
