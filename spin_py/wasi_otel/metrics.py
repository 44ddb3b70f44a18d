"""The `wasi:otel/metrics@0.2.0-rc.2` host function `export(resource-metrics)`.

Converts the guest's pre-aggregated metrics one-to-one (`metrics_conv`) and hands them to the
host's OTLP metric exporter synchronously in the guest's worker thread (never on the event
loop), returning `err(message)` when the export fails. With metrics export off it is a no-op
returning `ok`.
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.host.linking import add_funcs
from spin_py.host.table import Store
from spin_py.wasi_otel.common import OTEL_VERSION, stats_now, telemetry_now
from spin_py.wasi_otel.guard import Issues, guarded
from spin_py.wasi_otel.metrics_conv import convert

INTERFACE = f"wasi:otel/metrics@{OTEL_VERSION}"

EXPORT_RESULT = wit.result(err=wit.STR)
"""`result<_, error>` where `error = string`."""

_INTERNAL_ERROR = "spin-py could not convert these metrics (see the host log)"


@guarded("metrics.export", lambda: EXPORT_RESULT.err(_INTERNAL_ERROR), stats_now)
def export(store: Store, metrics: Any) -> Any:
    """Export one `resource-metrics`; `ok` on success or when metrics export is off."""
    telemetry = telemetry_now()
    if telemetry.metric_exporter is None:
        return EXPORT_RESULT.ok()
    data = convert(metrics, telemetry.resource, Issues(telemetry.stats))
    error = telemetry.export_metrics(data)
    return EXPORT_RESULT.ok() if error is None else EXPORT_RESULT.err(error)


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:otel/metrics`."""
    with root.add_instance(INTERFACE) as instance:
        add_funcs(instance, {"export": export})
