"""The compile cache's size cap: least recently used artifacts go first, across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import wasmtime

from spin_py.runtime.compile_cache import CompileCache, evict_least_recently_used
from spin_py.runtime.engine import get_engine
from tests.support.runtime_harness import simple_handler_wat

REPO = Path(__file__).resolve().parents[2]


def distinct_component(directory: Path, n: int) -> Path:
    """A small binary component of its own (so its own cache key), about the same size."""
    funcs = "\n".join(f'(func (export "f{n}_{i}") (result i32) (i32.const {i}))' for i in range(20))
    wat = simple_handler_wat("").replace(
        '(memory (export "memory") 1)', f'(memory (export "memory") 1) {funcs}'
    )
    path = directory / f"c{n}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def artifact_names(cache: Path) -> set[str]:
    return {p.name for p in cache.glob("*.cwasm")}


def test_the_least_recently_used_artifact_is_removed_first(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    sources = [distinct_component(tmp_path, n) for n in range(3)]
    loose = CompileCache(get_engine(), cache_dir, report=lambda _: None, max_bytes=None)
    loose.load(sources[0], "a")
    a = artifact_names(cache_dir)
    time.sleep(0.05)
    loose.load(sources[1], "b")
    b = artifact_names(cache_dir) - a
    size = max(p.stat().st_size for p in cache_dir.glob("*.cwasm"))
    time.sleep(0.05)
    loose.load(sources[0], "a")  # a hit: `a` is now the most recently used
    time.sleep(0.05)
    capped = CompileCache(get_engine(), cache_dir, report=lambda _: None, max_bytes=2 * size + 10)
    capped.load(sources[2], "c")
    remaining = artifact_names(cache_dir)
    assert len(remaining) == 2
    assert a <= remaining and not b & remaining  # b was the least recently used


def test_the_artifact_just_written_is_kept_even_above_the_cap(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache = CompileCache(get_engine(), cache_dir, report=lambda _: None, max_bytes=1)
    for n in range(3):
        cache.load(distinct_component(tmp_path, n), f"c{n}")
        assert len(artifact_names(cache_dir)) == 1
    # and it is still a working cache: loading the last one again is a hit
    before = artifact_names(cache_dir)
    cache.load(tmp_path / "c2.wasm", "c2")
    assert artifact_names(cache_dir) == before


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    stale = cache_dir / ".x.cwasm.123.tmp"
    fresh = cache_dir / ".y.cwasm.456.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    evict_least_recently_used(cache_dir, 10**9, keep=cache_dir / "none.cwasm")
    assert not stale.exists() and fresh.exists()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from spin_py.runtime.compile_cache import CompileCache
    from spin_py.runtime.engine import get_engine
    cache = CompileCache(get_engine(), Path({cache!r}), report=lambda _: None,
                         max_bytes=int(sys.argv[2]))
    start_at = float(sys.argv[1])
    while time.time() < start_at:
        time.sleep(0.001)
    for source in sys.argv[3:]:
        cache.load(Path(source), source)
    print("ok")
    """
)


def test_several_processes_filling_a_capped_cache(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    sources = [distinct_component(tmp_path, n) for n in range(8)]
    probe = CompileCache(get_engine(), tmp_path / "probe", report=lambda _: None)
    probe.load(sources[0], "probe")
    size = max(p.stat().st_size for p in (tmp_path / "probe").glob("*.cwasm"))
    cap = 3 * size + 10
    script = WRITER.format(repo=str(REPO), cache=str(cache_dir))
    start_at = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, start_at, str(cap), *map(str, sources[i::4])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    total = sum(p.stat().st_size for p in cache_dir.glob("*.cwasm"))
    # each process keeps the artifact it just wrote; a process that found another one
    # evicting skips its turn, so the total may exceed the cap by at most one artifact each
    assert 0 < total <= cap + 4 * size
    assert list(cache_dir.glob(".*.tmp")) == []
