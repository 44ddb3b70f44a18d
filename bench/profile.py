"""Where a spin-py request spends its time: py-spy samples of a server under wrk load.

    .venv/bin/python -m bench.profile           # hello-proxy (W1), tiny (W2), echo 1 MiB (W3)
    .venv/bin/python -m bench.profile --seconds 15 --gil      # only the thread holding the GIL

For each app: start `spin-py up --workers 1` (one process, so py-spy sees all of it), load it
with wrk, record py-spy samples of every thread (`--threads`; `--gil` keeps only the thread
holding the GIL, `--native` adds C and wasmtime frames but then counts waiting threads as busy),
then summarise the collapsed stacks: samples per thread; per cost category (the deepest frame
that matches one of `CATEGORIES`); spin-py functions inclusive; the deepest spin-py /
wasmtime-py / aiohttp frame of each sample ("attributed"); the functions on the CPU (leaf).
The raw stacks stay in the scratch directory for flame graphs.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import procs, targets, tools, wrk

APPS = {
    "hello-proxy": ("hello", "/hello-proxy"),
    "hello-js": ("hello-js", "/hello-js"),
    "tiny": ("tiny", "/"),
    "echo": ("echo", "/echo"),
}
"""app -> (manifest, path). `echo` is loaded with 1 MiB POST bodies (bench/post_body.lua)."""
POST_SCRIPT = Path(__file__).resolve().parent / "post_body.lua"
ATTRIBUTED = ("spin_py/", "wasmtime/", "aiohttp/", "opentelemetry/", "asyncio/")
_LINE = re.compile(r":\d+\)$")


def _frame_key(frame: str) -> str:
    """`func (path/file.py:123)` -> `func (path/file.py)`; native frames unchanged."""
    return _LINE.sub(")", frame)


def parse_collapsed(lines: Iterable[str]) -> list[tuple[str, list[str], int]]:
    """py-spy raw output -> (thread, frames root-first, count)."""
    stacks = []
    for line in lines:
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1] if frames[0].startswith("thread") else "?"
        stacks.append((thread, [_frame_key(f) for f in frames[1:]], int(count)))
    return stacks


CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("wasmtime native: guest code + wasmtime", ("wasmtime_component_func_call (",)),
    ("wasmtime native: instantiate", ("wasmtime_component_linker_instantiate",)),
    ("wasmtime native: store drop", ("wasmtime_store_delete",)),
    ("wasmtime native: other calls", ("wasmtime/_bindings.py",)),
    ("wasmtime-py value conversion / FFI (Python)", ("wasmtime/", "ctypes/")),
    ("spin-py call glue (runtime/wasmtime_patches.py)", ("wasmtime_patches.py",)),
    ("spin-py host imports (wasi/*, spin/*)", ("spin_py/wasi/", "spin_py/spin_api/")),
    ("spin-py runtime (table, state, invoke, linking)", ("spin_py/runtime/",)),
    ("telemetry (spin-py spans, OTel SDK)", ("spin_py/telemetry/", "opentelemetry/", "trace/")),
    ("spin-py server / bridge", ("spin_py/server/",)),
    ("aiohttp", ("aiohttp/",)),
    ("asyncio, selectors, thread hand-off", ("asyncio/", "concurrent/", "threading", "selectors")),
]
"""Each sample goes to the category of its deepest frame that matches one (leaf first)."""


def categorise(frames: list[str]) -> str:
    """The cost category of one stack (see CATEGORIES), else `other`."""
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def _attributed(frames: list[str]) -> str:
    for frame in reversed(frames):
        if any(part in frame for part in ATTRIBUTED):
            return frame
    return frames[-1] if frames else "?"


def summarise(stacks: list[tuple[str, list[str], int]], top: int = 15) -> dict[str, Any]:
    """Samples per thread, top leaf frames and top attributed frames (all threads)."""
    total = sum(count for _, _, count in stacks) or 1
    threads: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    attributed: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    categories: collections.Counter[str] = collections.Counter()
    for thread, frames, count in stacks:
        threads[thread] += count
        leaf[f"[{thread}] {frames[-1] if frames else '?'}"] += count
        attributed[f"[{thread}] {_attributed(frames)}"] += count
        categories[f"[{thread}] {categorise(frames)}"] += count
        for frame in set(frames):
            if "spin_py/" in frame:
                inclusive[frame] += count

    def share(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "threads_pct": share(threads),
        "categories_pct": share(categories),
        "inclusive_spin_py_pct": share(inclusive),
        "leaf_pct": share(leaf),
        "attributed_pct": share(attributed),
    }


def profile_app(
    app: str, seconds: float, py_spy: Path, flags: list[str], work_dir: Path
) -> dict[str, Any]:
    """Profile one app under `wrk -t2 -c16` for `seconds`; the summary plus wrk's numbers."""
    manifest, path = APPS[app]
    state = Path(tempfile.mkdtemp(prefix="state-", dir=work_dir))
    target = targets.spin_py(manifest, procs.free_port(), state, path, workers=1)
    server = procs.start(f"profile-{app}", target.command, work_dir)
    raw = work_dir / f"profile-{app}.txt"
    settings = wrk.WrkSettings(duration=seconds + 4)
    with procs.running(server):
        server.wait_ready(target.url(), targets.READY_TIMEOUT)
        load_command = settings.command(target.url())
        if app == "echo":
            load_command[1:1] = ["-s", str(POST_SCRIPT)]
        load = subprocess.Popen(load_command, stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(2)
            command = [str(py_spy), "record", "--pid", str(server.pid)]
            command += ["--duration", f"{seconds:g}", "--rate", "200", "--format", "raw"]
            command += ["--threads", "-o", str(raw), *flags]
            subprocess.run(command, capture_output=True, timeout=seconds + 60, check=True)
        finally:
            output, _ = load.communicate(timeout=seconds + 60)
    summary = summarise(parse_collapsed(raw.read_text().splitlines()))
    result = wrk.parse(output)
    return {
        "app": app,
        "path": path,
        "raw_stacks": str(raw),
        "py_spy_flags": flags,
        "rps_under_profiler": result.rps,
        "py_spy_command": " ".join(command),
    } | summary


def print_summary(result: dict[str, Any]) -> None:
    """The summary as text."""
    print(
        f"\n== {result['app']} ({result['path']}): {result['samples']} samples, "
        f"{result['rps_under_profiler']:.0f} req/s while sampled"
    )
    for title, key in (
        ("threads", "threads_pct"),
        ("categories (deepest matching frame)", "categories_pct"),
        ("spin-py functions, inclusive", "inclusive_spin_py_pct"),
        ("attributed (deepest host frame)", "attributed_pct"),
        ("on CPU (leaf)", "leaf_pct"),
    ):
        print(f"-- {title}")
        for name, pct in result[key]:
            print(f"{pct:5.1f}%  {name}")


def main(argv: list[str] | None = None) -> None:
    """Profile the chosen apps and save the summaries next to the benchmark results."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--apps", default="hello-proxy,tiny,echo", help="comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--gil", action="store_true", help="only the thread holding the GIL")
    parser.add_argument("--native", action="store_true", help="C and wasmtime frames too")
    parser.add_argument("--tools-dir", type=Path, default=tools.default_tools_dir())
    args = parser.parse_args(argv)
    tools.ensure_wrk()
    py_spy = tools.ensure_py_spy(args.tools_dir)
    tools.build_components(["hello-proxy", "hello", "echo"])
    work_dir = Path(tempfile.mkdtemp(prefix="spin-py-profile-"))
    results = []
    for app in args.apps.split(","):
        flags = ["--gil"] * args.gil + ["--native"] * args.native
        result = profile_app(app.strip(), args.seconds, py_spy, flags, work_dir)
        print_summary(result)
        results.append(result)
    out = Path(__file__).resolve().parent / "results"
    out /= f"profile-{datetime.datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nsummary: {out}\nraw stacks: {work_dir}")


if __name__ == "__main__":
    main()
