"""Fixtures for the wasi:otel host tests: the OTLP receiver, request states, telemetry with the
SDK's in-memory span exporter (all from `tests.support`)."""

from tests.support.otlp_receiver import otlp_receiver  # noqa: F401
from tests.support.telemetry_fixtures import make_state, memory, telemetry  # noqa: F401
