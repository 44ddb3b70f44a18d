"""`spin-py cache info` and `spin-py cache clear`: what spin-py keeps in its cache directory.

The cache root (`compile_cache.default_cache_root`) holds:

- `compiled/`: compiled components (`<key>.cwasm`), capped in size, least recently used removed
  first (`spin_py.runtime.compile_cache`);
- `sources/`: downloaded remote component sources (`<sha256>.wasm`,
  `spin_py.runtime.remote_sources`), kept so apps start offline;
- anything else belongs to other tools sharing the directory (spin-py's repository keeps its
  example component builds there): reported as "other", removed only by `clear(everything=True)`.

Clearing while servers run is safe: a running server has its components in memory, and a file
being read stays readable after it is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from spin_py.runtime.compile_cache import ARTIFACT_SUFFIX
from spin_py.runtime.remote_sources import SOURCES_DIR

COMPILED_DIR = "compiled"


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
