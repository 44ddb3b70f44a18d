"""The `wasi:otel/logs@0.2.0-rc.2` host function `on-emit(log-record)`.

Maps the record (`log_records`) and queues it on the host's batch log processor; a no-op when
logs export is off.
"""

from __future__ import annotations

from typing import Any

from wasmtime.component import LinkerInstance

from spin_py.host.linking import add_funcs
from spin_py.host.table import Store
from spin_py.wasi_otel.common import OTEL_VERSION, stats_now, telemetry_now
from spin_py.wasi_otel.guard import Issues, guarded
from spin_py.wasi_otel.log_records import build_log_record

INTERFACE = f"wasi:otel/logs@{OTEL_VERSION}"


@guarded("logs.on-emit", lambda: None, stats_now)
def on_emit(store: Store, data: Any) -> None:
    """Queue one guest log record for export."""
    telemetry = telemetry_now()
    if telemetry.log_processor is None:
        return
    telemetry.emit_log(build_log_record(data, telemetry.resource, Issues(telemetry.stats)))


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:otel/logs`."""
    with root.add_instance(INTERFACE) as instance:
        add_funcs(instance, {"on-emit": on_emit})
