"""Build spin-py's test components for tests, through the real ``components/build.py``.

`built_component` (session scope) is a function ``name -> Path``: it runs the build script once
per component name per session and returns the file a host should load (the ``.wasm`` under
``components/<name>/build/``, or ``components/tiny/tiny.wat`` for the text-format component).
Builds use the normal cache (``SPIN_PY_CACHE_DIR``, else ``~/.cache/spin-py``), so only the
first run on a machine pays for componentize-py (about 10 to 40 s per component).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "components" / "build.py"
BUILD_TIMEOUT = 600.0


@dataclass(frozen=True)
class BuildResult:
    """What one run of ``components/build.py`` reported."""

    status: str  # "built" (cache miss), "cached" (hit) or "source" (text component)
    path: Path
    stderr: str


def run_build(name: str, *args: str, env: dict[str, str] | None = None) -> BuildResult:
    """Run ``components/build.py <name> [args]`` with this interpreter; parse its report."""
    return _run_script(name, [str(BUILD_SCRIPT), name, *args], env=env)


def run_own_build(name: str, *args: str, timeout: float = BUILD_TIMEOUT) -> BuildResult:
    """Run ``components/<name>/build.py [args]``, the build script of a component with a recipe
    of its own (otel-demo, traced-fetch, hello-js), with this interpreter; parse its report
    (the same one line, ``<status> <path>``)."""
    script = REPO / "components" / name / "build.py"
    return _run_script(name, [str(script), *args], timeout=timeout)


def _run_script(
    name: str, argv: list[str], env: dict[str, str] | None = None, timeout: float = BUILD_TIMEOUT
) -> BuildResult:
    result = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building {name} failed ({result.returncode}):\n{result.stderr}")
    status, _, path = result.stdout.strip().splitlines()[-1].partition(" ")
    return BuildResult(status=status, path=Path(path), stderr=result.stderr)


@pytest.fixture(scope="session")
def built_component() -> Callable[[str], Path]:
    """A function that builds a test component (once per session) and returns its path."""
    paths: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in paths:
            paths[name] = run_build(name).path
        return paths[name]

    return build
