"""Fixtures for the guest-side tests: the opentelemetry_wasi library and real wasi:otel bindings.

The library lives in ``guest/python`` (its own distribution, not installed in the project venv),
so it is put on ``sys.path`` here. `otel_bindings` generates the wasi:otel bindings with
``componentize-py bindings`` from the same WIT and interface names a component build uses, so the
conversion code is exercised against the real generated record classes; only the three host
functions are replaced, by a recorder.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.otlp_receiver import otlp_receiver  # noqa: F401  (fixture: a real OTLP/HTTP receiver)

REPO = Path(__file__).resolve().parents[2]
GUEST_DIR = REPO / "guest" / "python"
if str(GUEST_DIR) not in sys.path:
    sys.path.insert(0, str(GUEST_DIR))

from opentelemetry_wasi import Bindings, witdeps  # noqa: E402

WORLD_MODULE = "otel_guest_test_bindings"
COMPONENTIZE = (
    "import sys; from componentize_py import script; "
    "sys.argv[0] = 'componentize-py'; sys.exit(script())"
)


def spin_py_cache_dir() -> Path:
    """The cache directory the component builds use (downloads are shared with them)."""
    base = os.environ.get("SPIN_PY_CACHE_DIR")
    if not base:
        base = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spin-py")
    return Path(base)


@dataclass
class RecordingTracing:
    """wasi:otel/tracing with the host functions replaced: records what the guest sends."""

    module: Any
    outer: Any = None
    started: list[Any] = field(default_factory=list)
    ended: list[Any] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def on_start(self, context: Any) -> None:
        self.started.append(context)

    def on_end(self, span: Any) -> None:
        self.ended.append(span)

    def outer_span_context(self) -> Any:
        assert self.outer is not None, "test did not set the host's span context"
        return self.outer


@pytest.fixture(scope="session")
def generated_bindings(tmp_path_factory: pytest.TempPathFactory) -> Bindings:
    """The real generated binding modules (host functions still the generated stubs)."""
    root = tmp_path_factory.mktemp("otel-bindings")
    wit_dir = root / "wit"
    wit_dir.mkdir()
    (wit_dir / "world.wit").write_bytes((witdeps.PACKAGE_DIR / "wit" / "world.wit").read_bytes())
    wheel = witdeps.fetch_wheel(spin_py_cache_dir() / "downloads")
    witdeps.extract_deps(wheel, wit_dir / "deps")
    config = tomllib.loads((witdeps.PACKAGE_DIR / "componentize-py.toml").read_text())
    names = [
        f"--import-interface-name={k}={v}" for k, v in config["import_interface_names"].items()
    ]
    out = root / "out"
    command = [sys.executable, "-c", COMPONENTIZE, "-d", str(wit_dir), "-w", "guest", *names]
    command += ["--world-module", WORLD_MODULE, "bindings", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    sys.path.insert(0, str(out))
    imports = f"{WORLD_MODULE}.imports."
    return Bindings(
        tracing=importlib.import_module(imports + "otel_tracing"),
        types=importlib.import_module(imports + "otel_types"),
        clock=importlib.import_module(imports + "wall_clock"),
    )


@pytest.fixture
def recorder(generated_bindings: Bindings) -> RecordingTracing:
    """A fresh recorder over the generated wasi:otel/tracing module."""
    return RecordingTracing(generated_bindings.tracing)


@pytest.fixture
def bindings(generated_bindings: Bindings, recorder: RecordingTracing) -> Bindings:
    """Bindings whose host functions record into `recorder`."""
    return Bindings(
        tracing=recorder, types=generated_bindings.types, clock=generated_bindings.clock
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "image_build: runs docker/build-image.sh into a temporary venv (about a minute with a "
        "warm pip and component cache); deselect with -m 'not image_build'",
    )
