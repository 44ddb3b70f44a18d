"""The on-disk compile cache: hits, misses, corrupt entries, concurrent writer processes."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import wasmtime
from wasmtime.component import Component

from spin_py.runtime import compile_cache
from spin_py.runtime.compile_cache import CompileCache, cache_key, default_cache_dir
from spin_py.runtime.engine import get_engine
from tests.support.runtime_harness import simple_handler_wat

REPO = Path(__file__).resolve().parents[2]


class CountingCache(CompileCache):
    """A CompileCache that counts real compilations (everything else is the real code)."""

    compiles = 0

    def _compile(self, data: bytes, label: str) -> Component:
        self.compiles += 1
        return super()._compile(data, label)


@pytest.fixture
def wasm(tmp_path: Path) -> Path:
    path = tmp_path / "app.wasm"
    path.write_bytes(wasmtime.wat2wasm(simple_handler_wat("")))
    return path


def artifacts(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.cwasm"))


def test_default_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    explicit = {"SPIN_PY_CACHE_DIR": "/x/cache", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}
    assert default_cache_dir(explicit) == Path("/x/cache/compiled")
    assert default_cache_dir({"XDG_CACHE_HOME": "/xdg", "HOME": "/h"}) == Path(
        "/xdg/spin-py/compiled"
    )
    assert default_cache_dir({"HOME": "/home/u"}) == Path("/home/u/.cache/spin-py/compiled")
    assert default_cache_dir({"SPIN_PY_CACHE_DIR": "", "HOME": "/h"}) == Path(
        "/h/.cache/spin-py/compiled"
    )


def test_key_is_sha256_of_the_bytes_plus_the_engine() -> None:
    key = cache_key(b"abc")
    assert key == cache_key(b"abc") != cache_key(b"abd")
    assert key != hashlib.sha256(b"abc").hexdigest()  # the engine fingerprint is part of it


def test_miss_then_hit(tmp_path: Path, wasm: Path) -> None:
    directory = tmp_path / "cache"
    first = CountingCache(get_engine(), directory, report=lambda _line: None)
    component = first.load(wasm, "app")
    assert first.compiles == 1
    assert artifacts(directory) == [directory / f"{cache_key(wasm.read_bytes())}.cwasm"]
    assert "wasi:http/incoming-handler@0.2.0" in component.type.exports(get_engine())

    second = CountingCache(get_engine(), directory, report=lambda _line: None)
    again = second.load(wasm, "app")
    assert second.compiles == 0
    assert "wasi:http/incoming-handler@0.2.0" in again.type.exports(get_engine())
    assert list(directory.glob(".*.tmp")) == []


def test_artifacts_are_readable_by_other_users(tmp_path: Path, wasm: Path) -> None:
    """The image fills its cache as root and serves as uid 10001 (Dockerfile): an artifact
    only its writer can read (mkstemp's 0600) would be compiled again at every start."""
    directory = tmp_path / "cache"
    CompileCache(get_engine(), directory, report=lambda _line: None).load(wasm, "app")
    (artifact,) = artifacts(directory)
    assert stat.S_IMODE(artifact.stat().st_mode) == 0o644


def test_changed_bytes_are_a_miss(tmp_path: Path, wasm: Path) -> None:
    directory = tmp_path / "cache"
    cache = CountingCache(get_engine(), directory, report=lambda _line: None)
    cache.load(wasm, "app")
    wasm.write_bytes(wasmtime.wat2wasm(simple_handler_wat("nop")))
    cache.load(wasm, "app")
    assert cache.compiles == 2 and len(artifacts(directory)) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_entry_is_recompiled_and_replaced(tmp_path: Path, wasm: Path, damage: str) -> None:
    directory = tmp_path / "cache"
    CountingCache(get_engine(), directory, report=lambda _line: None).load(wasm, "app")
    (artifact,) = artifacts(directory)
    good = artifact.read_bytes()
    bad = {"garbage": b"not an artifact" * 100, "truncated": good[: len(good) // 2], "empty": b""}
    artifact.write_bytes(bad[damage])

    cache = CountingCache(get_engine(), directory, report=lambda _line: None)
    component = cache.load(wasm, "app")
    assert cache.compiles == 1
    assert "wasi:http/incoming-handler@0.2.0" in component.type.exports(get_engine())
    assert artifact.read_bytes() != bad[damage]
    assert CountingCache(get_engine(), directory).load(wasm, "app") is not None


def test_text_components_are_compiled_directly(tmp_path: Path) -> None:
    source = tmp_path / "tiny.wat"
    source.write_text(simple_handler_wat(""))
    directory = tmp_path / "cache"
    component = CompileCache(get_engine(), directory).load(source, "tiny")
    assert "wasi:http/incoming-handler@0.2.0" in component.type.exports(get_engine())
    assert not directory.exists()


def test_no_directory_means_no_cache(tmp_path: Path, wasm: Path) -> None:
    cache = CountingCache(get_engine(), None, report=lambda _line: None)
    cache.load(wasm, "app")
    cache.load(wasm, "app")
    assert cache.compiles == 2


def test_unwritable_directory_still_loads(tmp_path: Path, wasm: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    component = CompileCache(get_engine(), blocker / "cache").load(wasm, "app")
    assert component is not None


def test_progress_lines_for_big_components(
    tmp_path: Path, wasm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compile_cache, "PROGRESS_THRESHOLD_BYTES", 10)
    lines: list[str] = []
    CompileCache(get_engine(), tmp_path / "cache", report=lines.append).load(wasm, "hello")
    assert lines[0].startswith("Compiling hello (0.0 MB)...")
    assert lines[-1].startswith("Compiling hello... done in ")
    lines.clear()
    CompileCache(get_engine(), tmp_path / "cache", report=lines.append).load(wasm, "hello")
    assert lines == []  # a hit compiles nothing


WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from spin_py.runtime.compile_cache import CompileCache
    from spin_py.runtime.engine import get_engine
    engine = get_engine()
    start_at = float(sys.argv[1])
    while time.time() < start_at:
        time.sleep(0.001)
    component = CompileCache(engine, Path({directory!r})).load(Path({wasm!r}), "app")
    assert "wasi:http/incoming-handler@0.2.0" in component.type.exports(engine)
    print("ok")
    """
)


def test_concurrent_writers_in_two_processes(tmp_path: Path) -> None:
    # A bigger component makes the compile (and so the overlap of the two writers) longer.
    funcs = "\n".join(f'(func (export "f{i}") (result i32) (i32.const {i}))' for i in range(400))
    wat = simple_handler_wat("").replace(
        '(memory (export "memory") 1)', f'(memory (export "memory") 1) {funcs}'
    )
    wasm = tmp_path / "big.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(wat))
    directory = tmp_path / "cache"
    script = WORKER.format(repo=str(REPO), directory=str(directory), wasm=str(wasm))
    start_at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    assert len(artifacts(directory)) == 1
    assert list(directory.glob(".*")) == []  # no temporary files left behind
    hit = CountingCache(get_engine(), directory, report=lambda _line: None)
    hit.load(wasm, "app")
    assert hit.compiles == 0


def test_a_component_is_hashed_once_per_process_while_unchanged(
    wasm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`is_cached` (the supervisor, before forking) hashes the file; a later load of the same
    unchanged file (a forked worker inherits the memo) deserializes without reading it."""
    directory = tmp_path / "cache"
    assert not compile_cache.is_cached(wasm, directory)
    CountingCache(get_engine(), directory, report=lambda _line: None).load(wasm, "app")
    assert compile_cache.is_cached(wasm, directory)
    assert compile_cache.known_file_key(wasm) == cache_key(wasm.read_bytes())

    reads: list[Path] = []
    real_read = compile_cache.read_input

    def counting_read(path: Path, limit: int) -> bytes:
        reads.append(path)
        return real_read(path, limit)

    monkeypatch.setattr(compile_cache, "read_input", counting_read)
    hit = CountingCache(get_engine(), directory, report=lambda _line: None)
    hit.load(wasm, "app")
    assert (hit.compiles, reads) == (0, [])
    wasm.write_bytes(wasmtime.wat2wasm(simple_handler_wat("(nop)")))  # changed: read again
    assert compile_cache.known_file_key(wasm) is None
    hit.load(wasm, "app")
    assert hit.compiles == 1 and reads == [wasm]
