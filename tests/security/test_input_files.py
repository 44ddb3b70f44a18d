"""F11: manifest and source input: deeply nested TOML/JSON, FIFOs, devices, huge files.

Each case starts the real `spin-py up` and must end within seconds with exit status 1, one
`Error:` line naming the file and the problem, and no Python traceback. Before: deeply nested
TOML was a `RecursionError` traceback; a FIFO `source` hung startup (and ignored SIGTERM);
`source = "/dev/zero"` read without bound (3.2 GB in 10 s).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.server_fixtures import run_spin_py

HEADER = (
    'spin_manifest_version = 2\n[application]\nname = "input"\n'
    '[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n[component.c]\n'
)


def manifest(directory: Path, source: str = "c.wasm", extra: str = "") -> Path:
    path = directory / "spin.toml"
    path.write_text(HEADER + f"source = {source!r}\n" + extra)
    return path


def refused(*args: str, cwd: Path | None = None, expect: tuple[str, ...]) -> None:
    result = run_spin_py("up", *args, "--listen", "127.0.0.1:0", cwd=cwd, timeout=30)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.stderr
    for fragment in expect:
        assert fragment in error[0], error[0]


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_toml_in_the_manifest(tmp_path: Path, depth: int) -> None:
    nested = "x = " + "[" * depth + "]" * depth + "\n"
    path = manifest(tmp_path, extra="[component.c.tool]\n" + nested)
    refused("-f", str(path), expect=("spin.toml:1:1: invalid TOML", "nested too deeply"))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("runtime-config.toml", "x = " + "{a=" * 5_000 + "1" + "}" * 5_000),
        ("runtime-config.json", "[" * 100_000 + "]" * 100_000),
    ],
)
def test_deeply_nested_runtime_config(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    path = manifest(tmp_path)
    refused(
        "-f",
        str(path),
        "--runtime-config-file",
        str(tmp_path / name),
        expect=(name, "nested too deeply"),
    )


def test_deeply_nested_variables_file(tmp_path: Path) -> None:
    (tmp_path / "vars.json").write_text("{" + '"a": {' * 100_000 + "}" * 100_001)
    refused(
        "-f",
        str(manifest(tmp_path)),
        "--variable",
        f"@{tmp_path / 'vars.json'}",
        expect=("vars.json", "nested too deeply"),
    )


def test_a_fifo_source(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "c.wasm")
    refused("-f", str(manifest(tmp_path)), expect=('component "c"', "not a regular file (a FIFO)"))


def test_a_device_source(tmp_path: Path) -> None:
    path = manifest(tmp_path, source="/dev/zero")
    refused("-f", str(path), expect=("/dev/zero", "not a regular file (a character device)"))


def test_a_directory_source(tmp_path: Path) -> None:
    (tmp_path / "c.wasm").mkdir()
    refused("-f", str(manifest(tmp_path)), expect=('component "c"', "not a regular file"))


def test_a_huge_source(tmp_path: Path) -> None:
    with open(tmp_path / "c.wasm", "wb") as sparse:
        sparse.truncate(600 * 1024 * 1024)  # sparse: costs no disk
    refused("-f", str(manifest(tmp_path)), expect=('component "c"', "larger than 536870912 bytes"))


@pytest.mark.parametrize("option", ["--runtime-config-file", "--sqlite", "--variable"])
def test_fifo_input_files(tmp_path: Path, option: str) -> None:
    os.mkfifo(tmp_path / "input.toml")
    value = str(tmp_path / "input.toml")
    if option != "--runtime-config-file":
        value = "@" + value
    refused("-f", str(manifest(tmp_path)), option, value, expect=("input.toml", "a FIFO"))


def test_a_fifo_dotenv(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".env")
    refused("-f", str(manifest(tmp_path)), cwd=tmp_path, expect=(".env", "a FIFO"))


def test_a_fifo_manifest(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "spin.toml")
    for target in (tmp_path / "spin.toml", tmp_path):  # named, or found in its directory
        refused(
            "-f",
            str(target),
            expect=(str(tmp_path / "spin.toml"), "not a regular file (a FIFO)"),
        )


def test_a_device_manifest() -> None:
    refused("-f", "/dev/zero", expect=("/dev/zero", "not a regular file (a character device)"))
