"""components/build.py: cached builds of the test components, and what they produce.

The echo build is real (componentize-py, through the normal cache, so only a machine's first run
pays for it); the cache-key tests run the script's own hashing on a scratch copy of the sources.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import wasmtime
from wasmtime.component import Component

from tests.support.fixtures_components import BUILD_SCRIPT, REPO, run_build

HANDLER = "wasi:http/incoming-handler@0.2.0"


def load_build_module(script: Path) -> ModuleType:
    """Import a copy of components/build.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(f"build_{abs(hash(script))}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def cached_path(module: ModuleType, name: str) -> Path:
    """Where the build script keeps component ``name`` in its cache."""
    digest: str = module.input_hash(name, module.RECIPES[name])
    root: Path = module.cache_root()
    return root / f"{name}-{digest[:16]}.wasm"


def test_second_echo_build_is_a_cache_hit() -> None:
    first = run_build("echo")
    cached = cached_path(load_build_module(BUILD_SCRIPT), "echo")
    stamp = cached.stat().st_mtime_ns

    second = run_build("echo")

    assert first.status in {"built", "cached"}
    assert second.status == "cached"
    assert "echo: cached" in second.stderr
    assert cached.stat().st_mtime_ns == stamp  # the cached output was not rewritten
    assert second.path == REPO / "components" / "echo" / "build" / "echo.wasm"
    assert second.path.read_bytes() == cached.read_bytes()


def test_built_echo_is_a_plain_proxy_component(built_component: Callable[[str], Path]) -> None:
    config = wasmtime.Config()
    config.cranelift_opt_level = "none"  # about half the compile time of a 36 MB component
    engine = wasmtime.Engine(config)
    component = Component.from_file(engine, str(built_component("echo")))

    imports = set(component.type.imports(engine))
    assert HANDLER in component.type.exports(engine)
    assert "wasi:http/types@0.2.0" in imports
    # spin-sdk stayed off the build's Python path: no Spin interfaces were pulled in
    assert not [name for name in imports if name.startswith(("fermyon:", "spin:", "wasi:config"))]


def test_tiny_is_loaded_from_its_text_source() -> None:
    result = run_build("tiny")
    assert result.status == "source"
    assert result.path == REPO / "components" / "tiny" / "tiny.wat"

    engine = wasmtime.Engine()
    component = Component(engine, result.path.read_text())

    assert set(component.type.imports(engine)) == {
        "wasi:io/error@0.2.0",
        "wasi:io/streams@0.2.0",
        "wasi:http/types@0.2.0",
    }
    assert set(component.type.exports(engine)) == {HANDLER}


def test_a_cache_hit_copies_the_cached_file_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIN_PY_CACHE_DIR", str(tmp_path / "cache"))
    planted = cached_path(load_build_module(BUILD_SCRIPT), "misbehave")
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"planted in the cache")
    out = tmp_path / "out" / "m.wasm"

    result = run_build("misbehave", "--out", str(out))

    assert planted.is_relative_to(tmp_path / "cache")
    assert result.status == "cached"
    assert result.path == out
    assert out.read_bytes() == b"planted in the cache"


def test_cache_key_changes_with_sources_and_wit(tmp_path: Path) -> None:
    copy = tmp_path / "components"
    shutil.copytree(
        BUILD_SCRIPT.parent, copy, ignore=shutil.ignore_patterns("build", "__pycache__")
    )
    module = load_build_module(copy / "build.py")
    echo = module.RECIPES["echo"]
    original = module.input_hash("echo", echo)

    app = copy / "echo" / "app.py"
    app.write_text(app.read_text() + "\n# changed\n")
    after_app_edit = module.input_hash("echo", echo)
    world = copy / "wit" / "world.wit"
    world.write_text(world.read_text() + "\n// changed\n")
    after_wit_edit = module.input_hash("echo", echo)

    assert len({original, after_app_edit, after_wit_edit}) == 3
    assert module.input_hash("hello", module.RECIPES["hello"]) != original
    # hello (Spin SDK) does not use the shared proxy helper or components/wit
    hello_before = module.input_hash("hello", module.RECIPES["hello"])
    (copy / "shared" / "proxy_io.py").write_text("# changed\n")
    assert module.input_hash("hello", module.RECIPES["hello"]) == hello_before
    assert module.input_hash("echo", echo) != after_wit_edit


def test_unknown_component_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "no-such-component"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "no-such-component" in result.stderr


def test_a_long_build_step_says_it_is_still_going(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_build_module(BUILD_SCRIPT)
    monkeypatch.setattr(module, "TICK_SECONDS", 0.05)
    with module._ticking("hello: componentize-py is building"):
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3)"], check=True)
    ticks = capsys.readouterr().err.splitlines()
    assert len(ticks) >= 3
    assert all(t.startswith("hello: componentize-py is building... ") for t in ticks)
    assert ticks[-1].endswith("s")


def test_only_the_newest_builds_of_a_component_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPIN_PY_CACHE_DIR", str(tmp_path))
    module = load_build_module(BUILD_SCRIPT)
    cache = module.cache_root()
    cache.mkdir(parents=True)
    builds = []
    for i in range(5):
        path = cache / f"hello-{i:016x}.wasm"
        path.write_bytes(b"x")
        os.utime(path, (1000 + i, 1000 + i))
        builds.append(path)
    other = cache / "echo-0000000000000000.wasm"
    other.write_bytes(b"y")
    module.prune("hello", keep=builds[0])  # the one just built is never removed
    kept = {p.name for p in cache.iterdir()}
    assert kept == {builds[0].name, *(b.name for b in builds[2:]), other.name}
