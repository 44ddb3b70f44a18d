"""What the wasi:otel host modules share: the interface version and the stats lookup."""

from __future__ import annotations

from spin_py.telemetry.health import TelemetryStats
from spin_py.telemetry.scope import bound_state, fallback_telemetry, telemetry_of
from spin_py.telemetry.setup import Telemetry

OTEL_VERSION = "0.2.0-rc.2"
"""The wasi:otel version every shipping guest imports."""


def telemetry_now() -> Telemetry:
    """The Telemetry serving the request bound in this thread (else the export-off fallback)."""
    state = bound_state()
    return telemetry_of(state) if state is not None else fallback_telemetry()


def stats_now() -> TelemetryStats:
    """The stats of `telemetry_now()`."""
    return telemetry_now().stats
