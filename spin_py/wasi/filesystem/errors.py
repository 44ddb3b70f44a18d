"""Filesystem failures as values: `FsError(code)` carries a WIT `error-code` case name.

Host code raises `FsError`; the WIT layer (`types.py`) turns it into the `err` side of the
result. `from_os_error` maps an `OSError` from the host filesystem onto the closest case.
"""

from __future__ import annotations

import errno

_ERRNO_CODES: dict[int, str] = {
    errno.EACCES: "access",
    errno.EPERM: "not-permitted",
    errno.ENOENT: "no-entry",
    errno.ENOTDIR: "not-directory",
    errno.EISDIR: "is-directory",
    errno.ELOOP: "loop",
    errno.ENAMETOOLONG: "name-too-long",
    errno.EEXIST: "exist",
    errno.ENOTEMPTY: "not-empty",
    errno.EROFS: "read-only",
    errno.EINVAL: "invalid",
    errno.EBADF: "bad-descriptor",
    errno.EBUSY: "busy",
    errno.EFBIG: "file-too-large",
    errno.ENOMEM: "insufficient-memory",
    errno.ENOSPC: "insufficient-space",
    errno.EOVERFLOW: "overflow",
    errno.EXDEV: "cross-device",
}


class FsError(Exception):
    """A `wasi:filesystem` `error-code`, raised by host code and returned to the guest."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def from_os_error(exc: OSError) -> FsError:
    """The `FsError` closest to an `OSError` raised by the host filesystem."""
    return FsError(_ERRNO_CODES.get(exc.errno or 0, "io"))
