"""The child side of `spin-py up --workers N`: one forked worker process serving the shared socket.

`worker_main` runs in a process the supervisor just forked and never returns into the parent's
code: it leaves with `os._exit` (0 after a clean stop, 1 otherwise). Before serving it undoes
what it inherited but must not keep: the supervisor's signal handlers and wakeup fd, and the
supervisor's own pipe ends (listed in `inherited`). Everything with threads or an event loop
(wasmtime Engine and epoch ticker, Invoker, OpenTelemetry providers) is created afterwards, by
`serve`.

It talks to the supervisor over three pipes:

- its status pipe (write end `status_fd`): `R` once its app is loaded (every component
  compiled and linked) and it is ready to accept; or, if it cannot start, `E` followed by the
  pickled `SpinPyError`, so the supervisor can fail `up` with the same message a single process
  would print;
- its go pipe (read end `go_fd`): after `R` the worker waits for `G`, which the supervisor
  writes once the shared socket listens (when every worker is ready; at once for a restarted
  worker), and only then starts accepting (docs/compatibility.md#startup-and-readiness);
- the life pipe (read end `life_fd`), whose write end only the supervisor holds: end of file
  means the supervisor is gone (even killed with SIGKILL), and the worker stops gracefully
  instead of serving on as an orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import NoReturn

from spin_py.errors import SpinPyError

log = logging.getLogger(__name__)

READY = b"R"
ERROR = b"E"
GO = b"G"

AwaitTurn = Callable[[], Awaitable[None]]
Serve = Callable[[AwaitTurn], None]
"""Serves the inherited socket in this process until a stop signal; once its app is loaded it
awaits its argument (which reports ready and returns when the socket listens), then accepts.
Raises `SpinPyError` when it cannot start."""


def worker_main(
    slot: int,
    serve: Serve,
    *,
    status_fd: int,
    life_fd: int,
    go_fd: int,
    inherited: Iterable[int],
) -> NoReturn:
    """Run worker `slot` in a freshly forked child and exit the process when it stops."""
    code = 1
    status = _StatusPipe(status_fd)
    try:
        _reset_inherited_state(inherited)
        serve(lambda: _await_turn(slot, status, life_fd, go_fd))
        code = 0
    except SpinPyError as err:
        status.send_error(err)
    except KeyboardInterrupt:
        status.send_error(SpinPyError(f"worker {slot} was interrupted while starting"))
    except BaseException as err:
        log.exception("worker %d failed", slot)
        status.send_error(SpinPyError(f"worker {slot} failed: {type(err).__name__}: {err}"))
    finally:
        status.close()
        _flush_std_streams()
        os._exit(code)


def decode_report(report: bytes) -> SpinPyError | None:
    """The error a worker reported on its status pipe (None: it reported none)."""
    if not report.startswith(ERROR):
        return None
    try:
        error = pickle.loads(report[len(ERROR) :])
    except Exception as err:  # a truncated report: the worker died while writing it
        return SpinPyError(f"a worker failed to start (unreadable report: {err})")
    return error if isinstance(error, SpinPyError) else SpinPyError(str(error))


class _StatusPipe:
    """The write end of this worker's status pipe; closed once something was reported."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def send(self, message: bytes) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # the supervisor may be gone
            os.write(self._fd, message)
        self.close()

    def send_error(self, error: SpinPyError) -> None:
        try:
            payload = pickle.dumps(error)
        except Exception:
            payload = pickle.dumps(SpinPyError(str(error)))
        self.send(ERROR + payload)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _reset_inherited_state(inherited: Iterable[int]) -> None:
    """Drop the supervisor's signal setup and pipe ends (this process is a fresh worker)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)


async def _await_turn(slot: int, status: _StatusPipe, life_fd: int, go_fd: int) -> None:
    """On the worker's event loop once its app is loaded: report ready, watch the supervisor,
    and return when the supervisor says the socket listens (`GO` on the go pipe)."""
    status.send(READY)
    loop = asyncio.get_running_loop()

    def supervisor_gone() -> None:
        loop.remove_reader(life_fd)
        log.warning("worker %d (pid %d): the supervisor is gone; stopping", slot, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)  # the normal graceful stop

    loop.add_reader(life_fd, supervisor_gone)
    go: asyncio.Future[bytes] = loop.create_future()

    def readable() -> None:
        if not go.done():
            go.set_result(_read_byte(go_fd))

    loop.add_reader(go_fd, readable)
    try:
        said = await go
    finally:
        loop.remove_reader(go_fd)
        os.close(go_fd)
    if said != GO:  # the supervisor closed the pipe without a go: it is stopping
        await asyncio.Event().wait()  # until the stop signal ends serving


def _read_byte(fd: int) -> bytes:
    try:
        return os.read(fd, 1)
    except OSError:
        return b""


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
