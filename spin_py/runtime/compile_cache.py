"""Compile each component once: serialized artifacts cached on disk, shared by processes.

Compiling a 36 MB componentize-py component takes seconds; deserializing its artifact takes
milliseconds. Artifacts live in `<cache_dir>/<key>.cwasm`, the key being the sha256 of the
wasm bytes plus the wasmtime version and Engine settings (`engine_fingerprint()`), so a new
wasmtime or a changed configuration never loads a stale artifact. Several processes may start
at once: each writes to a temporary file in the same directory and renames it into place
(`os.replace` is atomic), so a reader sees either no file or a whole one. A file that fails to
deserialize (truncated, foreign) is recompiled and replaced.

`.wat` sources (component text) are compiled directly; they are small and never cached.
Only `cli.py` reads the environment: it passes `default_cache_root(os.environ) / COMPILED_DIR` in
(the `UpConfig.cache_root` it serves with).

The directory does not grow without bound: every hit marks its artifact as used (its mtime is
set to now), and after an artifact is written the least recently used ones are removed until
the total is within `max_bytes` (default `DEFAULT_MAX_BYTES`, 2 GiB; `SPIN_PY_CACHE_MAX_SIZE`).
One process evicts at a time (an `flock` on `.evict.lock`; a process that finds it taken skips
eviction, the holder is doing it); removing an artifact another process is loading is safe on
POSIX (an open file lives on until it is closed). Temporary files left by a process that died
while writing are removed once they are an hour old.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from spin_py.manifest.input_files import MAX_COMPONENT_BYTES, read_input
from spin_py.runtime.engine import engine_fingerprint

log = logging.getLogger(__name__)

Report = Callable[[str], None]
"""Receives progress lines (`Compiling hello (36.4 MB)...`)."""

PROGRESS_THRESHOLD_BYTES = 1_000_000
"""Components at least this large get progress lines while they compile."""

PROGRESS_INTERVAL_SECONDS = 5.0

DEFAULT_MAX_BYTES = 2 * 1024**3
"""The compile cache's default size cap: 2 GiB (about 50 componentize-py components)."""

ARTIFACT_SUFFIX = ".cwasm"
COMPILED_DIR = "compiled"
"""The cache root's directory of compiled artifacts."""
EVICT_LOCK = ".evict.lock"
SHARED_FILE_MODE = 0o644
"""Mode of the files spin-py puts in its cache (mkstemp makes them 0600): readable by every
user, so a cache filled by one user serves another, as in the image (built as root, serving as
uid 10001)."""
STALE_TEMP_SECONDS = 3600.0
"""A temporary file older than this was left by a writer that died: it is removed."""


def default_cache_root(env: Mapping[str, str]) -> Path:
    """spin-py's cache directory: `$SPIN_PY_CACHE_DIR`, else `$XDG_CACHE_HOME/spin-py`, else
    `~/.cache/spin-py`. Compiled artifacts go in its `compiled/`, downloaded sources in
    `sources/`."""
    explicit = env.get("SPIN_PY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "spin-py"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """The compiled artifacts' directory: `default_cache_root(env) / COMPILED_DIR`."""
    return default_cache_root(env) / COMPILED_DIR


def report_to_stderr(line: str) -> None:
    """The default progress sink: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


def cache_key(wasm: bytes) -> str:
    """The artifact name for `wasm` under this process's engine configuration."""
    digest = hashlib.sha256(wasm)
    digest.update(b"\0")
    digest.update(engine_fingerprint().encode())
    return digest.hexdigest()


_file_keys: dict[tuple[str, int, int], str] = {}
"""`cache_key`s of component files by (path, size, mtime): a 37 MB component is read and
hashed once per process, and worker processes forked after `up` checked the cache
(`is_cached`) inherit the keys, so they deserialize without reading the component again."""


def _file_memo(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.absolute()), stat.st_size, stat.st_mtime_ns)


def known_file_key(path: Path) -> str | None:
    """The `cache_key` of the component at `path` if this process has computed it for the
    file as it is now (None otherwise, or when it cannot be read)."""
    try:
        return _file_keys.get(_file_memo(path))
    except OSError:
        return None


def file_cache_key(path: Path, data: bytes) -> str:
    """`cache_key(data)` for `data` read from `path`, remembered for `known_file_key`."""
    key = cache_key(data)
    with contextlib.suppress(OSError):
        _file_keys[_file_memo(path)] = key
    return key


def is_cached(path: Path, directory: Path) -> bool:
    """Whether loading `path` needs no compiling: component text (compiled on the fly, fast) or
    a binary whose artifact is in `directory`. False when `path` cannot be read."""
    try:
        data = read_input(path, MAX_COMPONENT_BYTES)
    except OSError:
        return False
    if is_text_source(path, data[:4]):
        return True
    return (directory / f"{file_cache_key(path, data)}{ARTIFACT_SUFFIX}").is_file()


def is_text_source(path: Path, head: bytes) -> bool:
    """True for component text (`.wat`, or anything not starting with the wasm magic)."""
    return path.suffix == ".wat" or not head.startswith(b"\0asm")


class CompileCache:
    """Loads components for one Engine, through an on-disk artifact cache.

    `directory=None` disables the cache (every load compiles); `max_bytes=None` lifts the cap.
    """

    def __init__(
        self,
        engine: wasmtime.Engine,
        directory: Path | None,
        report: Report = report_to_stderr,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._report = report
        self._max_bytes = max_bytes

    @property
    def directory(self) -> Path | None:
        return self._directory

    def load(self, path: Path, label: str) -> Component:
        """The compiled component at `path` (`label` names it in progress lines and errors).

        Raises `OSError` when the file cannot be read and `wasmtime.WasmtimeError` when it is
        not a valid component.
        """
        known = known_file_key(path) if self._directory is not None else None
        if known is not None and self._directory is not None:  # hashed already (see `_file_keys`)
            artifact = self._directory / f"{known}{ARTIFACT_SUFFIX}"
            cached = self._cached(artifact, label)
            if cached is not None:
                return cached
        data = read_input(path, MAX_COMPONENT_BYTES)
        if is_text_source(path, data[:4]):
            return Component(self._engine, data.decode("utf-8"))
        if self._directory is None:
            return self._compile(data, label)
        artifact = self._directory / f"{file_cache_key(path, data)}{ARTIFACT_SUFFIX}"
        cached = self._cached(artifact, label)
        if cached is not None:
            return cached
        component = self._compile(data, label)
        self._store(artifact, component, label)
        if self._max_bytes is not None:
            evict_least_recently_used(self._directory, self._max_bytes, keep=artifact)
        return component

    def _cached(self, artifact: Path, label: str) -> Component | None:
        """The component compiled in `artifact` (a use, for the LRU order), or None if there is
        none or it is unusable (then the caller compiles again)."""
        if not artifact.is_file():
            return None
        try:
            component = Component.deserialize_file(self._engine, str(artifact))
        except wasmtime.WasmtimeError as err:
            log.warning("recompiling %s: cached artifact %s is unusable: %s", label, artifact, err)
            return None
        mark_used(artifact)
        return component

    def _compile(self, data: bytes, label: str) -> Component:
        with _progress(self._report, label, len(data)):
            return Component(self._engine, data)

    def _store(self, artifact: Path, component: Component, label: str) -> None:
        try:
            write_atomically(artifact, bytes(component.serialize()))
        except OSError as err:
            log.warning("cannot cache the compiled %s in %s: %s", label, artifact.parent, err)


def mark_used(artifact: Path) -> None:
    """Record a use of `artifact` for the LRU order (its mtime; atime is often not kept)."""
    with contextlib.suppress(OSError):
        os.utime(artifact)


def evict_least_recently_used(directory: Path, max_bytes: int, *, keep: Path) -> int:
    """Remove the least recently used artifacts of `directory` (never `keep`) until they total
    at most `max_bytes`, and stale temporary files; return the bytes removed. Skipped when
    another process is evicting."""
    _remove_stale_temporaries(directory)
    if _artifacts_size(directory) <= max_bytes:
        return 0
    removed = count = 0
    with _evict_lock(directory) as locked:
        if not locked:
            return 0
        entries = []
        for path in directory.glob(f"*{ARTIFACT_SUFFIX}"):
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((st.st_mtime_ns, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total - removed <= max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += size
                count += 1
    if count:
        log.info(
            "compile cache %s: removed %d least recently used artifact(s), %.1f MB, to stay "
            "within its %.1f MB limit",
            directory,
            count,
            removed / 1e6,
            max_bytes / 1e6,
        )
    return removed


def _artifacts_size(directory: Path) -> int:
    total = 0
    for path in directory.glob(f"*{ARTIFACT_SUFFIX}"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


@contextlib.contextmanager
def _evict_lock(directory: Path) -> Iterator[bool]:
    """An exclusive, non-blocking `flock` on the directory's lock file: True when taken."""
    try:
        fd = os.open(directory / EVICT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # also releases the lock


def _remove_stale_temporaries(directory: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for path in directory.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see no file or the whole file, never a part; the
    file gets `SHARED_FILE_MODE`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), SHARED_FILE_MODE)
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _progress(report: Report, label: str, size: int) -> Iterator[None]:
    """Report a long compilation: a start line, a line every few seconds, a done line."""
    if size < PROGRESS_THRESHOLD_BYTES:
        yield
        return
    started = time.monotonic()
    report(f"Compiling {label} ({size / 1e6:.1f} MB)...")
    done = threading.Event()

    def tick() -> None:
        while not done.wait(PROGRESS_INTERVAL_SECONDS):
            report(f"Compiling {label}... {time.monotonic() - started:.0f}s")

    ticker = threading.Thread(target=tick, name="spin-py-compile-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
    report(f"Compiling {label}... done in {time.monotonic() - started:.1f}s")
