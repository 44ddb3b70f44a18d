"""The host side of `wasi:otel@0.2.0-rc.2`: tracing, metrics and logs.

`add_to_linker(root)` defines the three interfaces with functions; `wasi:otel/types` holds only
types, and wasmtime links a type-only instance import without a definition (checked), so nothing
is defined for it. The `wasi:clocks/wall-clock` `datetime` these interfaces use is likewise a
type only.
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.wasi_otel import logs, metrics, tracing
from spin_py.wasi_otel.common import OTEL_VERSION

__all__ = ["OTEL_VERSION", "add_to_linker"]


def add_to_linker(root: LinkerInstance) -> None:
    """Define `wasi:otel/tracing`, `wasi:otel/metrics` and `wasi:otel/logs`."""
    tracing.add_to_linker(root)
    metrics.add_to_linker(root)
    logs.add_to_linker(root)
