"""`spin-py cache info|clear|warm`: what spin-py keeps in its cache directory.

The cache root (`compile_cache.default_cache_root`) holds:

- `compiled/`: compiled components (`<key>.cwasm`), capped in size, least recently used removed
  first (`spin_py.runtime.compile_cache`);
- `sources/`: downloaded remote component sources (`<sha256>.wasm`,
  `spin_py.runtime.remote_sources`), kept so apps start offline;
- anything else belongs to other tools sharing the directory (spin-py's repository keeps its
  example component builds there): reported as "other", removed only by `clear(everything=True)`.

Clearing while servers run is safe: a running server has its components in memory, and a file
being read stays readable after it is removed.

`warm` fills the cache for one app ahead of time (remote sources downloaded, components compiled)
so that `spin-py up` starts without compiling: a container image runs it at build time. It only
compiles; it opens no platform backend (a Redis store need not be reachable then).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from spin_py.errors import ComponentLoadError
from spin_py.manifest.model import App
from spin_py.runtime.compile_cache import (
    ARTIFACT_SUFFIX,
    COMPILED_DIR,
    CompileCache,
    Report,
    cache_key,
    is_text_source,
)
from spin_py.runtime.loader import check_source, trigger_component_ids
from spin_py.runtime.remote_sources import SOURCES_DIR, resolve_remote_sources


@dataclass(frozen=True)
class Usage:
    """One part of the cache: how many files, how many bytes, where."""

    name: str
    path: Path
    files: int
    bytes: int


def usage(root: Path) -> list[Usage]:
    """Compiled components, downloaded sources and other files under `root`."""
    compiled = root / COMPILED_DIR
    sources = root / SOURCES_DIR
    parts = [
        _measure("compiled components", compiled, f"*{ARTIFACT_SUFFIX}"),
        _measure("downloaded sources", sources, "*.wasm"),
    ]
    other_files = other_bytes = 0
    if root.is_dir():
        for child in root.iterdir():
            if child in (compiled, sources):
                continue
            files, size = _tree_size(child)
            other_files += files
            other_bytes += size
    parts.append(Usage("other", root, other_files, other_bytes))
    return parts


def clear(root: Path, *, everything: bool = False) -> list[Usage]:
    """Remove the compiled components and downloaded sources (with `everything`, the whole
    directory); returns what was there."""
    before = usage(root)
    if everything:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(root)
        return before
    for directory, pattern in (
        (root / COMPILED_DIR, f"*{ARTIFACT_SUFFIX}"),
        (root / SOURCES_DIR, "*.wasm"),
    ):
        for path in [*directory.glob(pattern), *directory.glob(".*.tmp")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return before[:2]


def _measure(name: str, directory: Path, pattern: str) -> Usage:
    files = size = 0
    for path in directory.glob(pattern):
        with contextlib.suppress(OSError):
            size += path.stat().st_size
            files += 1
    return Usage(name, directory, files, size)


def _tree_size(path: Path) -> tuple[int, int]:
    if not path.is_dir() or path.is_symlink():
        with contextlib.suppress(OSError):
            return 1, path.lstat().st_size
        return 0, 0
    files = size = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
    return files, size


@dataclass(frozen=True)
class Warmed:
    """What `warm` did for one component."""

    component_id: str
    status: str
    """`compiled` (now in the cache), `cached` (it was already) or `text` (component text is
    compiled at load and never cached)."""
    seconds: float


def warm(
    app: App,
    root: Path,
    engine: wasmtime.Engine,
    *,
    max_bytes: int | None,
    report: Report,
) -> list[Warmed]:
    """Download `app`'s remote sources and compile its components into the cache at `root`."""
    app = resolve_remote_sources(app, root, report)
    cache = CompileCache(engine, root / COMPILED_DIR, report, max_bytes=max_bytes)
    done: list[Warmed] = []
    for cid in trigger_component_ids(app):
        spec = app.components[cid]
        assert isinstance(spec.source, str)  # remote sources were resolved above
        path = Path(spec.source)
        path = path if path.is_absolute() else app.base_dir / path
        check_source(cid, spec, path)
        started = time.monotonic()
        data = path.read_bytes()
        if is_text_source(path, data[:4]):
            done.append(Warmed(cid, "text", 0.0))
            continue
        hit = (root / COMPILED_DIR / f"{cache_key(data)}{ARTIFACT_SUFFIX}").is_file()
        try:
            cache.load(path, cid)
        except wasmtime.WasmtimeError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ComponentLoadError(
                f'component "{cid}": {path} is not a valid component: {first}'
            ) from err
        done.append(Warmed(cid, "cached" if hit else "compiled", time.monotonic() - started))
    return done
