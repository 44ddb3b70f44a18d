"""Loading an app's components at startup: compile (through the cache), detect, link-check.

Everything that can fail about a component fails here, once, with a `ComponentLoadError` that
names the component: a missing or unreadable source, a remote source, a core module, a WASIp3
(component-model async) component, invalid wasm, no supported handler export, an import nothing
defines, an initial memory above `--max-instance-memory`. Requests then only instantiate.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime.component import Component, ComponentInstanceType, ExportIndex, FuncType, Linker

from spin_py.errors import ComponentLoadError
from spin_py.host.context import ComponentContext, RuntimeSettings
from spin_py.manifest.input_files import MAX_COMPONENT_BYTES, InputFileError, check_input
from spin_py.manifest.model import App, RemoteSource
from spin_py.manifest.model import Component as ManifestComponent
from spin_py.runtime.compile_cache import (
    DEFAULT_MAX_BYTES,
    CompileCache,
    Report,
    is_cached,
    report_to_stderr,
)
from spin_py.runtime.composition import shared_linker
from spin_py.runtime.engine import NO_DEADLINE_TICKS
from spin_py.runtime.store_limits import apply_store_limits

HANDLER_INTERFACE = "wasi:http/incoming-handler"
HANDLER_FUNC = "handle"
_HANDLER_EXPORT = re.compile(r"^wasi:http/incoming-handler@0\.2\.\d+$")
_CORE_MODULE_VERSION = b"\x01\x00\x00\x00"
_ASYNC_FEATURE = re.compile(r"requires? the component model (async|error-context) feature")
_WASIP3_HANDLER = b"wasi:http/handler@0.3"
WASIP3_ADVICE = (
    "spin-py hosts `wasi:http@0.2.x` components: build this one for `wasi:http@0.2.x` "
    "(for Python: the Spin SDK 3.x, `spin-sdk==3.4.1`, with componentize-py 0.17.x)"
)
"""What to do about a WASIp3 (`wasi:http@0.3`) component
(docs/compatibility.md#wasip3-and-component-model-async)."""
_SNIFF_BYTES = 512
SUPPORTED_TOOLCHAINS = (
    "spin-py runs wasi:http 0.2 components: the Spin Python SDK 3.x built with componentize-py "
    "0.17.x (the `http-py-p2` template), the Spin JS SDK 1.x, or any `wasi:http@0.2.x` "
    "component; spin-sdk 4.x/5.x build WASIp3 components, which spin-py cannot run "
    "(docs/compatibility.md)"
)
"""Appended to load errors that a component built with another toolchain would cause."""


@dataclass(frozen=True, eq=False)
class LoadedComponent:
    """A compiled, link-checked component, ready to instantiate per request."""

    id: str
    component: Component
    context: ComponentContext
    handler_export: str
    """The exact export name of the handler interface, e.g. `wasi:http/incoming-handler@0.2.0`."""
    handle_index: ExportIndex
    """Export index of the handler's `handle` function (valid for every instance)."""
    source: Path


def trigger_component_ids(app: App) -> list[str]:
    """Ids of the components the app's triggers use, in trigger order, without repeats."""
    ids: list[str] = []
    for trigger in app.triggers:
        if trigger.component is not None and trigger.component not in ids:
            ids.append(trigger.component)
    return ids


def load_components(
    app: App,
    settings: RuntimeSettings,
    engine: wasmtime.Engine,
    cache_dir: Path | None,
    *,
    linker: Linker | None = None,
    only: Collection[str] | None = None,
    max_instance_memory: int | None = None,
    report: Report = report_to_stderr,
    cache_max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> dict[str, LoadedComponent]:
    """Load every component a trigger uses (or those in `only`), keyed by id.

    `linker` defaults to the process's shared linker; `cache_dir=None` disables the compile
    cache, `cache_max_bytes` is its size cap. Raises `ComponentLoadError` for the first
    component that cannot run.
    """
    linker = linker if linker is not None else shared_linker(engine)
    cache = CompileCache(engine, cache_dir, report, max_bytes=cache_max_bytes)
    loaded: dict[str, LoadedComponent] = {}
    for component_id in trigger_component_ids(app):
        if only is not None and component_id not in only:
            continue
        loaded[component_id] = load_component(
            app, component_id, settings, engine, cache, linker, max_instance_memory
        )
    return loaded


def all_cached(app: App, cache_dir: Path, only: Collection[str] | None = None) -> bool:
    """Whether every component `load_components` would load is already compiled in
    `cache_dir` (remote sources count as not cached). Creates no Engine: safe before forking."""
    for component_id in trigger_component_ids(app):
        if only is not None and component_id not in only:
            continue
        source = app.components[component_id].source
        if isinstance(source, RemoteSource):
            return False
        path = Path(source)
        if not is_cached(path if path.is_absolute() else app.base_dir / path, cache_dir):
            return False
    return True


def load_component(
    app: App,
    component_id: str,
    settings: RuntimeSettings,
    engine: wasmtime.Engine,
    cache: CompileCache,
    linker: Linker,
    max_instance_memory: int | None = None,
) -> LoadedComponent:
    """Compile, detect and link-check one component of `app`."""
    spec = app.components[component_id]
    path = _source_path(app, component_id, spec.source)
    check_source(component_id, spec, path)
    check_file_mounts(app, spec)
    component = _compile(cache, component_id, path)
    export = detect_handler(engine, component, component_id)
    index = _handle_index(component, export, component_id)
    check_links(engine, linker, component, component_id, max_instance_memory)
    context = ComponentContext(app=app, component=spec, settings=settings)
    return LoadedComponent(component_id, component, context, export, index, path)


def _source_path(app: App, component_id: str, source: str | RemoteSource) -> Path:
    if isinstance(source, RemoteSource):
        raise ComponentLoadError(
            f'component "{component_id}": remote sources are not supported yet '
            f"(source url {source.url}); download the file and use a local path"
        )
    path = Path(source)
    return path if path.is_absolute() else app.base_dir / path


def check_source(component_id: str, spec: ManifestComponent, path: Path) -> None:
    """A missing source (with a hint to build it when the component has a build command) or a
    file that is neither a binary component nor component text is a `ComponentLoadError`."""
    try:
        check_input(path, MAX_COMPONENT_BYTES)  # not a FIFO, a device, nor too large
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except FileNotFoundError as err:
        hint = ""
        if spec.build is not None:
            hint = (
                "; it has a build command: run `spin-py build` first (or `spin-py up --build`, "
                "or `spin-py watch`, which build before serving)"
            )
        raise ComponentLoadError(
            f'component "{component_id}": source {path} does not exist{hint}'
        ) from err
    except InputFileError as err:
        raise ComponentLoadError(
            f'component "{component_id}": cannot use source {path}: {err.strerror}'
        ) from err
    except OSError:
        return  # `_compile` reports it
    if head.startswith(b"\0asm") or path.suffix == ".wat" or _looks_like_wat(head):
        return
    raise ComponentLoadError(
        f'component "{component_id}": {path} is not a WebAssembly component (it starts with '
        f"{head[:8]!r}; a component starts with b'\\x00asm'): check its `source` in the "
        "manifest"
    )


def _looks_like_wat(head: bytes) -> bool:
    """Component text: UTF-8 whose first line that is not blank or a `;;` comment starts with
    `(` (all comments so far counts too: the sniffed head may end inside them)."""
    text = None
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    if not text:
        return False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(";;"):
            return stripped.startswith("(")
    return True


def check_file_mounts(app: App, spec: ManifestComponent) -> None:
    """A `files = [{ source, destination }]` mount whose source does not exist fails the load,
    as in Spin (a glob that matches nothing is not an error)."""
    for mount in spec.files:
        if mount.destination is None:
            continue
        source = app.base_dir / mount.source
        if not source.exists():
            raise ComponentLoadError(
                f'component "{spec.id}": files mount source "{mount.source}" ({source}) does '
                f'not exist (mounted at "{mount.destination}")'
            )


def _compile(cache: CompileCache, component_id: str, path: Path) -> Component:
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as err:
        raise ComponentLoadError(
            f'component "{component_id}": cannot read source {path}: {err.strerror or err}'
        ) from err
    if head[:4] == b"\0asm" and head[4:8] == _CORE_MODULE_VERSION:
        raise ComponentLoadError(
            f'component "{component_id}": {path} is a core WebAssembly module, not a '
            "component; spin-py runs components only (build a wasi:http component, e.g. with "
            "componentize-py, or convert the module with `wasm-tools component new`)"
        )
    try:
        return cache.load(path, component_id)
    except wasmtime.WasmtimeError as err:
        if _ASYNC_FEATURE.search(str(err)):
            raise ComponentLoadError(_wasip3_message(component_id, path, err)) from err
        raise ComponentLoadError(
            f'component "{component_id}": {path} is not a valid component: {_first_line(err)}'
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ComponentLoadError(
            f'component "{component_id}": cannot read source {path}: {err}'
        ) from err


def _wasip3_message(component_id: str, path: Path, err: BaseException) -> str:
    """Why a component using component-model async (WASIp3) cannot run, and what to do."""
    try:
        exports_p3 = _WASIP3_HANDLER in path.read_bytes()
    except OSError:
        exports_p3 = False
    what = "a WASIp3 (`wasi:http@0.3`) component" if exports_p3 else "a WASIp3 component"
    lines = (line.strip() for line in str(err).splitlines())
    detail = next((line for line in lines if _ASYNC_FEATURE.search(line)), "")
    detail = re.sub(r"\s*\(at offset 0x[0-9a-f]+\)$", "", detail)
    return (
        f'component "{component_id}": {path} is {what}: it uses component-model async '
        f"({detail}), which wasmtime-py, and so spin-py, cannot host. {WASIP3_ADVICE}"
    )


def detect_handler(engine: wasmtime.Engine, component: Component, component_id: str) -> str:
    """The exact name of the `wasi:http/incoming-handler@0.2.x` export with a `handle` func.

    Raises `ComponentLoadError` naming what the component exports instead.
    """
    exports = component.type.exports(engine)
    for name in sorted(exports, reverse=True):
        if not _HANDLER_EXPORT.match(name):
            continue
        ty = exports[name].ty
        if isinstance(ty, ComponentInstanceType):
            handle = ty.exports(engine).get(HANDLER_FUNC)
            if handle is not None and isinstance(handle.ty, FuncType):
                return name
    listed = ", ".join(f"`{name}`" for name in exports) or "nothing"
    raise ComponentLoadError(
        f'component "{component_id}" does not export a supported handler: expected '
        f"`{HANDLER_INTERFACE}@0.2.x` (with `{HANDLER_FUNC}`), but it exports {listed}. "
        + SUPPORTED_TOOLCHAINS
    )


def _handle_index(component: Component, export: str, component_id: str) -> ExportIndex:
    interface = component.get_export_index(export)
    func = component.get_export_index(HANDLER_FUNC, interface) if interface else None
    if func is None:
        raise ComponentLoadError(f'component "{component_id}": cannot find `{export}#handle`')
    return func


def check_links(
    engine: wasmtime.Engine,
    linker: Linker,
    component: Component,
    component_id: str,
    max_instance_memory: int | None = None,
) -> None:
    """Instantiate once in a throwaway store: a missing import fails now, naming it."""
    store = wasmtime.Store(engine)
    try:
        store.set_epoch_deadline(NO_DEADLINE_TICKS)
        apply_store_limits(store, max_instance_memory)
        linker.instantiate(store, component)
    except Exception as err:  # a WasmtimeError, or a host function trapping at start-up
        raise ComponentLoadError(
            f'component "{component_id}" cannot be instantiated: {_first_line(err)}. '
            + SUPPORTED_TOOLCHAINS
        ) from err
    finally:
        store.close()


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return "; ".join(lines[:3]) if lines else type(err).__name__
