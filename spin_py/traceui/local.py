"""The trace UI inside the serving process (`spin-py up --trace-ui --workers 1`).

The store is fed by `StoreSpanProcessor` (added to the process's tracer provider beside any OTLP
exporter) and the metric tables by an in-memory reader of the host metrics. The UI's aiohttp
server runs on the app's event loop but on its own socket: it starts with the app (its
`on_startup`) and stops with it (`on_cleanup`).
"""

from __future__ import annotations

import socket

from aiohttp import web
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from spin_py.traceui.readers import StoreSpanProcessor, local_metric_reader
from spin_py.traceui.state import UiState
from spin_py.traceui.store import StoreLimits, TraceStore
from spin_py.traceui.web import create_ui_app

SHUTDOWN_TIMEOUT = 1.0


class LocalTraceUI:
    """Store, span processor, metric reader and server of an in-process trace UI on `sock`."""

    def __init__(self, sock: socket.socket, limits: StoreLimits | None = None) -> None:
        self.sock = sock
        self.store = TraceStore(limits)
        self._processor = StoreSpanProcessor(self.store)
        self._reader = local_metric_reader()
        self.state = UiState(self.store, "in-process", local_reader=self._reader)
        self._runner: web.AppRunner | None = None

    @property
    def span_processors(self) -> tuple[SpanProcessor, ...]:
        """For `telemetry.configure(span_processors=...)`."""
        return (self._processor,)

    @property
    def metric_readers(self) -> tuple[MetricReader, ...]:
        """For `telemetry.configure(metric_readers=...)`."""
        return (self._reader,)

    def attach(self, app: web.Application) -> None:
        """Serve the UI while `app` runs."""
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, _: web.Application) -> None:
        runner = web.AppRunner(
            create_ui_app(self.state), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        await web.SockSite(runner, self.sock).start()
        self._runner = runner

    async def _stop(self, _: web.Application) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
