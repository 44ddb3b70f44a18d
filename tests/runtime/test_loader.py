"""Loading components at startup: export detection, clear failures, link checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime
from wasmtime.component import Linker

from spin_py.errors import ComponentLoadError
from spin_py.host.context import RuntimeSettings
from spin_py.manifest.model import App, Component, HttpTrigger, RemoteSource
from spin_py.runtime.composition import build_linker
from spin_py.runtime.engine import get_engine
from spin_py.runtime.loader import LoadedComponent, load_components, trigger_component_ids
from tests.support.models import make_app
from tests.support.runtime_harness import IO_MODULES, io_imports_wat, simple_handler_wat


@pytest.fixture(scope="module")
def linker() -> Linker:
    return build_linker(get_engine(), IO_MODULES)


def load(
    tmp: Path, linker: Linker, sources: dict[str, str], **kw: object
) -> dict[str, LoadedComponent]:
    app = make_app(tmp, sources)
    return load_components(
        app, RuntimeSettings(state_dir=tmp / ".spin"), get_engine(), None, linker=linker, **kw
    )


def write(tmp: Path, name: str, text: str) -> str:
    (tmp / name).write_text(text)
    return name


def test_loads_a_handler_and_records_the_exact_export(tmp_path: Path, linker: Linker) -> None:
    old = simple_handler_wat("")
    newer = old.replace("incoming-handler@0.2.0", "incoming-handler@0.2.3")
    loaded = load(
        tmp_path,
        linker,
        {"old": write(tmp_path, "old.wat", old), "newer": write(tmp_path, "newer.wat", newer)},
    )
    assert loaded["old"].handler_export == "wasi:http/incoming-handler@0.2.0"
    assert loaded["newer"].handler_export == "wasi:http/incoming-handler@0.2.3"
    assert loaded["old"].context.id == "old" and loaded["old"].id == "old"
    assert loaded["old"].source == tmp_path / "old.wat"


def test_no_handler_export_names_what_it_exports(tmp_path: Path, linker: Linker) -> None:
    text = """
(component
  (core module $m (func (export "run")))
  (core instance $i (instantiate $m))
  (func $run (canon lift (core func $i "run")))
  (export "run" (func $run)))"""
    with pytest.raises(ComponentLoadError) as err:
        load(tmp_path, linker, {"cli-app": write(tmp_path, "c.wat", text)})
    message = str(err.value)
    assert 'component "cli-app" does not export a supported handler' in message
    assert "wasi:http/incoming-handler@0.2.x" in message and "`run`" in message


def test_core_module_is_refused_clearly(tmp_path: Path, linker: Linker) -> None:
    (tmp_path / "core.wasm").write_bytes(wasmtime.wat2wasm("(module)"))
    with pytest.raises(ComponentLoadError, match="core WebAssembly module, not a component"):
        load(tmp_path, linker, {"core": "core.wasm"})


def test_missing_file_names_component_and_path(tmp_path: Path, linker: Linker) -> None:
    with pytest.raises(ComponentLoadError) as err:
        load(tmp_path, linker, {"gone": "nowhere/gone.wasm"})
    assert 'component "gone"' in str(err.value) and "nowhere/gone.wasm" in str(err.value)


def test_invalid_wasm_is_a_load_error(tmp_path: Path, linker: Linker) -> None:
    (tmp_path / "bad.wasm").write_bytes(b"\0asm\x0d\x00\x01\x00garbage")
    with pytest.raises(ComponentLoadError, match=r'component "bad": .* is not a valid component'):
        load(tmp_path, linker, {"bad": "bad.wasm"})


def test_remote_source_is_not_supported_yet(tmp_path: Path, linker: Linker) -> None:
    component = Component(
        id="remote", source=RemoteSource("https://example.com/x.wasm", "sha256:0")
    )
    app = App(
        manifest_path=tmp_path / "spin.toml",
        name="a",
        triggers=(HttpTrigger(id="t", route="/", component="remote"),),
        components={"remote": component},
    )
    with pytest.raises(ComponentLoadError, match="remote sources are not supported yet"):
        load_components(app, RuntimeSettings(state_dir=tmp_path), get_engine(), None, linker=linker)


def test_missing_import_fails_at_startup_naming_it(tmp_path: Path, linker: Linker) -> None:
    text = simple_handler_wat("").replace(
        "(component",
        '(component (import "acme:nothing/here@1.0.0" (instance (export "f" (func))))',
        1,
    )
    with pytest.raises(ComponentLoadError) as err:
        load(tmp_path, linker, {"needy": write(tmp_path, "n.wat", text)})
    assert 'component "needy" cannot be instantiated' in str(err.value)
    assert "acme:nothing/here@1.0.0" in str(err.value)


def test_initial_memory_above_the_cap_fails_at_startup(tmp_path: Path, linker: Linker) -> None:
    source = write(tmp_path, "big.wat", simple_handler_wat("", memory_pages=40))
    with pytest.raises(ComponentLoadError, match='component "big" cannot be instantiated'):
        load(tmp_path, linker, {"big": source}, max_instance_memory=1024 * 1024)
    assert load(tmp_path, linker, {"big": source}, max_instance_memory=4 * 1024 * 1024)


def test_only_components_used_by_triggers_are_loaded(tmp_path: Path, linker: Linker) -> None:
    used = Component(id="used", source=write(tmp_path, "u.wat", simple_handler_wat("")))
    unused = Component(id="unused", source="does-not-exist.wasm")
    app = App(
        manifest_path=tmp_path / "spin.toml",
        name="a",
        triggers=(
            HttpTrigger(id="t1", route="/a", component="used"),
            HttpTrigger(id="t2", route="/b", component="used"),
            HttpTrigger(id="s", route="/s", static_response=None),
        ),
        components={"used": used, "unused": unused},
    )
    assert trigger_component_ids(app) == ["used"]
    settings = RuntimeSettings(state_dir=tmp_path)
    assert list(load_components(app, settings, get_engine(), None, linker=linker)) == ["used"]
    assert load_components(app, settings, get_engine(), None, linker=linker, only=()) == {}


@pytest.mark.parametrize("version", ["0.2.0", "0.2.3", "0.2.6"])
def test_every_io_clocks_random_import_of_any_0_2_version_links(
    tmp_path: Path, linker: Linker, version: str
) -> None:
    imports = io_imports_wat(version).rstrip().removesuffix(")")
    handler = simple_handler_wat("").strip().removeprefix("(component")
    text = imports + handler
    loaded = load(tmp_path, linker, {"all-io": write(tmp_path, "io.wat", text)})
    assert loaded["all-io"].handler_export == "wasi:http/incoming-handler@0.2.0"
