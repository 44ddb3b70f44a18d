"""Wiring `--trace-ui` and `--access-log` into `spin-py up` (docs/observability.md section 8).

One process (`--workers 1`): the trace UI lives in the serving process (`LocalTraceUI`): its
span processor and metric reader join the process's telemetry, and its server runs on the app's
event loop, on a socket of its own.

Several workers: the supervisor binds the UI's socket, and a sidecar process (the supervisor's
slot 0, see `supervisor`) serves the UI on it, with the store and the metric tables. Each worker
forwards its finished spans (a batch processor, every 200 ms, as JSON records) and its host
metrics (every second, OTLP/HTTP) to the sidecar over HTTP on loopback. Why a process and a
batch processor: the supervisor must not run threads or an event loop (it forks), a worker
cannot hold the UI (it may die or be busy in a guest), and a bounded, batched, background
exporter is how spans already leave a worker; when the sidecar is slow or down, spans are
dropped, requests never wait.

Either way the UI's URL is printed at startup: `Trace UI: http://HOST:PORT/`.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from aiohttp import web
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from spin_py.config import UpConfig
from spin_py.errors import ConfigError
from spin_py.server.listen import BACKLOG, bind_listener, bound_url
from spin_py.server.worker import AwaitTurn, Serve
from spin_py.traceui import (
    LocalTraceUI,
    TraceStore,
    UiState,
    create_ui_app,
    forwarding_metric_reader,
    forwarding_span_processor,
)


@dataclass(frozen=True)
class TelemetryExtras:
    """What `telemetry.configure` gets beyond the environment."""

    span_processors: tuple[SpanProcessor, ...] = ()
    metric_readers: tuple[MetricReader, ...] = ()
    access_log: bool = False
    setup_app: Callable[[web.Application], None] | None = field(default=None, compare=False)
    """Called with the app's aiohttp application (the in-process UI attaches to it)."""


def bind(config: UpConfig) -> socket.socket | None:
    """The trace UI's listening socket (None without `--trace-ui`). It listens at once: unlike
    the app's port, nothing needs loading before the UI can answer."""
    if config.trace_ui is None:
        return None
    sock = bind_listener(config.trace_ui)
    try:
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(
            f"Unable to listen on {config.trace_ui} for the trace UI (--trace-ui-listen): {reason}"
        ) from exc
    return sock


def ui_url(sock: socket.socket) -> str:
    """The URL printed at startup: `http://HOST:PORT/`."""
    return bound_url(sock) + "/"


def loopback_url(sock: socket.socket) -> str:
    """How a process on this machine reaches the UI (a wildcard address becomes loopback)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def in_process(config: UpConfig, sock: socket.socket | None) -> TelemetryExtras:
    """Extras for `--workers 1`: the UI (if any) in this process."""
    if sock is None:
        return TelemetryExtras(access_log=config.access_log)
    ui = LocalTraceUI(sock)
    return TelemetryExtras(ui.span_processors, ui.metric_readers, config.access_log, ui.attach)


def forwarding(config: UpConfig, sock: socket.socket | None) -> TelemetryExtras:
    """Extras for a worker process: forward spans and metrics to the sidecar (if any). Call in
    the worker (the processors start threads); closes the worker's copy of the UI socket."""
    if sock is None:
        return TelemetryExtras(access_log=config.access_log)
    url = loopback_url(sock)
    sock.close()
    return TelemetryExtras(
        (forwarding_span_processor(url),), (forwarding_metric_reader(url),), config.access_log
    )


def sidecar(sock: socket.socket, app_sock: socket.socket) -> Serve:
    """The sidecar process's serve function: the UI on `sock` until SIGTERM. It ignores SIGINT
    (the supervisor stops it after the workers, whose last spans it still takes) and closes
    its copy of the app's listening socket `app_sock`, which it never serves."""

    def serve(await_turn: AwaitTurn) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        app_sock.close()
        asyncio.run(_serve_ui(sock, UiState(TraceStore(), "workers"), await_turn))

    return serve


async def _serve_ui(sock: socket.socket, state: UiState, await_turn: AwaitTurn) -> None:
    """Serve the UI, then report ready (`await_turn`, in the background: the supervisor's "go"
    concerns the app's socket, which the sidecar never serves) until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    runner = web.AppRunner(create_ui_app(state), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    turn = None
    try:
        await web.SockSite(runner, sock).start()
        turn = asyncio.ensure_future(await_turn())
        await stop.wait()
    finally:
        if turn is not None:
            turn.cancel()
        await runner.cleanup()


def announcing(
    on_ready: Callable[[], None], sock: socket.socket | None, config: UpConfig, out: TextIO
) -> Callable[[], None]:
    """`on_ready`, then the `Trace UI:` line (on stderr with `--format json`, so stdout stays
    one JSON object)."""
    if sock is None:
        return on_ready
    line = f"Trace UI: {ui_url(sock)}\n"

    def announce() -> None:
        on_ready()
        stream = sys.stderr if config.output_format == "json" else out
        stream.write(line)
        stream.flush()

    return announce
