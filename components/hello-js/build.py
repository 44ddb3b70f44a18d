"""Build the hello-js component: JavaScript (app.js) made a component by componentize-js.

Usage: ``python components/hello-js/build.py [--out PATH] [--force]``

A variant of ``components/build.py`` (whose cache directory and atomic publishing it reuses)
for a JavaScript guest:

1. componentize-js (npm ``@bytecodealliance/componentize-js``, version `COMPONENTIZE_JS_VERSION`)
   is installed once with npm into ``<cache>/node/componentize-js-<version>/`` (installed into a
   temporary directory, then renamed into place, so concurrent builds are safe);
2. the WIT: the plain ``wasi:http/proxy`` world at the wasi version the embedded StarlingMonkey
   engine exports (read from the engine's own exports, e.g. ``0.2.10``). The wasi packages come
   from the newest 0.2.x WIT that the installed jco package (a dependency of componentize-js)
   ships, relabelled to that version: wasi 0.2.x releases only add functions, so the newer text
   describes every function the engine uses;
3. ``componentize({sourcePath, witPath, worldName})`` runs under node, about 20-40 s.

The result is cached by the hash of app.js, the WIT, the componentize-js and engine versions
and this recipe's version, then copied to ``components/hello-js/build/hello-js.wasm``
(gitignored) or ``--out``. Standard output is one line, ``<status> <path>`` (``built`` or
``cached``), as from ``components/build.py``. Needs node and npm on PATH.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

NAME = "hello-js"
RECIPE_VERSION = "1"
COMPONENTIZE_JS = "@bytecodealliance/componentize-js"
COMPONENTIZE_JS_VERSION = "0.23.0"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE = HERE / "app.js"
WORLD = "proxy"
NPM_TIMEOUT = 900.0
BUILD_TIMEOUT = 900.0

# Runs componentize-js: argv = module path, source, WIT dir, world, output.
DRIVER = """
const [modulePath, sourcePath, witPath, worldName, out] = process.argv.slice(1);
const { componentize } = await import(modulePath);
const { writeFile } = await import("node:fs/promises");
const { component } = await componentize({ sourcePath, witPath, worldName });
await writeFile(out, component);
"""


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


shared = _load("spin_py_components_build", REPO / "components" / "build.py")
BuildError = shared.BuildError


def tools_dir() -> Path:
    """Where componentize-js is installed (next to the component cache)."""
    return shared.cache_root().parent / "node" / f"componentize-js-{COMPONENTIZE_JS_VERSION}"


def package_dir(root: Path, package: str) -> Path:
    return root / "node_modules" / package


def ensure_componentize_js() -> Path:
    """Install componentize-js once (npm); return its install root."""
    root = tools_dir()
    if (package_dir(root, COMPONENTIZE_JS) / "package.json").is_file():
        return root
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not on PATH: install Node.js (with npm) to build hello-js")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        print(f"installing {COMPONENTIZE_JS}@{COMPONENTIZE_JS_VERSION} ...", file=sys.stderr)
        package = f"{COMPONENTIZE_JS}@{COMPONENTIZE_JS_VERSION}"
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(staging), package],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise BuildError(f"npm install {COMPONENTIZE_JS} failed:\n{result.stderr[-2000:]}")
        try:
            os.rename(staging, root)
        except OSError:  # another build installed it meanwhile
            if not (package_dir(root, COMPONENTIZE_JS) / "package.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def engine_wasi_version(root: Path) -> str:
    """The wasi version whose `incoming-handler.handle` the StarlingMonkey engine exports (its
    export names are plain strings in the module's export section)."""
    engine_wasm = package_dir(root, COMPONENTIZE_JS) / "lib" / "starlingmonkey_embedding.wasm"
    found = re.search(rb"wasi:http/incoming-handler@(0\.2\.\d+)#handle", engine_wasm.read_bytes())
    if found is None:
        raise BuildError(f"{engine_wasm} exports no wasi:http incoming-handler")
    return found.group(1).decode()


def wasi_wit_source(root: Path) -> tuple[str, Path]:
    """(version, directory) of the newest wasi 0.2.x WIT with wasi:http that jco ships."""
    builtin = package_dir(root, "@bytecodealliance/jco") / "lib" / "wit" / "builtin"
    found = []
    for directory in builtin.glob("0.2.*"):
        if (directory / "wasi-http").is_dir():
            found.append((int(directory.name.split(".")[2]), directory))
    if not found:
        raise BuildError(f"no wasi 0.2.x WIT with wasi:http under {builtin}")
    patch, directory = max(found)
    return f"0.2.{patch}", directory


def wit_files(root: Path) -> list[tuple[str, Path]]:
    _, directory = wasi_wit_source(root)
    return sorted((str(p.relative_to(directory)), p) for p in directory.rglob("*.wit"))


def stage_wit(root: Path, target: Path, version: str) -> None:
    """The WIT directory: a proxy world at `version` plus the relabelled wasi packages."""
    shipped, _ = wasi_wit_source(root)
    for rel, path in wit_files(root):
        destination = target / "deps" / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(path.read_text().replace(f"@{shipped}", f"@{version}"))
    world = f"world {WORLD} {{\n  include wasi:http/proxy@{version};\n}}\n"
    (target / "world.wit").write_text("package spinpy:components;\n\n" + world)


def input_hash(root: Path, version: str) -> str:
    digest = hashlib.sha256()
    digest.update("\0".join([RECIPE_VERSION, NAME, COMPONENTIZE_JS_VERSION, version]).encode())
    digest.update(b"\0src\0" + SOURCE.read_bytes())
    for rel, path in wit_files(root):
        digest.update(f"\0wit:{rel}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def componentize(root: Path, version: str, target: Path) -> None:
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is not on PATH: install Node.js to build hello-js")
    target.parent.mkdir(parents=True, exist_ok=True)
    module = package_dir(root, COMPONENTIZE_JS) / "src" / "componentize.js"
    with tempfile.TemporaryDirectory(prefix=f".{NAME}-", dir=target.parent) as tmp:
        stage = Path(tmp)
        stage_wit(root, stage / "wit", version)
        source = stage / "app.js"
        shutil.copyfile(SOURCE, source)
        output = stage / "out.wasm"
        command = [node, "--input-type=module", "-e", DRIVER, module.as_uri(),
                   str(source), str(stage / "wit"), WORLD, str(output)]  # fmt: skip
        result = subprocess.run(
            command, cwd=stage, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
        if result.returncode != 0 or not output.is_file():
            raise BuildError(f"componentize-js failed for {NAME}:\n{result.stderr[-3000:]}")
        os.replace(output, target)


def build(out: Path | None = None, force: bool = False) -> tuple[Path, str]:
    """Build (or fetch from the cache) hello-js; (path, "built" | "cached")."""
    root = ensure_componentize_js()
    version = engine_wasi_version(root)
    return shared.cached_build(
        NAME,
        input_hash(root, version),
        lambda target: componentize(root, version, target),
        out,
        force,
    )


def main(argv: list[str] | None = None) -> int:
    args = shared.option_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    return int(shared.run_and_report(NAME, lambda: build(args.out, args.force)))


if __name__ == "__main__":
    sys.exit(main())
