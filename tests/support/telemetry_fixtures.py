"""Fixtures for the host-side telemetry and wasi:otel tests: request states, telemetry with the
SDK's in-memory span exporter (the folders' conftest.py files import them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spin_py.host.state import RequestState
from spin_py.manifest.model import Component
from spin_py.telemetry import Telemetry, configure
from tests.support.models import make_context

COMPONENT_ID = "users-api"


@pytest.fixture
def make_state(tmp_path: Path) -> Iterator[Callable[[], RequestState]]:
    """Builds RequestStates for a one-component app (their loop is never run)."""
    loop = asyncio.new_event_loop()
    ctx = make_context(tmp_path, Component(id=COMPONENT_ID, source="users.wasm"))
    yield lambda: RequestState(component=ctx, loop=loop)
    loop.close()


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(memory: InMemorySpanExporter) -> Iterator[Telemetry]:
    """Telemetry exporting spans synchronously into `memory`."""
    tel = configure({}, app_name="demo", version="9.9.9", span_exporter=memory)
    yield tel
    tel.shutdown(1.0)
