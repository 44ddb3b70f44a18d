"""`setup`: a ready `TracerProvider` for a component, in one call.

Builds the `Resource` directly: ``Resource.create()`` runs resource detectors on a thread pool,
and threads cannot start in a WASI component. Spans go to `WasiSpanProcessor` (no batching, no
threads); ids come from `WasiIdGenerator`. Note that the host exports guest spans under its own
resource: ``service_name`` names the guest's resource for the guest's own use.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.util.types import AttributeValue

from opentelemetry_wasi._bindings import Bindings
from opentelemetry_wasi.ids import WasiIdGenerator
from opentelemetry_wasi.processor import WasiSpanProcessor


def setup(
    service_name: str = "wasm-component",
    *,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    sampler: Sampler | None = None,
    set_global: bool = True,
    bindings: Bindings | None = None,
) -> TracerProvider:
    """A `TracerProvider` that reports every span to the host through wasi:otel.

    With ``set_global`` (the default) it also becomes the global provider, so
    ``opentelemetry.trace.get_tracer(...)`` anywhere in the component uses it. ``sampler``
    defaults to the SDK's (parent-based, always on), so the host's sampling decision holds.
    """
    resource = Resource({**(resource_attributes or {}), SERVICE_NAME: service_name})
    provider = TracerProvider(
        resource=resource,
        sampler=sampler,
        id_generator=WasiIdGenerator(),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(WasiSpanProcessor(bindings))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider
