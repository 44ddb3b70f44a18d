"""The loader on the real test components (componentize-py and component text), with the full
linker: every import of a Spin Python SDK component (wasi 0.2.0, fermyon:spin, spin:*,
wasi:keyvalue, wasi:config) must be defined, and the handler export detected."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from spin_py.host.context import RuntimeSettings
from spin_py.runtime.compile_cache import default_cache_dir
from spin_py.runtime.engine import get_engine
from spin_py.runtime.loader import load_components
from tests.support.models import make_app


@pytest.mark.parametrize("name", ["hello", "hello-proxy", "echo", "misbehave", "tiny"])
def test_real_component_loads_with_the_full_linker(
    name: str, built_component: Callable[[str], Path], tmp_path: Path
) -> None:
    source = built_component(name)
    app = make_app(tmp_path, {name: str(source)})
    settings = RuntimeSettings(state_dir=tmp_path / ".spin")
    lines: list[str] = []
    loaded = load_components(
        app, settings, get_engine(), default_cache_dir(os.environ), report=lines.append
    )[name]
    assert loaded.handler_export == "wasi:http/incoming-handler@0.2.0"
    assert loaded.source == source
