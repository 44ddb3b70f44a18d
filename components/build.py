"""Build one of spin-py's test components, with a cache keyed by the hash of its inputs.

Usage: ``python components/build.py <name> [--out PATH] [--force]``

Python components are built with componentize-py (run in-process by this interpreter, so the
interpreter must be the project venv's). The result is kept in a cache outside git,
``${SPIN_PY_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/spin-py}/components/<name>-<hash16>.wasm``,
and copied to ``components/<name>/build/<name>.wasm`` (gitignored), or to ``--out``. The hash
covers the component's source files, the shared helper it uses, the WIT it targets, the
componentize-py and spin-sdk versions and this script's recipe version, so a build only runs
when one of those changed. Writes go to a temporary file renamed into place, so concurrent
builds of the same component are safe (the last rename wins; both results are identical).

Text-format components (``tiny``, ``wasip3``) need no build: the ``.wat`` file is the source
that hosts load, and this script only copies it when ``--out`` asks for a copy.

Standard output is one line, ``<status> <path>``: status ``built`` (cache miss), ``cached``
(cache hit) or ``source`` (a text component, nothing to build); the path is the component to
load (the copy in ``build/``, ``--out``, or the ``.wat`` itself). Timing goes to stderr.

The script needs componentize-py and spin-sdk (spin-py's ``build`` extra). Run by a Python that
lacks them (``python3`` on a user's ``PATH``: ``spin-py build`` runs commands with the user's
environment), it re-runs itself with the Python in ``SPIN_PY_PYTHON`` (which ``spin-py build``
sets to the Python running spin-py), else with the project's ``.venv/bin/python``.

Two componentize-py behaviours shape the build. A package on the Python path that carries a
``componentize-py.toml`` (spin-sdk does) brings its own WIT, which then replaces ``-d``; and
when ``VIRTUAL_ENV`` is unset, componentize-py adds the site-packages of the ``python`` found on
``PATH``. So builds run from a staging directory holding copies of exactly the modules needed,
with ``VIRTUAL_ENV`` pointing at an empty stand-in venv.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Bump when the way components are built changes, so cached outputs are not reused.
RECIPE_VERSION = "1"

COMPONENTS_DIR = Path(__file__).resolve().parent
WORLD_FILE = COMPONENTS_DIR / "wit" / "world.wit"
SHARED_HELPER = COMPONENTS_DIR / "shared" / "proxy_io.py"
# The wasi 0.2.0 packages (under spin_sdk/wit/deps) that the proxy worlds need.
WASI_DEPS = ("cli", "clocks", "filesystem", "http", "io", "random", "sockets")
# Runs componentize-py's command line inside this interpreter (no console script needed).
COMPONENTIZE = (
    "import sys; from componentize_py import script; "
    "sys.argv[0] = 'componentize-py'; sys.exit(script())"
)


@dataclass(frozen=True)
class Recipe:
    """How one component is built."""

    world: str
    spin_sdk: bool = False  # True: Spin SDK world from the SDK's own WIT; else components/wit
    wat: str | None = None  # a text-format component: the file name, nothing to build


RECIPES: dict[str, Recipe] = {
    "hello": Recipe(world="spin-http", spin_sdk=True),
    "hello-proxy": Recipe(world="proxy"),
    "echo": Recipe(world="proxy"),
    "compat-probe": Recipe(world="proxy"),
    "misbehave": Recipe(world="misbehave"),
    "tiny": Recipe(world="", wat="tiny.wat"),
    "wasip3": Recipe(world="", wat="wasip3.wat"),
    "kv-counter": Recipe(world="spin-http", spin_sdk=True),
    "todo": Recipe(world="spin-http", spin_sdk=True),
    "config": Recipe(world="spin-http", spin_sdk=True),
    "platform-probe": Recipe(world="spin-http", spin_sdk=True),
    "proxy": Recipe(world="spin-http", spin_sdk=True),
    "chain-front": Recipe(world="spin-http", spin_sdk=True),
    "chain-back": Recipe(world="spin-http", spin_sdk=True),
    "attack": Recipe(world="spin-http", spin_sdk=True),
    "grow-table": Recipe(world="", wat="grow-table.wat"),
}


class BuildError(Exception):
    """A component could not be built; the message says why."""


TRIED_ENV_VAR = "SPIN_PY_BUILD_PYTHONS_TRIED"
"""Pythons already re-run with (so a candidate without the tools is not tried twice)."""
BUILD_MODULES = ("componentize_py", "spin_sdk")
"""What a Python needs to run these build scripts."""


def has_build_tools() -> bool:
    """Whether this Python has componentize-py and spin-sdk."""
    return all(importlib.util.find_spec(name) is not None for name in BUILD_MODULES)


def build_python_candidates() -> list[Path]:
    """Pythons that may have the build tools: ``$SPIN_PY_PYTHON``, the project's venv."""
    found = [os.environ.get("SPIN_PY_PYTHON", ""), str(COMPONENTS_DIR.parent / ".venv/bin/python")]
    return [Path(p) for p in found if p and Path(p).is_file()]


def ensure_build_python(script: Path, argv: list[str]) -> None:
    """Re-run ``script argv`` with a Python that has the build tools, if this one lacks them
    (never returns then); return when this Python will do. Raises `BuildError` if none has."""
    if has_build_tools():
        return
    tried = [p for p in os.environ.get(TRIED_ENV_VAR, "").split(os.pathsep) if p]
    tried.append(str(Path(sys.executable).absolute()))
    for python in build_python_candidates():
        if str(python.absolute()) not in tried:
            os.environ[TRIED_ENV_VAR] = os.pathsep.join(tried)
            os.execv(python, [str(python), str(script), *argv])
    raise BuildError(
        f"componentize-py and spin-sdk are not installed in {sys.executable}: run `make setup`, "
        "or run this script with the Python of spin-py's virtual environment"
    )


def cache_root() -> Path:
    """The directory for cached component builds (created on demand)."""
    base = os.environ.get("SPIN_PY_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "spin-py")
    return Path(base).expanduser() / "components"


def spin_sdk_dir() -> Path:
    """The installed ``spin_sdk`` package directory (found without importing it)."""
    spec = importlib.util.find_spec("spin_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("spin-sdk is not installed in this Python (pip install spin-sdk==3.4.1)")
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(name: str) -> str:
    """The installed version of a distribution, or a clear error when it is missing."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"{name} is not installed in this Python ({sys.executable})") from None


def source_files(name: str, recipe: Recipe) -> list[tuple[str, Path]]:
    """The component's Python sources as (name inside the app, path), sorted by name."""
    component_dir = COMPONENTS_DIR / name
    files = [(path.name, path) for path in sorted(component_dir.glob("*.py"))]
    if not files:
        raise BuildError(f"no Python sources in {component_dir}")
    if not recipe.spin_sdk:
        files.append((SHARED_HELPER.name, SHARED_HELPER))
    return sorted(files)


def wit_files(recipe: Recipe) -> list[tuple[str, Path]]:
    """The WIT inputs as (path inside the assembled WIT directory, path), sorted."""
    if recipe.spin_sdk:
        root = spin_sdk_dir() / "wit"
        return sorted((str(p.relative_to(root)), p) for p in root.rglob("*.wit"))
    deps = spin_sdk_dir() / "wit" / "deps"
    files = [("world.wit", WORLD_FILE)]
    for dep in WASI_DEPS:
        files += [(f"deps/{p.relative_to(deps)}", p) for p in (deps / dep).rglob("*.wit")]
    return sorted(files)


def input_hash(name: str, recipe: Recipe) -> str:
    """The sha256 over everything that determines the built component."""
    digest = hashlib.sha256()
    header = [
        RECIPE_VERSION,
        name,
        recipe.world,
        str(recipe.spin_sdk),
        package_version("componentize-py"),
        package_version("spin-sdk"),
    ]
    digest.update("\0".join(header).encode())
    for group, files in (("src", source_files(name, recipe)), ("wit", wit_files(recipe))):
        for rel, path in files:
            digest.update(f"\0{group}:{rel}\0{path.stat().st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def stage(stage_dir: Path, name: str, recipe: Recipe) -> list[str]:
    """Lay out the build inputs under ``stage_dir``; return the componentize-py arguments."""
    app_dir = stage_dir / "app"
    app_dir.mkdir()
    for rel, path in source_files(name, recipe):
        shutil.copyfile(path, app_dir / rel)
    # An empty stand-in venv, so componentize-py adds no site-packages of its own.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (stage_dir / "venv" / "lib" / version / "site-packages").mkdir(parents=True)
    if recipe.spin_sdk:
        sdk_dir = stage_dir / "sdk"
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(spin_sdk_dir(), sdk_dir / "spin_sdk", ignore=ignore)
        return ["-w", recipe.world, "componentize", "app", "-p", str(app_dir), "-p", str(sdk_dir)]
    wit_dir = stage_dir / "wit"
    for rel, path in wit_files(recipe):
        (wit_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, wit_dir / rel)
    return ["-d", str(wit_dir), "-w", recipe.world, "componentize", "app", "-p", str(app_dir)]


def componentize(name: str, recipe: Recipe, target: Path) -> None:
    """Run componentize-py for the component; write the result to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=target.parent) as tmp:
        stage_dir = Path(tmp)
        output = stage_dir / "out.wasm"
        args = [*stage(stage_dir, name, recipe), "-o", str(output)]
        env = dict(os.environ, VIRTUAL_ENV=str(stage_dir / "venv"), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-c", COMPONENTIZE, *args]
        with _ticking(f"{name}: componentize-py is building"):
            result = subprocess.run(command, cwd=stage_dir, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not output.is_file():
            detail = result.stderr or result.stdout
            raise BuildError(f"componentize-py failed for {name}:\n{detail}")
        os.replace(output, target)


TICK_SECONDS = 10.0
"""How often a long componentize-py run says it is still going (on stderr)."""

KEEP_BUILDS = 3
"""Cached builds kept per component (the newest); older ones are removed after a build."""


@contextlib.contextmanager
def _ticking(what: str) -> Iterator[None]:
    """Say on stderr, every `TICK_SECONDS`, that `what` is still going and for how long."""
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            print(f"{what}... {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def prune(name: str, keep: Path) -> None:
    """Remove all but the newest `KEEP_BUILDS` cached builds of `name` (never `keep`), so the
    cache does not grow with every edit of a component's source."""
    builds = sorted(
        cache_root().glob(f"{name}-" + "[0-9a-f]" * 16 + ".wasm"),
        key=lambda p: p.stat().st_mtime if p.exists() else 0.0,
        reverse=True,
    )
    for old in builds[KEEP_BUILDS:]:
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()


def publish(source: Path, destination: Path) -> None:
    """Place a copy of ``source`` at ``destination`` atomically (hard link when possible)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists() and os.path.samefile(source, destination):
        # Already a link to it. (Renaming a second link of the same file onto it would do
        # nothing, as POSIX rename does for two links to one file, and leave the temporary.)
        return
    temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, destination)


def cached_build(
    name: str, digest: str, make: Callable[[Path], None], out: Path | None, force: bool
) -> tuple[Path, str]:
    """The cached build of `name` for inputs hashing to `digest`, made by `make(target)` on a
    miss (or with `force`, older builds then pruned) and published to `out`, else to
    ``components/<name>/build/<name>.wasm``. Returns (that path, ``built`` or ``cached``)."""
    cached = cache_root() / f"{name}-{digest[:16]}.wasm"
    status = "built" if force or not cached.is_file() else "cached"
    if status == "built":
        make(cached)
        prune(name, keep=cached)
    destination = out or COMPONENTS_DIR / name / "build" / f"{name}.wasm"
    publish(cached, destination)
    return destination, status


def option_parser(description: str) -> argparse.ArgumentParser:
    """The options every build script takes: ``--out PATH`` and ``--force``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, help="where to put the component")
    parser.add_argument("--force", action="store_true", help="rebuild even on a cache hit")
    return parser


def run_and_report(name: str, build: Callable[[], tuple[Path, str]]) -> int:
    """Run `build` and report as every build script does: ``<name>: <status> in <s>`` on
    stderr and ``<status> <path>`` on stdout, or one ``error:`` line and exit status 1."""
    started = time.monotonic()
    try:
        path, status = build()
    except (BuildError, OSError, subprocess.TimeoutExpired) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{name}: {status} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(f"{status} {path}")
    return 0


def build(name: str, out: Path | None = None, force: bool = False) -> tuple[Path, str]:
    """Build (or fetch from the cache) component ``name``.

    Returns the path to load and a status: ``built``, ``cached`` or ``source`` (text format).
    """
    recipe = RECIPES.get(name)
    if recipe is None:
        raise BuildError(f"unknown component {name!r}; known: {', '.join(sorted(RECIPES))}")
    if recipe.wat is not None:
        source = COMPONENTS_DIR / name / recipe.wat
        if out is None:
            return source, "source"
        publish(source, out)
        return out, "source"
    return cached_build(
        name,
        input_hash(name, recipe),
        lambda target: componentize(name, recipe, target),
        out,
        force,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: build one component and report where it is."""
    parser = option_parser(__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    args = parser.parse_args(argv)

    def run() -> tuple[Path, str]:
        if RECIPES[args.name].wat is None:
            ensure_build_python(Path(__file__), sys.argv[1:] if argv is None else argv)
        return build(args.name, args.out, args.force)

    return run_and_report(args.name, run)


if __name__ == "__main__":
    sys.exit(main())
