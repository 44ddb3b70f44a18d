"""The host side of `wasi:io/streams`: abstract input and output streams.

`spin_py.wasi.io.streams` maps every WIT method onto these classes; concrete streams (request
and response bodies, outbound bodies, stdout capture, files) subclass them. Non-blocking methods
never block; `blocking_*` methods wait through the request's `RequestState` so they honour the
request deadline.

Errors cross as exceptions: `StreamClosed` becomes the WIT `closed` case, `StreamFailed`
carries the host object that becomes the `last-operation-failed(error)` resource. Guest misuse
(writing more than `check_write` permitted) raises `HostTrap`.

`OutputStream` implements the WIT convenience operations (`blocking_write_and_flush`,
`write_zeroes`, `splice`, ...) on top of its five primitives, following the pseudo-code in the
WIT documentation; subclasses only override them to go faster. Concrete streams live in
`spin_py.host.channels`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from spin_py.host.pollable import Pollable, block_on
from spin_py.host.state import current
from spin_py.host.table import HostTrap


class StreamClosed(Exception):
    """The stream has ended (input) or is closed to writes (output)."""


@dataclass
class IoError:
    """The host object behind a `wasi:io/error` `error` handle.

    `detail` is whatever the interface that raised it wants to recover later (e.g. a
    `wasi:http` error-code for `http-error-code`, a filesystem error-code).
    """

    message: str
    detail: object = None


class StreamFailed(Exception):
    """The last operation failed; the stream is unusable afterwards."""

    def __init__(self, error: IoError) -> None:
        super().__init__(error.message)
        self.error = error


class InputStream(ABC):
    """A source of bytes for the guest."""

    @abstractmethod
    def read(self, n: int) -> bytes:
        """Up to `n` bytes available now (possibly empty); raises StreamClosed at the end."""

    @abstractmethod
    def blocking_read(self, n: int) -> bytes:
        """At least one byte (up to `n`), waiting for them; raises StreamClosed at the end."""

    @abstractmethod
    def subscribe(self) -> Pollable:
        """Ready when a read would return data or report the end."""

    def skip(self, n: int) -> int:
        return len(self.read(n))

    def blocking_skip(self, n: int) -> int:
        return len(self.blocking_read(n))


class OutputStream(ABC):
    """A sink of bytes written by the guest."""

    @abstractmethod
    def check_write(self) -> int:
        """How many bytes `write` accepts now (0: wait on `subscribe`); may raise."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Accept `data` (at most the last `check_write` permit, else the caller traps)."""

    @abstractmethod
    def flush(self) -> None:
        """Start flushing what was written; `check_write` returns 0 until it completes."""

    @abstractmethod
    def blocking_flush(self) -> None:
        """Flush and wait until every written byte has been handed on."""

    @abstractmethod
    def subscribe(self) -> Pollable:
        """Ready when `check_write` would return non-zero or an error."""

    def blocking_write_and_flush(self, data: bytes) -> None:
        """Write all of `data` as permits allow, then flush and wait for the flush."""
        state = current()
        ready = self.subscribe()
        view = memoryview(data)
        while view:
            block_on(state, [ready])
            permit = self.check_write()
            self.write(bytes(view[:permit]))
            view = view[permit:]
        self.blocking_flush()

    def write_zeroes(self, n: int) -> None:
        """Like `write` of `n` zero bytes (same permit rule)."""
        permit = self.check_write()
        if n > permit:
            raise HostTrap(f"write-zeroes of {n} bytes exceeds the {permit} permitted")
        self.write(bytes(n))

    def blocking_write_zeroes_and_flush(self, n: int) -> None:
        """Like `blocking_write_and_flush` of `n` zero bytes."""
        self.blocking_write_and_flush(bytes(n))

    def splice(self, src: InputStream, n: int) -> int:
        """Move up to `n` bytes that `src` has now, within this stream's permit."""
        permit = self.check_write()
        data = src.read(min(permit, n))
        self.write(data)
        return len(data)

    def blocking_splice(self, src: InputStream, n: int) -> int:
        """Like `splice`, first waiting until this stream accepts bytes and `src` has some."""
        state = current()
        ready = self.subscribe()
        while (permit := self.check_write()) == 0:
            block_on(state, [ready])
        data = src.blocking_read(min(permit, n))
        self.write(data)
        return len(data)
