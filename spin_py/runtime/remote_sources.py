"""Remote component sources: `source = { url = "...", digest = "sha256:<hex>" }`.

A remote source is downloaded once into spin-py's cache, `<cache root>/sources/<hex>.wasm`
(named by its digest, so two apps using the same component share one file), and verified
against the digest while it downloads: a mismatch is a `ComponentLoadError` showing both digests,
and nothing is cached. Later runs use the cached file without any network access (it is
re-hashed each time, which takes milliseconds, and downloaded again if it was corrupted).
Downloads go to a temporary file in the same directory renamed into place, so concurrent
`spin-py up`s are safe.

`resolve_remote_sources(app, root)` returns the app with every remote source replaced by the
cached file's path; `spin-py up` calls it once, before any worker starts, so the loader only
ever sees local paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from spin_py.errors import ComponentLoadError
from spin_py.manifest.model import App, Component, RemoteSource
from spin_py.runtime.compile_cache import SHARED_FILE_MODE

SOURCES_DIR = "sources"
DIGEST_PREFIX = "sha256:"
DOWNLOAD_TIMEOUT = 60.0
"""Seconds without progress (connecting, or between reads) before a download fails."""
MAX_DOWNLOAD_BYTES = 1024**3
"""A remote source larger than this (1 GiB) is refused."""
CHUNK = 1 << 20

Report = Callable[[str], None]


def resolve_remote_sources(app: App, root: Path, report: Report | None = None) -> App:
    """`app` with each remote `source` replaced by the path of its verified cached copy
    (downloaded now if needed). Raises `ComponentLoadError` naming the component."""
    components: dict[str, Component] = {}
    for cid, component in app.components.items():
        if isinstance(component.source, RemoteSource):
            path = fetch(cid, component.source, root, report)
            component = dataclasses.replace(component, source=str(path))
        components[cid] = component
    if all(components[cid] is app.components[cid] for cid in components):
        return app
    return dataclasses.replace(app, components=components)


def cached_path(root: Path, source: RemoteSource) -> Path:
    """Where the verified copy of `source` lives in the cache rooted at `root`."""
    return root / SOURCES_DIR / f"{_expected_hex(source)}.wasm"


def fetch(component_id: str, source: RemoteSource, root: Path, report: Report | None) -> Path:
    """The verified cached copy of `source`, downloading it if it is not cached (or corrupt)."""
    expected = _expected_hex(source)
    path = cached_path(root, source)
    if path.is_file() and _sha256_file(path) == expected:
        return path
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a corrupt copy
    _download(component_id, source, path, expected, report)
    return path


def _expected_hex(source: RemoteSource) -> str:
    digest = source.digest.strip().lower()
    hex_part = digest.removeprefix(DIGEST_PREFIX)
    if not digest.startswith(DIGEST_PREFIX) or len(hex_part) != 64 or not _is_hex(hex_part):
        raise ComponentLoadError(
            f"invalid digest {source.digest!r} for source {source.url}: expected "
            '"sha256:" followed by 64 hexadecimal digits'
        )
    return hex_part


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _download(
    component_id: str, source: RemoteSource, path: Path, expected: str, report: Report | None
) -> None:
    if not source.url.lower().startswith(("http://", "https://")):
        raise ComponentLoadError(
            f'component "{component_id}": cannot download {source.url}: only http and https '
            "URLs are supported"
        )
    started = time.monotonic()
    if report is not None:
        report(f'Downloading component "{component_id}" from {source.url}')
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), SHARED_FILE_MODE)
            digest, size = _copy(component_id, source.url, out)
        if digest != expected:
            raise ComponentLoadError(
                f'component "{component_id}": the file downloaded from {source.url} does not '
                f"match the manifest's digest (expected sha256:{expected}, got "
                f"sha256:{digest}); nothing was cached"
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    if report is not None:
        elapsed = time.monotonic() - started
        report(f'Downloaded component "{component_id}" ({size / 1e6:.1f} MB) in {elapsed:.1f}s')


def _copy(component_id: str, url: str, out: BinaryIO) -> tuple[str, int]:
    """Stream `url` into `out` (a binary file), hashing it; (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    request = urllib.request.Request(url, headers={"User-Agent": "spin-py"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise ComponentLoadError(
                        f'component "{component_id}": {url} is larger than '
                        f"{MAX_DOWNLOAD_BYTES // 1024**2} MiB"
                    )
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as err:
        raise ComponentLoadError(
            f'component "{component_id}": cannot download {url}: HTTP {err.code} {err.reason}'
        ) from err
    except (urllib.error.URLError, OSError) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        raise ComponentLoadError(
            f'component "{component_id}": cannot download {url}: {reason}'
        ) from err
    return digest.hexdigest(), size


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
