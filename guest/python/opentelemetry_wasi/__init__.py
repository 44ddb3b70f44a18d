"""OpenTelemetry for Python WebAssembly components, exported by the host through wasi:otel.

Inside a component built with componentize-py (``-m opentelemetry_wasi=guest``)::

    import opentelemetry_wasi
    from opentelemetry import trace

    opentelemetry_wasi.setup(service_name="my-component")
    tracer = trace.get_tracer(__name__)

    with opentelemetry_wasi.host_context(), tracer.start_as_current_span("work"):
        ...  # a child of the host's span, in the host's trace

The library runs the real opentelemetry-api and opentelemetry-sdk; spans end up in the host's
exporter, so the component needs no network access for telemetry.
"""

from opentelemetry_wasi._bindings import Bindings
from opentelemetry_wasi.context import host_context, host_span_context
from opentelemetry_wasi.ids import WasiIdGenerator
from opentelemetry_wasi.processor import WasiSpanProcessor
from opentelemetry_wasi.provider import setup

__all__ = [
    "Bindings",
    "WasiIdGenerator",
    "WasiSpanProcessor",
    "host_context",
    "host_span_context",
    "setup",
]
