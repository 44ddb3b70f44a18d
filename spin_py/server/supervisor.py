"""Pre-fork worker processes sharing one listening socket (`spin-py up --workers N`).

wasmtime-py runs one guest thread per process best (threads contend for the GIL), so spin-py
scales with processes. The supervisor (the `spin-py up` process) binds the socket once, before
this module runs, so a busy port fails fast and `--find-free-port` picks one port for all; then
it forks N workers. Each worker inherits the listening socket and accepts on it with its own
event loop, wasmtime Engine, Invoker and telemetry; the kernel gives each new connection to one
of them. An inherited socket rather than one SO_REUSEPORT socket per worker: the port decision
stays in the parent, and connections waiting in the accept queue are not lost when one worker
dies (each SO_REUSEPORT socket has a queue of its own, dropped with it).

Fork safety: the supervisor never creates a thread, an event loop or a wasmtime Engine (none of
them survives a fork: the child would lack the epoch ticker, wasmtime's compile threads or
OpenTelemetry's export thread while holding their state). It only waits in `select` on pipes,
and it forks from a single thread. Workers build all of that after the fork (`worker`).

Start-up: the socket is bound but not listening. Worker 1 starts alone, compiling the
components and so filling the on-disk compile cache; the others start once it is ready and only
deserialize the artifacts. When the cache already holds every artifact (`parallel_start`, which
`up` decides before forking), all workers start at once. A worker that cannot start reports
its `SpinPyError`; the supervisor stops the others and raises it (the port never accepted a
connection). When all are ready, the supervisor starts listening, tells every worker to accept
(each waits for that: `worker`), and `on_ready` runs (it prints the route listing) once. So
no connection is accepted, or queued, before every worker is ready
(docs/compatibility.md#startup-and-readiness). A worker restarted later is told to accept as
soon as it is ready.

Running: a worker that exits (a crash, a kill) is logged and restarted, after a back-off when it
keeps dying young. The supervisor holds the only write end of a "life" pipe every worker
watches, so workers stop on their own if the supervisor dies, even by SIGKILL.

Sidecar: with `sidecar` (the trace UI of `--trace-ui`), one more process runs it in slot 0; it
is started first, restarted like a worker, and its failure to start fails `up` as a worker's
would. It never serves the app. Stop signals are not passed on to it: it ignores SIGINT (which
a terminal sends to the whole process group) and gets a SIGTERM once the workers have exited,
so their last spans still reach it.

Stop: SIGINT or SIGTERM is passed on to every worker (each stops gracefully: after a SIGTERM it
first drains for the shutdown delay, if one is set, then its requests get their grace period,
then guests are interrupted; a second signal is passed on too and ends the drain), waits up to
`STOP_TIMEOUT` seconds plus the shutdown delay, kills what is left, and returns normally, so
`spin-py up` exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

from spin_py.errors import SpinPyError
from spin_py.server.listen import start_listening
from spin_py.server.worker import GO, READY, Serve, decode_report, worker_main

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0
"""Seconds workers get to stop (a worker needs up to ~10 s: in-flight requests, then guests)."""

RESTART_BACKOFF_MIN = 0.5
RESTART_BACKOFF_MAX = 10.0
STABLE_AFTER = 10.0
"""A worker that ran this long before exiting is restarted at once (no back-off)."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

SIDECAR_SLOT = 0
"""The slot of the sidecar process (workers are 1..N)."""
SIDECAR_STOP_TIMEOUT = 3.0
"""Seconds the sidecar gets to stop once the workers are gone."""


@dataclass
class _Worker:
    slot: int
    pid: int
    status_fd: int | None
    """Read end of its status pipe, until the worker reported (or died)."""
    started: float
    go_fd: int | None
    """Write end of its go pipe, until it was told to accept (or died)."""
    report: bytearray = field(default_factory=bytearray)
    ready: bool = False


class Supervisor:
    """Forks `count` workers that each run `serve` on the inherited `sock`; see the module."""

    def __init__(
        self,
        count: int,
        sock: socket.socket,
        serve: Serve,
        *,
        shutdown_delay: float = 0.0,
        sidecar: Serve | None = None,
        parallel_start: bool = False,
    ) -> None:
        self._count = count
        self._parallel_start = parallel_start
        self._sock = sock
        self._serve = serve
        self._sidecar = sidecar
        self._stop_timeout = STOP_TIMEOUT + shutdown_delay
        self._signals_received: list[int] = []
        self._workers: dict[int, _Worker] = {}
        self._restart_at: dict[int, float] = {}
        self._backoff: dict[int, float] = {}
        self._stop_requested = False
        self._starting = True
        self._listening = False
        self._stopping = False
        self._wake_r, self._wake_w = _pipe()
        self._life_r, self._life_w = _pipe()

    def run(self, on_ready: Callable[[], None]) -> None:
        """Start the workers, call `on_ready` once all accept, supervise until a stop signal,
        stop them. Raises the `SpinPyError` of a worker that cannot start."""
        try:
            with self._signals():
                try:
                    if self._start_all():
                        on_ready()
                        self._supervise()
                finally:
                    self._stop_all()
        finally:
            # Only after the signal handlers and the wakeup fd are restored: a SIGCHLD arriving
            # in between would be written to a closed pipe ("Exception ignored ... wakeup fd").
            self._close_pipes()

    # -- phases ---------------------------------------------------------------------------------

    def _start_all(self) -> bool:
        if self._sidecar is not None:
            self._spawn(SIDECAR_SLOT)
            if not self._await_ready([SIDECAR_SLOT]):
                return False
        first = [1] if not self._parallel_start else list(range(1, self._count + 1))
        for slot in first:
            self._spawn(slot)
        if not self._await_ready(first):
            return False
        rest = list(range(len(first) + 1, self._count + 1))
        for slot in rest:
            self._spawn(slot)
        if not self._await_ready(rest):
            return False
        start_listening(self._sock)
        self._listening = True
        for worker in self._workers.values():
            self._go(worker)
        self._starting = False
        return True

    def _await_ready(self, slots: list[int]) -> bool:
        """Wait until the workers in `slots` are ready (False: a stop signal came first)."""
        while not self._stop_requested:
            if all(self._workers[slot].ready for slot in slots):
                return True
            self._step(None)
        return False

    def _supervise(self) -> None:
        while not self._stop_requested:
            now = time.monotonic()
            for slot, when in sorted(self._restart_at.items()):
                if when <= now:
                    del self._restart_at[slot]
                    self._respawn(slot)
            upcoming = min(self._restart_at.values(), default=None)
            self._step(None if upcoming is None else max(0.0, upcoming - time.monotonic()))

    def _stop_all(self) -> None:
        self._stopping = True
        self._restart_at.clear()
        self._sock.close()  # once the workers close theirs too, new connections are refused
        if not self._signals_received:  # a worker failed to start: stop the others as SIGTERM does
            self._signals_received.append(signal.SIGTERM)
        forwarded = self._forward_signals(0)
        deadline = time.monotonic() + self._stop_timeout
        while self._serving_workers() and time.monotonic() < deadline:
            self._step(max(0.0, min(0.5, deadline - time.monotonic())))
            forwarded = self._forward_signals(forwarded)
        sidecar = self._workers.get(SIDECAR_SLOT)
        if sidecar is not None:  # the workers are gone: their last spans were sent
            _signal(sidecar.pid, signal.SIGTERM)
            deadline = max(deadline, time.monotonic() + SIDECAR_STOP_TIMEOUT)
            while SIDECAR_SLOT in self._workers and time.monotonic() < deadline:
                self._step(max(0.0, min(0.5, deadline - time.monotonic())))
        for worker in list(self._workers.values()):
            log.warning(
                "%s (pid %d) did not stop within %.0fs; killing it",
                _name(worker.slot),
                worker.pid,
                self._stop_timeout if worker.slot != SIDECAR_SLOT else SIDECAR_STOP_TIMEOUT,
            )
            _signal(worker.pid, signal.SIGKILL)
            os.waitpid(worker.pid, 0)
            self._forget(worker)

    def _forward_signals(self, forwarded: int) -> int:
        """Pass the stop signals received after the first `forwarded` on to every worker;
        returns how many were passed on in all."""
        for signum in self._signals_received[forwarded:]:
            for worker in self._workers.values():
                if worker.slot != SIDECAR_SLOT:  # stopped last, see `_stop_all`
                    _signal(worker.pid, signum)
        return len(self._signals_received)

    def _serving_workers(self) -> bool:
        return any(slot != SIDECAR_SLOT for slot in self._workers)

    # -- one turn of the event loop ---------------------------------------------------------------

    def _step(self, timeout: float | None) -> None:
        """Wait for a signal, a status report or the timeout; then reap exited workers."""
        statuses = [w.status_fd for w in self._workers.values() if w.status_fd is not None]
        fds = [self._wake_r, *statuses]
        readable, _, _ = select.select(fds, [], [], timeout)
        if self._wake_r in readable:
            _drain(self._wake_r)
        for worker in list(self._workers.values()):
            if worker.status_fd is not None and worker.status_fd in readable:
                self._read_status(worker)
        self._reap()

    def _read_status(self, worker: _Worker, *, to_end: bool = False) -> None:
        fd = worker.status_fd
        while fd is not None:
            data = os.read(fd, 65536)
            worker.report += data
            if worker.report.startswith(READY) and not worker.ready:
                worker.ready = True
                log.info("%s (pid %d) ready", _name(worker.slot), worker.pid)
                if self._listening:
                    self._go(worker)
            if not data or worker.ready:
                os.close(fd)
                worker.status_fd = fd = None
            elif not to_end:
                return

    def _reap(self) -> None:
        for worker in list(self._workers.values()):
            pid, status = os.waitpid(worker.pid, os.WNOHANG)
            if pid == 0:
                continue
            if worker.status_fd is not None:
                self._read_status(worker, to_end=True)  # the writer is gone: no blocking
            self._forget(worker)
            self._exited(worker, status)

    def _exited(self, worker: _Worker, status: int) -> None:
        how = describe_exit(status)
        if self._stopping or self._stop_requested:
            log.debug("worker %d (pid %d) %s", worker.slot, worker.pid, how)
            return
        error = decode_report(bytes(worker.report))
        if self._starting:
            raise error or SpinPyError(f"worker {worker.slot} stopped while starting ({how})")
        delay = self._next_backoff(worker)
        if error is not None:
            log.error("%s could not start: %s; retrying in %.1fs", _name(worker.slot), error, delay)
        else:
            log.error(
                "%s (pid %d) stopped unexpectedly (%s); restarting it%s",
                _name(worker.slot),
                worker.pid,
                how,
                f" in {delay:.1f}s" if delay else "",
            )
        self._restart_at[worker.slot] = time.monotonic() + delay

    def _go(self, worker: _Worker) -> None:
        """Tell a ready worker that the socket listens: it starts accepting."""
        fd, worker.go_fd = worker.go_fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):  # it may have died meanwhile
            os.write(fd, GO)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _respawn(self, slot: int) -> None:
        try:
            self._spawn(slot)
        except OSError as err:  # e.g. EAGAIN: out of processes or memory for now
            delay = RESTART_BACKOFF_MAX
            log.error("cannot start worker %d: %s; retrying in %.1fs", slot, err, delay)
            self._restart_at[slot] = time.monotonic() + delay

    def _next_backoff(self, worker: _Worker) -> float:
        if time.monotonic() - worker.started >= STABLE_AFTER:
            delay = 0.0
        else:
            previous = self._backoff.get(worker.slot, 0.0)
            delay = min(RESTART_BACKOFF_MAX, max(RESTART_BACKOFF_MIN, previous * 2))
        self._backoff[worker.slot] = delay
        return delay

    # -- processes and file descriptors -------------------------------------------------------

    def _spawn(self, slot: int) -> None:
        if threading.active_count() > 1:
            log.warning("forking worker %d from a process with threads", slot)
        status_r, status_w = os.pipe()
        go_r, go_w = os.pipe()
        inherited = [*self._parent_fds(), status_r, go_w]
        _flush_std_streams()
        try:
            pid = os.fork()
        except OSError:
            for fd in (status_r, status_w, go_r, go_w):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns
            worker_main(
                slot,
                self._sidecar if slot == SIDECAR_SLOT and self._sidecar else self._serve,
                status_fd=status_w,
                life_fd=self._life_r,
                go_fd=go_r,
                inherited=inherited,
            )
        os.close(status_w)
        os.close(go_r)
        self._workers[slot] = _Worker(slot, pid, status_r, time.monotonic(), go_w)
        log.debug("worker %d started (pid %d)", slot, pid)

    def _parent_fds(self) -> list[int]:
        """File descriptors a new worker must close: the supervisor's own pipe ends."""
        fds = [self._wake_r, self._wake_w, self._life_w]
        fds += [w.status_fd for w in self._workers.values() if w.status_fd is not None]
        return fds + [w.go_fd for w in self._workers.values() if w.go_fd is not None]

    def _forget(self, worker: _Worker) -> None:
        self._workers.pop(worker.slot, None)
        for fd in (worker.status_fd, worker.go_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        worker.status_fd = worker.go_fd = None

    def _close_pipes(self) -> None:
        for fd in (self._wake_r, self._wake_w, self._life_r, self._life_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """Stop signals set a flag; they and SIGCHLD wake `select` through the wakeup pipe."""

        def stop(signum: int, frame: FrameType | None) -> None:
            self._stop_requested = True
            self._signals_received.append(signum)

        def child(signum: int, frame: FrameType | None) -> None:
            pass

        handlers = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        handlers[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, child)
        old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        try:
            yield
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)


def _name(slot: int) -> str:
    return "trace UI process" if slot == SIDECAR_SLOT else f"worker {slot}"


def describe_exit(status: int) -> str:
    """`exited with status N` or `killed by signal SIGKILL`, for a `waitpid` status."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        return f"killed by signal {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    return read_end, write_end


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
