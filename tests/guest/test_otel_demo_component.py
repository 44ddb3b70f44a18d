"""The otel-demo component builds (Spin SDK + opentelemetry_wasi) and imports wasi:otel.

Builds through the same script the manifest's build command runs (cached by input hash, so
only the first run pays the ~25 s componentize-py build), then compiles the component through
spin-py's compile cache and reads its imports and exports from wasmtime.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wasmtime.component import Component

from spin_py.runtime.compile_cache import CompileCache, default_cache_dir
from spin_py.runtime.engine import get_engine
from tests.support.fixtures_components import run_own_build


@pytest.fixture(scope="module")
def otel_demo(tmp_path_factory: pytest.TempPathFactory) -> Component:
    """The built otel-demo component, compiled."""
    out = tmp_path_factory.mktemp("otel-demo") / "otel-demo.wasm"
    result = run_own_build("otel-demo", "--out", str(out), timeout=300)
    assert result.path == out
    cache = CompileCache(get_engine(), default_cache_dir(os.environ), report=lambda _: None)
    return cache.load(out, "otel-demo")


def test_imports_wasi_otel_tracing_and_types(otel_demo: Component) -> None:
    imports = otel_demo.type.imports(get_engine())
    assert "wasi:otel/tracing@0.2.0-rc.2" in imports
    assert "wasi:otel/types@0.2.0-rc.2" in imports
    assert "wasi:clocks/wall-clock@0.2.0" in imports
    assert "wasi:http/types@0.2.0" in imports


def test_exports_the_spin_http_handler(otel_demo: Component) -> None:
    exports = otel_demo.type.exports(get_engine())
    assert "wasi:http/incoming-handler@0.2.0" in exports


def test_a_second_build_is_a_cache_hit(tmp_path: Path) -> None:
    out = tmp_path / "again.wasm"
    result = run_own_build("otel-demo", "--out", str(out), timeout=300)
    assert result.status == "cached" and out.stat().st_size > 1_000_000
