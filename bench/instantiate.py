"""Per-request instantiation cost under different wasmtime Engine settings (issue 11, item 6).

    .venv/bin/python -m bench.instantiate                  # hello-proxy and tiny, every config
    .venv/bin/python -m bench.instantiate --count 300 --components hello-proxy

For each Engine configuration (`CONFIGS`: wasmtime's default on-demand allocator, the pooling
instance allocator, each with copy-on-write memory images on and off), load the component
through a compile cache of its own (compiled once per configuration, then deserialized from a
file, so copy-on-write images can map it) and time `count` rounds of what spin-py does per
request before the guest runs: a new `Store`, `Linker.instantiate`, then closing the Store.
Reported per configuration: the median and p90 microseconds per round, the process CPU per
round, and the RSS growth over the rounds (the pooling allocator reserves its slots up front).
Each configuration runs in a fresh subprocess so the RSS numbers do not mix. Results are
printed as Markdown and written to `bench/results/instantiate-<date>.json`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMPONENT_PATHS = {
    "hello-proxy": REPO / "components" / "hello-proxy" / "build" / "hello-proxy.wasm",
    "echo": REPO / "components" / "echo" / "build" / "echo.wasm",
    "hello-js": REPO / "components" / "hello-js" / "build" / "hello-js.wasm",
    "tiny": REPO / "components" / "tiny" / "tiny.wat",
}
CONFIGS = ["on-demand", "on-demand+cow", "pooling", "pooling+cow"]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(config: str, component: str, count: int, cache_dir: Path) -> dict[str, Any]:
    """In this process: build the Engine for `config`, load `component`, time `count` rounds."""
    import wasmtime

    from spin_py.runtime import engine as engine_mod
    from spin_py.runtime.compile_cache import CompileCache
    from spin_py.runtime.composition import build_linker

    engine_mod.configure_allocation(
        pooling=config.startswith("pooling"), memory_init_cow=config.endswith("+cow")
    )
    engine = engine_mod.get_engine()
    linker = build_linker(engine)
    cache = CompileCache(engine, cache_dir, report=lambda _line: None)
    started = time.perf_counter()
    loaded = cache.load(COMPONENT_PATHS[component], component)
    load_s = time.perf_counter() - started
    for _ in range(5):  # warm-up
        store = wasmtime.Store(engine)
        store.set_epoch_deadline(1_000_000)
        linker.instantiate(store, loaded)
        store.close()
    rss_before = _rss_kb()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        store = wasmtime.Store(engine)
        store.set_epoch_deadline(1_000_000)
        linker.instantiate(store, loaded)
        store.close()
        times.append(time.perf_counter() - began)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    times.sort()
    return {
        "config": config,
        "component": component,
        "rounds": count,
        "load_s": round(load_s, 3),
        "median_us": round(statistics.median(times) * 1e6, 1),
        "p90_us": round(times[int(len(times) * 0.9)] * 1e6, 1),
        "cpu_us_per_round": round(cpu / count * 1e6, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_growth_mb": round((_rss_kb() - rss_before) / 1024, 1),
        "fingerprint": engine_mod.engine_fingerprint(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instantiate", description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--components", default="hello-proxy,tiny")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "COMPONENT"), help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        config, component = args.child
        print(json.dumps(measure(config, component, args.count, args.cache_dir)))
        return
    from bench import tools

    components = [c.strip() for c in args.components.split(",") if c.strip()]
    tools.build_components([c for c in components if c != "tiny"])
    cache_dir = Path(tempfile.mkdtemp(prefix="spin-py-instantiate-"))
    rows = []
    for component in components:
        for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
            command = [sys.executable, "-m", "bench.instantiate", "--count", str(args.count),
                       "--child", config, component, "--cache-dir", str(cache_dir)]  # fmt: skip
            done = subprocess.run(
                command, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False
            )
            if done.returncode != 0:
                rows.append({"config": config, "component": component,
                             "error": done.stderr.strip()[-800:]})  # fmt: skip
            else:
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()
    out = RESULTS_DIR / f"instantiate-{datetime.datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"loadavg": load, "rows": rows}, indent=2) + "\n")
    print()
    print("| component | config | median µs | p90 µs | CPU µs/round | RSS growth MB | load s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['component']} | {row['config']} | error: {row['error'][:80]} |")
            continue
        cells = [row[key] for key in ("component", "config", "median_us", "p90_us",
                                      "cpu_us_per_round", "rss_growth_mb", "load_s")]  # fmt: skip
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
    print(f"\nload average: {load}; results: {out}")


if __name__ == "__main__":
    main()
