"""The resource every span, metric and log record of this process is exported with.

`service.name` comes from `OTEL_SERVICE_NAME`, then `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
else `spin-py`; `service.version` is spin-py's version; `spin.app.name` is the app's name.

`service.instance.id` tells apart the processes that export as one service: several nodes
behind a load balancer, and the worker processes of one node, each build their own resource
(every serving process calls `configure`), so each gets a random UUID (version 4, as the
OpenTelemetry resource conventions recommend) unless `OTEL_RESOURCE_ATTRIBUTES` sets one;
`process.pid` is the serving process's id. The resource is built directly (not with
`Resource.create()`, which reads `os.environ` and runs detectors).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.version import __version__ as sdk_version

from spin_py.telemetry import env as envvars
from spin_py.telemetry.semconv import (
    PROCESS_PID,
    SERVICE_INSTANCE_ID,
    SERVICE_NAME,
    SERVICE_VERSION,
    SPIN_APP_NAME,
    TELEMETRY_SDK_LANGUAGE,
    TELEMETRY_SDK_NAME,
    TELEMETRY_SDK_VERSION,
)

DEFAULT_SERVICE_NAME = "spin-py"


def build_resource(env: Mapping[str, str], *, app_name: str, version: str) -> Resource:
    """The host resource for `app_name`, from the standard variables in `env`."""
    attributes: dict[str, str] = {
        TELEMETRY_SDK_NAME: "opentelemetry",
        TELEMETRY_SDK_LANGUAGE: "python",
        TELEMETRY_SDK_VERSION: sdk_version,
    }
    raw = env.get(envvars.OTEL_RESOURCE_ATTRIBUTES, "")
    attributes.update(envvars.parse_key_values(raw, envvars.OTEL_RESOURCE_ATTRIBUTES))
    service_name = env.get(envvars.OTEL_SERVICE_NAME, "").strip()
    if service_name:
        attributes[SERVICE_NAME] = service_name
    attributes.setdefault(SERVICE_NAME, DEFAULT_SERVICE_NAME)
    attributes[SERVICE_VERSION] = version
    attributes[SPIN_APP_NAME] = app_name
    attributes.setdefault(SERVICE_INSTANCE_ID, str(uuid.uuid4()))
    return Resource({**attributes, PROCESS_PID: os.getpid()})
