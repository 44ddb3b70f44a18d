"""The workloads of docs/performance.md (W1-W7, see Method), each against its peers, same run.

Every workload returns a `Section`: raw rows (one per server and URL) and the ratios the spec
sets targets for. A server that fails to start or serve becomes a row with an `error`, so one
broken peer does not lose the rest of the run. Every server started here is stopped by pid
(its own process group) before the workload returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import clients, procs, targets, wrk
from bench.targets import READY_TIMEOUT, Target
from bench.tools import Tools

MiB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    """Knobs of one run (defaults follow the spec)."""

    wrk: wrk.WrkSettings = field(default_factory=wrk.WrkSettings)
    warmup: float = 3.0
    echo_bytes: int = 10 * clients.MB
    echo_count: int = 5
    slow_count: int = 32
    slow_ms: int = 500
    with_jco: bool = True
    rounds: int = 3


@dataclass
class Bench:
    """What every workload needs: the peers, built components, a scratch dir, the options."""

    tools: Tools
    components: dict[str, Path]
    work_dir: Path
    options: Options
    started: int = 0

    def start(self, target: Target) -> procs.Server:
        """Start `target` with its log in the scratch dir."""
        slug = target.name.replace(" ", "-").replace("(", "").replace(")", "")
        self.started += 1
        name = f"{self.started:02d}-{slug}"
        return procs.start(name, target.command, self.work_dir, target.env)

    def state_dir(self) -> Path:
        """A fresh `--state-dir` for one spin-py run."""
        return Path(tempfile.mkdtemp(prefix="state-", dir=self.work_dir))


@dataclass
class Section:
    """One workload's results."""

    workload: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, server: str, **values: Any) -> dict[str, Any]:
        """The first row for `server` (and matching values), or an empty dict."""
        for row in self.rows:
            if row.get("server") == server and all(row.get(k) == v for k, v in values.items()):
                return row
        return {}

    def ratio(self, name: str, value: float | None, target: str, met: bool | None) -> None:
        """Record a ratio and whether it meets its target (None: not measurable)."""
        self.ratios.append({"name": name, "value": value, "target": target, "met": met})


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


Plan = list[tuple[Target, list[str]]]
"""Servers to measure with wrk, each with the paths to load."""


def throughput(bench: Bench, plan: Plan) -> list[dict[str, Any]]:
    """Start every server of `plan`, then measure each (server, path) in interleaved rounds.

    Interleaving spreads the drift of a shared machine over all servers alike. The row of a
    (server, path) is its median-throughput round; `rps_rounds` lists every round.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with contextlib.ExitStack() as stack:
        live = []
        for target, paths in plan:
            base: dict[str, Any] = {"server": target.name, "note": target.note,
                    "server_command": " ".join(target.command)}  # fmt: skip
            server = stack.enter_context(procs.running(bench.start(target)))
            try:
                base["ready_s"] = round(server.wait_ready(target.url(), READY_TIMEOUT), 3)
                live.append((target, server, paths))
            except RuntimeError as error:
                base["error"] = str(error)[-1500:]
            for path in paths:
                rows[(target.name, path)] = base | {"path": path}
        for _ in range(bench.options.rounds):
            for target, server, paths in live:
                for path in paths:
                    _measure_round(bench, server, target, path, rows, rounds)
    for key, row in rows.items():
        if rounds.get(key):
            row |= _median_round(rounds[key])
        elif row.get("round_errors"):
            row["error"] = row["round_errors"][-1]
    return list(rows.values())


def _measure_round(
    bench: Bench,
    server: procs.Server,
    target: Target,
    path: str,
    rows: dict[tuple[str, str], dict[str, Any]],
    rounds: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    """One wrk measurement; a failed round is kept in `round_errors`, not in the median."""
    key = (target.name, path)
    try:
        measured = _measure(bench, server, target, path)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        measured = {"error": str(error)[-1500:]}
    if "error" in measured:
        rows[key].setdefault("round_errors", []).append(measured["error"])
    else:
        rounds.setdefault(key, []).append(measured)
    _settle(server)


def _median_round(measured: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(measured, key=lambda row: row["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rps_rounds"] = [row["rps"] for row in measured]
    chosen["p99_ms_rounds"] = [row["p99_ms"] for row in measured]
    return chosen


def _settle(server: procs.Server, quiet_cpu: float = 0.05, limit: float = 20.0) -> None:
    """Wait until the server stops working off requests queued when wrk stopped.

    A slow server (jco with isolated instances) keeps running queued requests after wrk
    disconnects; measuring the next server meanwhile would charge it that CPU.
    """
    deadline = time.monotonic() + limit
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.cpu_seconds()
        if now - before < quiet_cpu:
            return
        before = now


def _cpu_snapshot(server: procs.Server) -> tuple[float, float, float]:
    """Server CPU, reaped children's CPU (wrk) and busy CPU of the whole machine, seconds."""
    busy = procs.system_busy_seconds() - procs.self_cpu_seconds()
    return server.cpu_seconds(), procs.children_cpu_seconds(), busy


def _measure(bench: Bench, server: procs.Server, target: Target, path: str) -> dict[str, Any]:
    settings = bench.options.wrk
    url = target.url(path)
    if bench.options.warmup > 0:
        wrk.run(settings, url, bench.options.warmup)
    before = _cpu_snapshot(server)
    result = wrk.run(settings, url)
    after = _cpu_snapshot(server)
    cpu, wrk_cpu, busy = (now - then for now, then in zip(after, before, strict=True))
    row = result.to_json()
    row["server_cpu_s"] = round(cpu, 2)
    per_request = 1000 * cpu / result.requests if result.requests else None
    row["server_cpu_ms_per_req"] = None if per_request is None else round(per_request, 3)
    row["wrk_cpu_s"] = round(wrk_cpu, 2)
    row["other_cpu_cores"] = (
        round((busy - cpu - wrk_cpu) / result.seconds, 2) if result.seconds else None
    )
    row["loadavg_1m"] = round(os.getloadavg()[0], 2)
    row["rss_mb"] = round(server.rss_bytes() / MiB, 1)
    row["pss_mb"] = round(procs.pss_bytes(server.tree()) / MiB, 1)
    row["processes"] = len(server.tree())
    if result.requests == 0:
        row["error"] = (
            f"no request completed in {result.seconds:g} s (wrk --timeout {settings.timeout:g}s)"
        )
    return row


# ---------------------------------------------------------------------------------------------
# W1: hello-proxy (componentize-py, plain wasi:http/proxy) on every host


def w1(bench: Bench) -> Section:
    """End-to-end throughput and latency, guest-dominated."""
    section = Section("W1", "hello-proxy component (componentize-py), every host")
    wasm = bench.components["hello-proxy"]
    plan: Plan = [
        (targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy"),
         ["/hello-proxy", "/hello"]),
    ]  # fmt: skip
    for count in sorted({1, len(os.sched_getaffinity(0))}):
        workers = targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy",
                                  name=f"spin-py --workers {count}", workers=count)  # fmt: skip
        plan.append((workers, ["/hello-proxy"]))
    wasmtime = targets.wasmtime_serve(bench.tools.wasmtime, wasm, procs.free_port(), "/hello-proxy")
    plan.append((wasmtime, ["/hello-proxy"]))
    if bench.tools.jco_js is not None and bench.options.with_jco:
        for isolate in (False, True):
            jco = targets.jco_serve(bench.tools.jco_js, wasm, procs.free_port(), "/hello-proxy",
                                    isolate)  # fmt: skip
            plan.append((jco, ["/hello-proxy"]))
    elif bench.tools.jco_error:
        section.notes.append(f"jco serve not measured: {bench.tools.jco_error}")
    section.rows += throughput(bench, plan)
    _against_wasmtime(section, "/hello-proxy", ("jco serve", "jco serve (isolate)"))
    return section


def _against_wasmtime(section: Section, path: str, others: tuple[str, ...]) -> None:
    """W1's ratios: spin-py's req/s (>= 1.0) and p99 (<= 1.5) against wasmtime serve, its
    server CPU per request (diagnostic), and its req/s against each of `others` measured."""
    spin = section.row("spin-py", path=path)
    peer = section.row("wasmtime serve")
    rps = _div(spin.get("rps"), peer.get("rps"))
    p99 = _div(spin.get("p99_ms"), peer.get("p99_ms"))
    section.ratio("req/s spin-py / wasmtime serve", rps, ">= 1.0", _at_least(rps, 1.0))
    section.ratio("p99 spin-py / wasmtime serve", p99, "<= 1.5", _at_most(p99, 1.5))
    cpu = _div(spin.get("server_cpu_ms_per_req"), peer.get("server_cpu_ms_per_req"))
    section.ratio("server CPU per request spin-py / wasmtime serve", cpu, "(diagnostic)", None)
    for name in others:
        value = _div(spin.get("rps"), section.row(name).get("rps"))
        if value is not None:
            section.ratio(f"req/s spin-py / {name}", value, "(no target)", None)


# ---------------------------------------------------------------------------------------------
# W1js: the hello component in JavaScript (componentize-js / StarlingMonkey)


def w1js(bench: Bench) -> Section:
    """Throughput when the guest is cheap: the host's per-request cost shows."""
    section = Section("W1js", "hello-js component (componentize-js / StarlingMonkey), every host")
    wasm = bench.components["hello-js"]
    plan: Plan = [
        (targets.spin_py("hello-js", procs.free_port(), bench.state_dir(), "/hello-js"),
         ["/hello-js"]),
        (targets.spin_py("hello-js", procs.free_port(), bench.state_dir(), "/hello-js",
                         name="spin-py --workers 1", workers=1), ["/hello-js"]),
        (targets.wasmtime_serve(bench.tools.wasmtime, wasm, procs.free_port(), "/hello-js"),
         ["/hello-js"]),
    ]  # fmt: skip
    if bench.tools.jco_js is not None and bench.options.with_jco:
        jco = targets.jco_serve(bench.tools.jco_js, wasm, procs.free_port(), "/hello-js")
        plan.append((jco, ["/hello-js"]))
    section.rows += throughput(bench, plan)
    _against_wasmtime(section, "/hello-js", ("jco serve",))
    return section


# ---------------------------------------------------------------------------------------------
# W2: tiny WAT component, host overhead


def w2(bench: Bench) -> Section:
    """Host overhead per request: spin-py on a guest that does nearly nothing."""
    section = Section("W2", "tiny WAT component vs raw aiohttp")
    tiny = bench.components["tiny"]
    plan: Plan = [
        (targets.spin_py("tiny", procs.free_port(), bench.state_dir(), "/", workers=1), ["/"]),
        (targets.raw_aiohttp(procs.free_port()), ["/"]),
        (targets.wasmtime_serve(bench.tools.wasmtime, tiny, procs.free_port(), "/"), ["/"]),
    ]
    section.rows += throughput(bench, plan)
    spin, raw = section.row("spin-py"), section.row("raw aiohttp")
    value = _div(spin.get("rps"), raw.get("rps"))
    section.ratio("req/s spin-py / raw aiohttp", value, ">= 0.4", _at_least(value, 0.4))
    peer = _div(spin.get("rps"), section.row("wasmtime serve").get("rps"))
    section.ratio("req/s spin-py / wasmtime serve", peer, "(no target)", None)
    cpu = _div(spin.get("server_cpu_ms_per_req"), raw.get("server_cpu_ms_per_req"))
    section.ratio("server CPU per request spin-py / raw aiohttp", cpu, "(diagnostic)", None)
    return section


# ---------------------------------------------------------------------------------------------
# W3: echo, 10 MB streamed both ways


def w3(bench: Bench) -> Section:
    """Streaming throughput and the server's peak RSS growth per 10 MB exchange."""
    size = bench.options.echo_bytes / clients.MB
    section = Section("W3", f"echo, {size:g} MB request body streamed back")
    wasm = bench.components["echo"]
    body = clients.pattern(bench.options.echo_bytes)
    server_targets = [
        targets.spin_py("echo", procs.free_port(), bench.state_dir(), "/"),
        targets.wasmtime_serve(bench.tools.wasmtime, wasm, procs.free_port(), "/"),
    ]
    if bench.tools.jco_js is not None and bench.options.with_jco:
        server_targets.append(targets.jco_serve(bench.tools.jco_js, wasm, procs.free_port(), "/"))
    for target in server_targets:
        section.rows.append(_echo_row(bench, target, body))
    spin, peer = section.row("spin-py"), section.row("wasmtime serve")
    value = _div(spin.get("mb_per_s"), peer.get("mb_per_s"))
    section.ratio("MB/s spin-py / wasmtime serve", value, ">= 0.5", _at_least(value, 0.5))
    growth = spin.get("peak_rss_growth_mb")
    section.ratio("spin-py peak RSS growth (MB)", growth, "< 50", _at_most(growth, 50))
    return section


def _echo_row(bench: Bench, target: Target, body: bytes) -> dict[str, Any]:
    row: dict[str, Any] = {
        "server": target.name,
        "note": target.note,
        "server_command": " ".join(target.command),
    }
    server = bench.start(target)
    with procs.running(server):
        try:
            row["ready_s"] = round(server.wait_ready(target.url(), READY_TIMEOUT), 3)
            row |= _echo_measure(bench, server, target.url("/echo"), body)
        except (RuntimeError, ValueError, OSError, TimeoutError) as error:
            row["error"] = repr(error)[-1500:]
    return row


def _echo_measure(bench: Bench, server: procs.Server, url: str, body: bytes) -> dict[str, Any]:
    """Sequential echo exchanges; per exchange, the largest growth of any one server process.

    Each exchange is served by one process (one worker), so "peak RSS growth for the 10 MB
    body" is that process's peak (VmHWM after a reset, or the sampled peak) minus its RSS just
    before. The tree's retained growth over all exchanges is reported too.
    """
    # Warm-up with small bodies, several per process: the kernel spreads connections over the
    # workers unevenly, and a worker's first echo faults in code pages (tens of MB of RSS).
    warmups = 4 * len(server.tree())
    asyncio.run(clients.echo_many(url, clients.pattern(64 * 1024), warmups))
    baseline = server.rss_bytes()
    growths, exchanges = [], []
    for _ in range(bench.options.echo_count):
        pids = server.tree()
        before = procs.rss_by_pid(pids)
        procs.reset_peak_rss(pids)
        with procs.RssSampler(server) as sampler:
            result = asyncio.run(clients.echo_many(url, body, 1))[0]
        peaks = {pid: max(sampler.peaks.get(pid, 0), procs.peak_rss_bytes([pid])) for pid in pids}
        growths.append(max(peaks[pid] - before[pid] for pid in pids) / MiB)
        exchanges.append(result)
    bad = [r for r in exchanges if r.status != 200 or not r.intact or r.returned != len(body)]
    rates = [r.mb_per_s for r in exchanges]
    return {
        "exchanges": len(exchanges),
        "failed_exchanges": len(bad),
        "mb_per_s": round(statistics.median(rates), 2),
        "mb_per_s_each": [round(rate, 2) for rate in rates],
        "baseline_rss_mb": round(baseline / MiB, 1),
        "baseline_pss_mb": round(procs.pss_bytes(server.tree()) / MiB, 1),
        "peak_rss_growth_mb": round(max(growths), 1),
        "peak_rss_growth_mb_each": [round(g, 1) for g in growths],
        "retained_rss_growth_mb": round((server.rss_bytes() - baseline) / MiB, 1),
        "processes": len(server.tree()),
    }


# ---------------------------------------------------------------------------------------------
# W4: W1 with OTLP export on vs off


def w4(bench: Bench) -> Section:
    """Tracing overhead: spin-py hello-proxy with OTLP/HTTP export to a null collector, and with
    the built-in trace UI (`--trace-ui`, export off)."""
    section = Section(
        "W4", "hello-proxy on spin-py, OTLP export off vs on (null collector) vs --trace-ui"
    )
    collector_target = targets.null_collector(procs.free_port())
    collector = bench.start(collector_target)
    with procs.running(collector):
        collector.wait_ready(collector_target.url(), 30)
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_target.port}",
               "OTEL_SERVICE_NAME": "spin-py-bench"}  # fmt: skip
        off = targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy",
                              name="spin-py tracing off")  # fmt: skip
        on = targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy", env,
                             name="spin-py tracing on")  # fmt: skip
        ui = targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy",
                             name="spin-py --trace-ui", extra=("--trace-ui",))  # fmt: skip
        plan = [(off, ["/hello-proxy"]), (on, ["/hello-proxy"]), (ui, ["/hello-proxy"])]
        section.rows += throughput(bench, plan)
        time.sleep(6)  # the batch span processor flushes every 5 s
        received = _collector_stats(collector_target.url("/stats"))
    section.row("spin-py tracing on")["collector"] = received
    if not received.get("traces_requests"):
        section.notes.append(
            "the null collector received no trace exports: the on/off ratio "
            "does not measure tracing yet"
        )
    value = _div(
        section.row("spin-py tracing on").get("rps"), section.row("spin-py tracing off").get("rps")
    )
    section.ratio("req/s tracing on / off", value, ">= 0.9", _at_least(value, 0.9))
    value = _div(
        section.row("spin-py --trace-ui").get("rps"), section.row("spin-py tracing off").get("rps")
    )
    section.ratio("req/s --trace-ui / tracing off", value, ">= 0.9", _at_least(value, 0.9))
    return section


def _collector_stats(url: str) -> dict[str, int]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            data: dict[str, int] = json.loads(response.read())
            return data
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------------------------------------
# W5: start to first 200, cold and warm compile cache


def w5(bench: Bench, warm_runs: int = 3) -> Section:
    """`spin-py up -f manifests/hello` start to first 200, empty vs filled compile cache."""
    section = Section("W5", "spin-py up -f manifests/hello: start to first 200 on /hello-proxy")
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=bench.work_dir))
    env = {"SPIN_PY_CACHE_DIR": str(cache)}
    for label in ["cold"] + ["warm"] * warm_runs:
        target = targets.spin_py(
            "hello",
            procs.free_port(),
            bench.state_dir(),
            "/hello-proxy",
            env,
            name=f"spin-py ({label} cache)",
        )
        row: dict[str, Any] = {
            "server": target.name,
            "cache": label,
            "server_command": f"SPIN_PY_CACHE_DIR={cache} " + " ".join(target.command),
        }
        server = bench.start(target)
        with procs.running(server):
            try:
                row["first_200_s"] = round(server.wait_ready(target.url(), READY_TIMEOUT), 3)
                row["hello_status"] = procs.http_status(target.url("/hello"))
            except RuntimeError as error:
                row["error"] = str(error)[-1500:]
        log = server.log_path.read_text(errors="replace")
        row["progress_lines"] = [line for line in log.splitlines() if "ompil" in line][:10]
        section.rows.append(row)
    cold = section.row("spin-py (cold cache)").get("first_200_s")
    warm = [r["first_200_s"] for r in section.rows if r["cache"] == "warm" and "first_200_s" in r]
    median_warm = statistics.median(warm) if warm else None
    section.ratio(
        "warm start to first 200 (s, median)", median_warm, "<= 1.0", _at_most(median_warm, 1.0)
    )
    cold_progress = bool(section.row("spin-py (cold cache)").get("progress_lines"))
    section.ratio("cold start to first 200 (s)", cold, "progress shown", cold_progress)
    return section


# ---------------------------------------------------------------------------------------------
# W6: many slow requests in flight


def w6(bench: Bench) -> Section:
    """`slow_count` concurrent requests that sleep in the guest: errors, wall time, memory."""
    count, millis = bench.options.slow_count, bench.options.slow_ms
    section = Section(
        "W6", f"{count} concurrent requests sleeping {millis} ms in the guest (misbehave /sleep)"
    )
    wasm = bench.components["misbehave"]
    for target in (
        targets.spin_py("misbehave", procs.free_port(), bench.state_dir(), "/ok"),
        targets.wasmtime_serve(bench.tools.wasmtime, wasm, procs.free_port(), "/ok"),
    ):
        section.rows.append(_slow_row(bench, target, count, millis))
    spin = section.row("spin-py")
    errors = spin.get("errors")
    section.ratio("spin-py errors", errors, "0", _at_most(errors, 0))
    wall = _div(spin.get("wall_s"), section.row("wasmtime serve").get("wall_s"))
    section.ratio("wall time spin-py / wasmtime serve", wall, "<= 2.0", _at_most(wall, 2.0))
    per = spin.get("rss_growth_kb_per_request")
    section.ratio("spin-py RSS growth per in-flight request (KB)", per, "stated, bounded", None)
    return section


def _slow_row(bench: Bench, target: Target, count: int, millis: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "server": target.name,
        "note": target.note,
        "server_command": " ".join(target.command),
    }
    server = bench.start(target)
    url = target.url(f"/sleep?ms={millis}")
    with procs.running(server):
        try:
            row["ready_s"] = round(server.wait_ready(target.url(), READY_TIMEOUT), 3)
            asyncio.run(clients.concurrent_gets(url, 4, 60))  # warm-up
            baseline = server.rss_bytes()
            started = time.perf_counter()
            with procs.RssSampler(server) as sampler:
                timeout = count * millis / 1000 + 60
                results = asyncio.run(clients.concurrent_gets(url, count, timeout))
            wall = time.perf_counter() - started
            latencies = sorted(r.seconds for r in results)
            growth = (sampler.tree_peak - baseline) / 1024
            row |= {
                "requests": count,
                "errors": sum(1 for r in results if r.status != 200),
                "error_samples": sorted(
                    {r.error or str(r.status) for r in results if r.status != 200}
                )[:5],
                "wall_s": round(wall, 2),
                "ideal_wall_s": millis / 1000,
                "latency_min_s": round(latencies[0], 3),
                "latency_median_s": round(statistics.median(latencies), 3),
                "latency_max_s": round(latencies[-1], 3),
                "baseline_rss_mb": round(baseline / MiB, 1),
                "peak_rss_growth_mb": round(growth / 1024, 1),
                "rss_growth_kb_per_request": round(growth / count, 1),
                "processes": len(server.tree()),
            }
        except (RuntimeError, ValueError, OSError) as error:
            row["error"] = repr(error)[-1500:]
    return row


# ---------------------------------------------------------------------------------------------
# W7: W1 with opt-in instance reuse, against jco serve (which reuses one instance by default)

REUSE = 1000
"""Requests per instance in W7 (`--reuse-instances`): high enough that instantiation is rare."""


def w7(bench: Bench) -> Section:
    """hello-proxy with `--reuse-instances` against jco serve's reused instance."""
    section = Section("W7", f"hello-proxy with --reuse-instances {REUSE}, against jco serve")
    wasm = bench.components["hello-proxy"]
    extra = ("--reuse-instances", str(REUSE))
    plan: Plan = [
        (targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy",
                         name="spin-py reuse", extra=extra), ["/hello-proxy"]),
        (targets.spin_py("hello", procs.free_port(), bench.state_dir(), "/hello-proxy",
                         name="spin-py fresh"), ["/hello-proxy"]),
    ]  # fmt: skip
    if bench.tools.jco_js is not None and bench.options.with_jco:
        jco = targets.jco_serve(bench.tools.jco_js, wasm, procs.free_port(), "/hello-proxy")
        plan.append((jco, ["/hello-proxy"]))
    elif bench.tools.jco_error:
        section.notes.append(f"jco serve not measured: {bench.tools.jco_error}")
    section.rows += throughput(bench, plan)
    reuse = section.row("spin-py reuse")
    value = _div(reuse.get("rps"), section.row("jco serve").get("rps"))
    section.ratio("req/s spin-py reuse / jco serve", value, ">= 1.0", _at_least(value, 1.0))
    gain = _div(reuse.get("rps"), section.row("spin-py fresh").get("rps"))
    section.ratio("req/s spin-py reuse / fresh", gain, "(diagnostic)", None)
    return section


WORKLOADS = {
    "W1": w1,
    "W1js": w1js,
    "W2": w2,
    "W3": w3,
    "W4": w4,
    "W5": w5,
    "W6": w6,
    "W7": w7,
}
