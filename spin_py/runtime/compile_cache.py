"""Compile each component once: serialized artifacts cached on disk, shared by processes.

Compiling a 36 MB componentize-py component takes seconds; deserializing its artifact takes
milliseconds. Artifacts live in `<cache_dir>/<key>.cwasm`, the key being the sha256 of the
wasm bytes plus the wasmtime version and Engine settings (`engine_fingerprint()`), so a new
wasmtime or a changed configuration never loads a stale artifact. Several processes may start
at once: each writes to a temporary file in the same directory and renames it into place
(`os.replace` is atomic), so a reader sees either no file or a whole one. A file that fails to
deserialize (truncated, foreign) is recompiled and replaced.

`.wat` sources (component text) are compiled directly; they are small and never cached.
Only `cli.py` reads the environment: it passes `default_cache_dir(os.environ)` in.
"""

from __future__ import annotations

import contextlib
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

from spin_py.runtime.engine import engine_fingerprint

log = logging.getLogger("spin_py.runtime")

Report = Callable[[str], None]
"""Receives progress lines (`Compiling hello (36.4 MB)...`)."""

PROGRESS_THRESHOLD_BYTES = 1_000_000
"""Components at least this large get progress lines while they compile."""

PROGRESS_INTERVAL_SECONDS = 5.0


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """`$SPIN_PY_CACHE_DIR`, else `$XDG_CACHE_HOME/spin-py`, else `~/.cache/spin-py`; plus
    `/compiled`."""
    explicit = env.get("SPIN_PY_CACHE_DIR")
    if explicit:
        return Path(explicit) / "compiled"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "spin-py" / "compiled"


def report_to_stderr(line: str) -> None:
    """The default progress sink: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


def cache_key(wasm: bytes) -> str:
    """The artifact name for `wasm` under this process's engine configuration."""
    digest = hashlib.sha256(wasm)
    digest.update(b"\0")
    digest.update(engine_fingerprint().encode())
    return digest.hexdigest()


def is_text_source(path: Path, head: bytes) -> bool:
    """True for component text (`.wat`, or anything not starting with the wasm magic)."""
    return path.suffix == ".wat" or not head.startswith(b"\0asm")


class CompileCache:
    """Loads components for one Engine, through an on-disk artifact cache.

    `directory=None` disables the cache (every load compiles).
    """

    def __init__(
        self,
        engine: wasmtime.Engine,
        directory: Path | None,
        report: Report = report_to_stderr,
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._report = report

    @property
    def directory(self) -> Path | None:
        return self._directory

    def load(self, path: Path, label: str) -> Component:
        """The compiled component at `path` (`label` names it in progress lines and errors).

        Raises `OSError` when the file cannot be read and `wasmtime.WasmtimeError` when it is
        not a valid component.
        """
        data = path.read_bytes()
        if is_text_source(path, data[:4]):
            return Component(self._engine, data.decode("utf-8"))
        if self._directory is None:
            return self._compile(data, label)
        artifact = self._directory / f"{cache_key(data)}.cwasm"
        cached = self._try_deserialize(artifact, label)
        if cached is not None:
            return cached
        component = self._compile(data, label)
        self._store(artifact, component, label)
        return component

    def _try_deserialize(self, artifact: Path, label: str) -> Component | None:
        if not artifact.is_file():
            return None
        try:
            return Component.deserialize_file(self._engine, str(artifact))
        except wasmtime.WasmtimeError as err:
            log.warning("recompiling %s: cached artifact %s is unusable: %s", label, artifact, err)
            return None

    def _compile(self, data: bytes, label: str) -> Component:
        with _progress(self._report, label, len(data)):
            return Component(self._engine, data)

    def _store(self, artifact: Path, component: Component, label: str) -> None:
        try:
            write_atomically(artifact, bytes(component.serialize()))
        except OSError as err:
            log.warning("cannot cache the compiled %s in %s: %s", label, artifact.parent, err)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see no file or the whole file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
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
