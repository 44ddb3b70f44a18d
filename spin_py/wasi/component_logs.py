"""Component stdout/stderr capture, as Spin does it.

Every component gets two sinks, `stdout` and `stderr`, created once per component (kept as a
`ComponentContext` extension, so files are opened once, not per request):

- bytes are appended to `<log_dir>/<id>_stdout.txt` / `<id>_stderr.txt` as they are written
  (`RuntimeSettings.log_dir` is the directory in effect; `None` disables the files; the CLI
  passes `spin_py.config.default_log_dir(state_dir)` when `--log-dir` is not given);
- complete lines are echoed to the server's stderr as `[<id>] line`, unless `quiet` is set or
  `follow` names other components.

Lines are assembled per writer (`LineBuffer`), so two requests of one component writing at the
same time never splice each other's half lines; `LineBuffer.flush()` emits a trailing partial
line at the end of a request. Everything here is safe to call from several guest threads.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spin_py.host.context import ComponentContext, RuntimeSettings

MAX_LINE = 64 * 1024
"""A line longer than this (bytes without a newline) is echoed in pieces of this size."""

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
    _file: BinaryIO | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def append(self, data: bytes) -> None:
        """Append raw bytes to the log file (if files are enabled)."""
        if self.path is None or not data:
            return
        with self._lock:
            if self._closed:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 (kept open)
            self._file.write(data)

    def echo_line(self, line: bytes) -> None:
        """Echo one complete line (without its newline) to the console, if following."""
        if self.echo:
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

    def sink(name: str) -> LogSink:
        path = None if log_dir is None else log_dir / f"{ctx.id}_{name}.txt"
        return LogSink(ctx.id, path, echo)

    return ComponentLogs(stdout=sink("stdout"), stderr=sink("stderr"))


def component_logs(ctx: ComponentContext) -> ComponentLogs:
    """The log sinks of `ctx`'s component (created on first use, then shared)."""
    return ctx.ext(ComponentLogs, _make_logs)
