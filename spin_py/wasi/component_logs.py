"""Component stdout/stderr capture, as Spin does it.

Every component gets two sinks, `stdout` and `stderr`, created once per component (kept as a
`ComponentContext` extension, so files are opened once, not per request):

- bytes are appended to `<log_dir>/<id>_stdout.txt` / `<id>_stderr.txt` as they are written
  (`RuntimeSettings.log_dir` is the directory in effect; `None` disables the files; the CLI
  passes `spin_py.config.default_log_dir(state_dir)` when `--log-dir` is not given);
- complete lines are echoed to the server's stderr as `[<id>] line`, unless `quiet` is set or
  `follow` names other components.

Echoing is rate-limited per component and stream: at most `ECHO_BURST` lines per `ECHO_WINDOW`
seconds reach the console; the rest are only in the file, and the first line echoed in a later
window is preceded by a note saying how many were not echoed.

A log file is rotated before it would pass `LogFileLimits.max_bytes` (`--max-log-size`,
default 10 MiB): `<file>` becomes `<file>.1`, `.1` becomes `.2` and so on up to
`LogFileLimits.backups` (2), the oldest is removed, and writing goes on in a new `<file>`. So a
guest printing without end uses at most (backups + 1) x max-bytes of disk per stream
(docs/security.md, "Logs"). Worker processes share the files: each checks before writing
whether another one rotated the file already (its size is the file's, its name may have moved).

Lines are assembled per writer (`LineBuffer`), so two requests of one component writing at the
same time never splice each other's half lines; `LineBuffer.flush()` emits a trailing partial
line at the end of a request. Everything here is safe to call from several guest threads.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spin_py.host.context import ComponentContext, RuntimeSettings

MAX_LINE = 64 * 1024
"""A line longer than this (bytes without a newline) is echoed in pieces of this size."""

ECHO_BURST = 1000
ECHO_WINDOW = 10.0

DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024
DEFAULT_LOG_BACKUPS = 2


@dataclass(frozen=True)
class LogFileLimits:
    """How large a component log file grows before it is rotated, and how many rotated files
    are kept (a `RuntimeSettings` extension; these defaults when none is attached)."""

    max_bytes: int = DEFAULT_MAX_LOG_BYTES
    backups: int = DEFAULT_LOG_BACKUPS


_CONSOLE_LOCK = threading.Lock()


def echoes(settings: RuntimeSettings, component_id: str) -> bool:
    """Whether output of `component_id` is echoed to the console (`--quiet`, `--follow`)."""
    if settings.quiet:
        return False
    return settings.follow is None or component_id in settings.follow


def _echo_line(component_id: str, line: bytes) -> None:
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    with _CONSOLE_LOCK:
        stream = sys.stderr
        stream.write(f"[{component_id}] {text}\n")
        stream.flush()


@dataclass
class LogSink:
    """One output channel (`stdout` or `stderr`) of one component."""

    component_id: str
    path: Path | None
    echo: bool
    limits: LogFileLimits = field(default_factory=LogFileLimits)
    _file: BinaryIO | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False
    _echo_window: float = 0.0
    _echoed: int = 0
    _not_echoed: int = 0

    def append(self, data: bytes) -> None:
        """Append raw bytes to the log file (if files are enabled), rotating it first when it
        would grow past `limits.max_bytes`."""
        if self.path is None or not data:
            return
        with self._lock:
            if self._closed:
                return
            if self._file is not None and self._rotated_elsewhere(self._file):
                self._file.close()
                self._file = None
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 (kept open)
            size = os.fstat(self._file.fileno()).st_size
            if size and size + len(data) > self.limits.max_bytes:
                self._file.close()
                self._rotate(self.path)
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 (kept open)
            self._file.write(data)

    def _rotated_elsewhere(self, file: BinaryIO) -> bool:
        """True when the open file is no longer the one at `path` (another worker rotated)."""
        assert self.path is not None
        try:
            return os.stat(self.path).st_ino != os.fstat(file.fileno()).st_ino
        except OSError:
            return True

    def _rotate(self, path: Path) -> None:
        backups = self.limits.backups
        with contextlib.suppress(OSError):
            if backups <= 0:
                path.unlink()
                return
            for index in range(backups - 1, 0, -1):
                older = path.with_name(f"{path.name}.{index}")
                if older.exists():
                    older.replace(path.with_name(f"{path.name}.{index + 1}"))
            path.replace(path.with_name(f"{path.name}.1"))

    def echo_line(self, line: bytes) -> None:
        """Echo one complete line (without its newline) to the console, if following and
        within the echo rate limit."""
        if not self.echo:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._echo_window >= ECHO_WINDOW:
                skipped, self._not_echoed = self._not_echoed, 0
                self._echo_window, self._echoed = now, 0
                if skipped:
                    note = f"({skipped} line(s) not echoed: at most {ECHO_BURST} per "
                    note += f"{ECHO_WINDOW:g}s; all are in the log file)"
                    _echo_line(self.component_id, note.encode())
            if self._echoed >= ECHO_BURST:
                self._not_echoed += 1
                return
            self._echoed += 1
        _echo_line(self.component_id, line)

    def close(self) -> None:
        """Close the log file; later writes are dropped."""
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass
class LineBuffer:
    """A writer's view of a sink: appends bytes to the file, echoes whole lines."""

    sink: LogSink
    _pending: bytearray = field(default_factory=bytearray)

    def write(self, data: bytes) -> None:
        self.sink.append(data)
        if not self.sink.echo:
            return
        self._pending += data
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            self.sink.echo_line(bytes(self._pending[:end]))
            del self._pending[: end + 1]
        while len(self._pending) >= MAX_LINE:
            self.sink.echo_line(bytes(self._pending[:MAX_LINE]))
            del self._pending[:MAX_LINE]

    def flush(self) -> None:
        """Echo a trailing partial line (end of request)."""
        if self._pending:
            self.sink.echo_line(bytes(self._pending))
            self._pending.clear()


@dataclass
class ComponentLogs:
    """The stdout and stderr sinks of one component."""

    stdout: LogSink
    stderr: LogSink

    def close(self) -> None:
        self.stdout.close()
        self.stderr.close()


def _make_logs(ctx: ComponentContext) -> ComponentLogs:
    log_dir = ctx.settings.log_dir
    echo = echoes(ctx.settings, ctx.id)
    limits = ctx.settings.extension(LogFileLimits) or LogFileLimits()

    def sink(name: str) -> LogSink:
        path = None if log_dir is None else log_dir / f"{ctx.id}_{name}.txt"
        return LogSink(ctx.id, path, echo, limits)

    return ComponentLogs(stdout=sink("stdout"), stderr=sink("stderr"))


def component_logs(ctx: ComponentContext) -> ComponentLogs:
    """The log sinks of `ctx`'s component (created on first use, then shared)."""
    return ctx.ext(ComponentLogs, _make_logs)
