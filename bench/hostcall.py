"""What one host call costs: a component calling spin-py's real host functions in a loop.

    .venv/bin/python -m bench.hostcall                 # every case, 20,000 calls each
    .venv/bin/python -m bench.hostcall --calls 50000 --cases now,write4k

Each case is a small component in component text (compiled here, no toolchain) whose exported
`run(n)` calls one imported function `n` times, through the shared linker with a bound request
state, as a guest does during a request. Reported: microseconds per call (median of 5 runs) and
the process CPU per call. The cases cover the shapes that dominate real guests: a result-only
call (`wasi:clocks/monotonic-clock.now`, 18 of the 34 host calls a StarlingMonkey hello makes),
and `blocking-write-and-flush` of 4 KiB into a discarding stream (a borrowed handle in, a
`list<u8>` in, a `result` out: what a streaming guest pays per chunk). Results print as Markdown
and are written to `bench/results/hostcall-<date>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

NOW_WAT = """
(component
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
    (export "now" (func (result u64)))))
  (core module $m
    (import "host" "now" (func $now (result i64)))
    (func (export "run") (param $n i32)
      (local $i i32)
      (block $done (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (call $now))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))))
  (core func $now (canon lower (func $clock "now")))
  (core instance $host (export "now" (func $now)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func (export "run") (param "n" u32) (canon lift (core func $i "run"))))
"""

WRITE_WAT = """
(component $c
  (import "wasi:io/error@0.2.0" (instance $io-error
    (export "error" (type (sub resource)))))
  (alias export $io-error "error" (type $error))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer $c $error (type $error-outer))
    (export "error" (type $err (eq $error-outer)))
    (export "output-stream" (type $output-stream (sub resource)))
    (type $stream-error-def (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $stream-error-def)))
    (export "[method]output-stream.blocking-write-and-flush" (func
      (param "self" (borrow $output-stream)) (param "contents" (list u8))
      (result (result (error $stream-error)))))))
  (alias export $streams "output-stream" (type $output-stream))
  (alias export $streams "[method]output-stream.blocking-write-and-flush" (func $bwf))
  (core module $mem (memory (export "memory") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "memory" (core memory $memory))
  (core func $bwf (canon lower (func $bwf) (memory $memory)))
  (core module $m
    (import "host" "bwf" (func $bwf (param i32 i32 i32 i32)))
    (import "mem" "memory" (memory 1))
    (func (export "run") (param $stream i32) (param $n i32)
      (local $i i32)
      (block $done (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $bwf (local.get $stream) (i32.const 0) (i32.const 4096) (i32.const 8192))
        (if (i32.load8_u (i32.const 8192)) (then unreachable))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))))
  (core instance $host (export "bwf" (func $bwf)))
  (core instance $i (instantiate $m (with "host" (instance $host)) (with "mem" (instance $mem))))
  (func (export "run") (param "s" (own $output-stream)) (param "n" u32)
    (canon lift (core func $i "run"))))
"""

CASES = {"now": NOW_WAT, "write4k": WRITE_WAT}


def measure(case: str, calls: int, rounds: int = 5) -> dict[str, Any]:
    import wasmtime
    from wasmtime.component import Component

    from spin_py.host.channels import CallbackOutputStream
    from spin_py.host.context import ComponentContext, RuntimeSettings
    from spin_py.host.state import RequestState, bind
    from spin_py.manifest.model import App
    from spin_py.manifest.model import Component as Spec
    from spin_py.runtime.composition import shared_linker
    from spin_py.runtime.engine import get_engine
    from spin_py.wasi.io.streams import OUTPUT_STREAM

    engine = get_engine()
    linker = shared_linker(engine)
    component = Component(engine, CASES[case])
    loop = asyncio.new_event_loop()
    spec = Spec(id="bench", source="bench.wasm")
    app = App(
        manifest_path=Path("/nonexistent/spin.toml"), name="bench", components={"bench": spec}
    )
    context = ComponentContext(app, spec, RuntimeSettings(state_dir=Path("/nonexistent")))
    state = RequestState(context, loop)
    per_call, cpu_per_call = [], []
    with bind(state):
        store = wasmtime.Store(engine)
        store.set_epoch_deadline(1 << 40)
        instance = linker.instantiate(store, component)
        run = instance.get_func(store, "run")
        assert run is not None
        args: tuple[Any, ...] = (calls,)
        if case == "write4k":
            sink = CallbackOutputStream(lambda _data: None)
            args = (state.table.push(sink, OUTPUT_STREAM), calls)
        for _ in range(rounds):
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            began = time.perf_counter()
            run(store, *args)
            run.post_return(store)
            elapsed = time.perf_counter() - began
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
            per_call.append(elapsed / calls * 1e6)
            cpu_per_call.append(cpu / calls * 1e6)
        store.close()
    loop.close()
    return {
        "case": case,
        "calls": calls,
        "us_per_call": round(statistics.median(per_call), 2),
        "cpu_us_per_call": round(statistics.median(cpu_per_call), 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostcall", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--label", default="", help="a note stored with the results")
    args = parser.parse_args(argv)
    rows = [measure(case.strip(), args.calls) for case in args.cases.split(",") if case.strip()]
    load = os.getloadavg()
    out = RESULTS_DIR / f"hostcall-{datetime.datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"label": args.label, "loadavg": load, "rows": rows}, indent=2))
    print("| case | µs per call | CPU µs per call |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['case']} | {row['us_per_call']} | {row['cpu_us_per_call']} |")
    print(f"\nload average: {load}; results: {out}")


if __name__ == "__main__":
    main()
