"""Build the otel-demo component: the Spin Python SDK plus the opentelemetry-wasi guest library.

Usage: ``python components/otel-demo/build.py [--out PATH] [--force]``

This is a variant of ``components/build.py`` (whose cache, venv stand-in, componentize-py runner
and atomic publishing it reuses) for a component that combines two packages bringing their own
WIT: spin-sdk (world ``spin-http``) and ``guest/python/opentelemetry_wasi`` (world ``guest``,
importing wasi:otel/tracing). componentize-py gets one world per package:

    componentize-py -w spin-http componentize app -p app -p site \
        -m spin_sdk=spin-http -m opentelemetry_wasi=guest

The staged ``site`` directory holds copies of spin_sdk, the guest library (its WIT dependencies
assembled by ``opentelemetry_wasi.witdeps`` from the spin-sdk 5.0.0 wheel, downloaded once into
the cache) and the opentelemetry-api/sdk distributions with their dist-info (the API finds its
context implementation through entry points). The result is cached by the hash of all inputs
and copied to ``components/otel-demo/build/otel-demo.wasm`` (gitignored) or ``--out``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

NAME = "otel-demo"
# Bump when the recipe below changes, so cached outputs are not reused.
RECIPE_VERSION = "1"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APP_SOURCES = ("app.py",)
GUEST_PACKAGE = REPO / "guest" / "python" / "opentelemetry_wasi"
# Distributions bundled into the component, with their dependencies (extras excluded).
BUNDLED = ("opentelemetry-sdk",)
WORLDS = ("spin_sdk=spin-http", "opentelemetry_wasi=guest")


def _load(name: str, path: Path) -> ModuleType:
    """Import a Python file under a module name of our choosing."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


shared = _load("spin_py_components_build", REPO / "components" / "build.py")
witdeps = _load("opentelemetry_wasi_witdeps", GUEST_PACKAGE / "witdeps.py")
BuildError = shared.BuildError


def bundled_distributions() -> list[importlib.metadata.Distribution]:
    """`BUNDLED` and everything they require (extras excluded), sorted by name."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(BUNDLED)
    while pending:
        name = _normalize(pending.pop())
        if name in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise BuildError(f"{name} is not installed in this Python ({sys.executable})") from None
        found[name] = dist
        pending += [_requirement_name(r) for r in dist.requires or [] if "extra" not in r]
    return [found[name] for name in sorted(found)]


def _requirement_name(requirement: str) -> str:
    """The distribution name at the start of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return match.group(0)


def _normalize(name: str) -> str:
    """A distribution name in its canonical form (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_files(dist: importlib.metadata.Distribution) -> list[tuple[str, Path]]:
    """A distribution's installed files inside site-packages, as (relative path, path)."""
    files = []
    for entry in dist.files or []:
        rel = str(entry)
        if rel.startswith("..") or "__pycache__" in entry.parts or rel.endswith(".pyc"):
            continue
        files.append((rel, Path(str(dist.locate_file(entry)))))
    return sorted(files)


def guest_files() -> list[tuple[str, Path]]:
    """The guest library's own files (not its assembled WIT deps), as (relative path, path)."""
    files = []
    for path in sorted(GUEST_PACKAGE.rglob("*")):
        rel = path.relative_to(GUEST_PACKAGE)
        if path.is_file() and "__pycache__" not in rel.parts and rel.parts[:2] != ("wit", "deps"):
            files.append((str(rel), path))
    return files


def input_hash() -> str:
    """The sha256 over everything that determines the built component."""
    digest = hashlib.sha256()
    versions = [f"{d.metadata['Name']}=={d.version}" for d in bundled_distributions()]
    header = [
        shared.RECIPE_VERSION,
        RECIPE_VERSION,
        NAME,
        *WORLDS,
        shared.package_version("componentize-py"),
        shared.package_version("spin-sdk"),
        witdeps.WHEEL_SHA256,
        *versions,
    ]
    digest.update("\0".join(header).encode())
    app = [(name, HERE / name) for name in APP_SOURCES]
    for group, files in (("app", app), ("guest", guest_files())):
        for rel, path in files:
            digest.update(f"\0{group}:{rel}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def stage(stage_dir: Path) -> list[str]:
    """Lay out the build inputs under ``stage_dir``; return the componentize-py arguments."""
    app_dir, site = stage_dir / "app", stage_dir / "site"
    app_dir.mkdir()
    for name in APP_SOURCES:
        shutil.copyfile(HERE / name, app_dir / name)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (stage_dir / "venv" / "lib" / version / "site-packages").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(shared.spin_sdk_dir(), site / "spin_sdk", ignore=ignore)
    for rel, path in guest_files():
        _copy(path, site / "opentelemetry_wasi" / rel)
    for dist in bundled_distributions():
        for rel, path in distribution_files(dist):
            _copy(path, site / rel)
    try:
        witdeps.assemble(site / "opentelemetry_wasi", shared.cache_root().parent / "downloads")
    except witdeps.WitDepsError as error:
        raise BuildError(str(error)) from None
    worlds = [arg for world in WORLDS for arg in ("-m", world)]
    return ["-w", "spin-http", "componentize", "app", "-p", str(app_dir), "-p", str(site), *worlds]


def _copy(source: Path, target: Path) -> None:
    """Copy one file, creating its directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def componentize(target: Path) -> None:
    """Run componentize-py on a fresh stage; write the component to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{NAME}-", dir=target.parent) as tmp:
        stage_dir = Path(tmp)
        output = stage_dir / "out.wasm"
        args = [*stage(stage_dir), "-o", str(output)]
        env = dict(os.environ, VIRTUAL_ENV=str(stage_dir / "venv"), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-c", shared.COMPONENTIZE, *args]
        with shared._ticking(f"{NAME}: componentize-py is building"):
            result = subprocess.run(command, cwd=stage_dir, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not output.is_file():
            raise BuildError(
                f"componentize-py failed for {NAME}:\n{result.stderr or result.stdout}"
            )
        os.replace(output, target)


def build(out: Path | None = None, force: bool = False) -> tuple[Path, str]:
    """Build (or fetch from the cache) the component; (its path, "built" | "cached")."""
    return shared.cached_build(NAME, input_hash(), componentize, out, force)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: build the component and report where it is."""
    args = shared.option_parser(__doc__.split("\n\n")[0]).parse_args(argv)

    def run() -> tuple[Path, str]:
        script = Path(sys.argv[0]).absolute() if argv is None else Path(__file__)
        shared.ensure_build_python(script, sys.argv[1:] if argv is None else argv)
        return build(args.out, args.force)

    return int(shared.run_and_report(NAME, run))


if __name__ == "__main__":
    sys.exit(main())
