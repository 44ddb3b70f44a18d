"""The trace sampler named by `OTEL_TRACES_SAMPLER[_ARG]`.

Default `parentbased_always_on`: the sampled flag of an incoming `traceparent` (and of a guest's
own span that a host call is a child of) is honoured. An unknown sampler name or a bad ratio logs
a warning and falls back to the default, as the OTel specification asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from spin_py.telemetry.env import OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG

log = logging.getLogger(__name__)

DEFAULT_SAMPLER = "parentbased_always_on"

_SAMPLERS: dict[str, Callable[[float], Sampler]] = {
    "always_on": lambda _r: ALWAYS_ON,
    "always_off": lambda _r: ALWAYS_OFF,
    "traceidratio": TraceIdRatioBased,
    "parentbased_always_on": lambda _r: ParentBased(ALWAYS_ON),
    "parentbased_always_off": lambda _r: ParentBased(ALWAYS_OFF),
    "parentbased_traceidratio": lambda r: ParentBased(TraceIdRatioBased(r)),
}


def sampler_from_env(env: Mapping[str, str]) -> Sampler:
    """The sampler `env` asks for (parent-based always-on unless told otherwise)."""
    name = env.get(OTEL_TRACES_SAMPLER, "").strip().lower() or DEFAULT_SAMPLER
    make = _SAMPLERS.get(name)
    if make is None:
        log.warning("unknown %s=%r; using %s", OTEL_TRACES_SAMPLER, name, DEFAULT_SAMPLER)
        make = _SAMPLERS[DEFAULT_SAMPLER]
    return make(_ratio(env))


def _ratio(env: Mapping[str, str]) -> float:
    raw = env.get(OTEL_TRACES_SAMPLER_ARG, "").strip()
    if not raw:
        return 1.0
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        log.warning("ignoring %s=%r: not a ratio between 0 and 1", OTEL_TRACES_SAMPLER_ARG, raw)
        return 1.0
    return ratio
