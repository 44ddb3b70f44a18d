"""A test OTLP/HTTP collector: a real aiohttp server decoding what the real exporters send.

`OtlpReceiver` runs on 127.0.0.1 (a free port) in a thread of its own with its own event loop,
so both sync and async tests can use it and a test's event loop may block on a flush without
deadlocking the receiver. It decodes `ExportTraceServiceRequest` / `ExportMetricsServiceRequest`
/ `ExportLogsServiceRequest` (protobuf, gzip or not) with `opentelemetry-proto` and keeps every
span, metric and log record with its resource and scope. `delay_s` makes it a slow collector.

The `otlp_receiver` fixture starts one per test; import it into a conftest
(`from tests.support.otlp_receiver import otlp_receiver  # noqa: F401`) and point
`OTEL_EXPORTER_OTLP_ENDPOINT` at `otlp_receiver.endpoint`.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PROTOBUF = "application/x-protobuf"

# Each signal's export request and response messages and the three nested fields that lead from
# the request to its items: resources, scopes within a resource, items within a scope.
_SIGNALS: dict[str, tuple[Any, Any, str, str, str]] = {
    "traces": (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
        "resource_spans",
        "scope_spans",
        "spans",
    ),
    "metrics": (
        ExportMetricsServiceRequest,
        ExportMetricsServiceResponse,
        "resource_metrics",
        "scope_metrics",
        "metrics",
    ),
    "logs": (
        ExportLogsServiceRequest,
        ExportLogsServiceResponse,
        "resource_logs",
        "scope_logs",
        "log_records",
    ),
}


def any_value(value: AnyValue) -> Any:
    """The Python value of an OTLP AnyValue (bytes stay bytes, arrays become lists)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attrs(value.kvlist_value.values)
    return getattr(value, kind)


def attrs(pairs: Any) -> dict[str, Any]:
    """OTLP key-values as a dict."""
    return {kv.key: any_value(kv.value) for kv in pairs}


@dataclass
class Received:
    """One span, metric or log record, with where it came from."""

    item: Any
    resource: dict[str, Any]
    scope_name: str
    scope_version: str

    @property
    def attributes(self) -> dict[str, Any]:
        return attrs(self.item.attributes)

    @property
    def trace_id(self) -> str:
        return bytes(self.item.trace_id).hex()

    @property
    def span_id(self) -> str:
        return bytes(self.item.span_id).hex()

    @property
    def parent_span_id(self) -> str:
        return bytes(self.item.parent_span_id).hex()

    @property
    def name(self) -> str:
        return str(self.item.name)


class OtlpReceiver:
    """An OTLP/HTTP collector on a free local port (see the module docstring)."""

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.port = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._items: dict[str, list[Received]] = {signal: [] for signal in _SIGNALS}
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        """The base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        for signal in _SIGNALS:
            app.router.add_post(f"/v1/{signal}", functools.partial(self._export, signal))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _body(self, request: web.Request) -> bytes:
        self.requests.append((request.path, dict(request.headers)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        body = await request.read()
        encoding = request.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        return body

    async def _export(self, signal: str, request: web.Request) -> web.Response:
        request_type, response_type, resources, scopes, items = _SIGNALS[signal]
        message = request_type.FromString(await self._body(request))
        found = []
        for rs in getattr(message, resources):
            resource = attrs(rs.resource.attributes)
            for ss in getattr(rs, scopes):
                for item in getattr(ss, items):
                    found.append(Received(item, resource, ss.scope.name, ss.scope.version))
        self._add(signal, found)
        return _reply(response_type())

    def _add(self, signal: str, found: list[Received]) -> None:
        with self._cond:
            self._items[signal].extend(found)
            self._cond.notify_all()

    def items(self, signal: str) -> list[Received]:
        """Everything received so far for `signal` ("traces", "metrics", "logs")."""
        with self._cond:
            return list(self._items[signal])

    def spans(self) -> list[Received]:
        return self.items("traces")

    def wait_for(
        self,
        signal: str,
        ready: Callable[[list[Received]], bool],
        timeout_s: float = 10.0,
    ) -> list[Received]:
        """Block until `ready(items)` holds (returns the items) or fail after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not ready(self._items[signal]):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out waiting for {signal}; received {len(self._items[signal])}"
                    )
                self._cond.wait(remaining)
            return list(self._items[signal])

    def wait_for_spans(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """Block until at least `count` spans arrived."""
        return self.wait_for("traces", lambda items: len(items) >= count, timeout_s)


def _reply(message: Any) -> web.Response:
    return web.Response(body=message.SerializeToString(), content_type=PROTOBUF)


def by_name(spans: list[Received]) -> dict[str, Received]:
    """Spans keyed by name (names must be unique in the list)."""
    out = {s.name: s for s in spans}
    assert len(out) == len(spans), [s.name for s in spans]
    return out


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A started OTLP/HTTP receiver on a free port, stopped after the test."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
