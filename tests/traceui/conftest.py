"""Fixtures for the trace UI tests: the OTLP receiver and an app with traced, failing and
key-value components built from source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fixtures_components import run_own_build
from tests.support.otlp_receiver import otlp_receiver  # noqa: F401  (fixture: a real OTLP/HTTP receiver)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def otel_demo_wasm() -> Path:
    """components/otel-demo built by its own build script (cached by source hash)."""
    run_own_build("otel-demo")
    return REPO / "components" / "otel-demo" / "build" / "otel-demo.wasm"


@pytest.fixture
def traced_app(
    tmp_path: Path, built_component: Callable[[str], Path], otel_demo_wasm: Path
) -> Path:
    """A manifest with otel-demo under /demo/..., misbehave under /mis/... and kv-counter at
    /counter (store `default`)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "spin.toml").write_text(
        f"""spin_manifest_version = 2
[application]
name = "traced"

[[trigger.http]]
route = "/demo/..."
component = "demo"

[[trigger.http]]
route = "/mis/..."
component = "mis"

[[trigger.http]]
route = "/counter"
component = "counter"

[component.demo]
source = "{otel_demo_wasm}"

[component.mis]
source = "{built_component("misbehave")}"

[component.counter]
source = "{built_component("kv-counter")}"
key_value_stores = ["default"]
"""
    )
    return app / "spin.toml"
