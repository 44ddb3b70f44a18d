"""`spin-py cache info` / `cache clear`, and `SPIN_PY_CACHE_MAX_SIZE` on a real `spin-py up`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py

Start = Callable[..., SpinPyProcess]

TINY_WAT = Path(__file__).resolve().parents[2] / "components" / "tiny" / "tiny.wat"

APP = """\
spin_manifest_version = 2

[application]
name = "cached"

[[trigger.http]]
route = "/one"
component = "one"

[[trigger.http]]
route = "/two"
component = "two"

[component.one]
source = "one.wasm"

[component.two]
source = "two.wasm"
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """Two binary components with different bytes (so two compiled artifacts)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "spin.toml").write_text(APP)
    wat = TINY_WAT.read_text()
    (app / "one.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (app / "two.wasm").write_bytes(wasmtime.wat2wasm(wat.replace("hello", "howdy")))
    return app


def info_lines(env: dict[str, str]) -> list[str]:
    result = run_spin_py("cache", "info", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_info_and_clear(spin_py_server: Start, app_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"SPIN_PY_CACHE_DIR": str(cache)}
    (cache / "components").mkdir(parents=True)
    (cache / "components" / "other.bin").write_bytes(b"x" * 1000)
    server = spin_py_server(app_dir, env=env)
    assert raw_request(server.base_url, "GET", "/one").status == 200
    server.stop()

    lines = info_lines(env)
    assert lines[0] == f"Cache directory: {cache}"
    assert lines[1].startswith("  compiled components: 2 files, ")
    assert "(limit 2.1 GB, least recently used removed first" in lines[1]
    assert lines[2] == "  downloaded sources: 0 files, 0 B"
    assert lines[3].startswith("  other: 1 file, 1.0 kB")

    result = run_spin_py("cache", "clear", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Removed from {cache}: compiled components (2 files, ")
    assert list((cache / "compiled").glob("*.cwasm")) == []
    assert (cache / "components" / "other.bin").is_file()  # not spin-py's runtime cache
    assert info_lines(env)[1].startswith("  compiled components: 0 files, 0 B (limit")

    assert run_spin_py("cache", "clear", "--all", env=env).returncode == 0
    assert not cache.exists()


def test_the_size_cap_from_the_environment(
    spin_py_server: Start, app_dir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    env = {"SPIN_PY_CACHE_DIR": str(cache), "SPIN_PY_CACHE_MAX_SIZE": "1KB"}
    server = spin_py_server(app_dir, "--workers", "1", env=env)
    assert raw_request(server.base_url, "GET", "/one").body == b"5\r\nhello\r\n0\r\n\r\n"
    assert raw_request(server.base_url, "GET", "/two").body == b"5\r\nhowdy\r\n0\r\n\r\n"
    stderr = server.stop().stderr
    assert len(list((cache / "compiled").glob("*.cwasm"))) == 1  # both served, one kept
    assert "removed 1 least recently used artifact(s)" in stderr
    assert "(limit 1.0 kB," in info_lines(env)[1]


def test_a_bad_size_is_an_error(app_dir: Path) -> None:
    result = run_spin_py("up", "-f", str(app_dir), env={"SPIN_PY_CACHE_MAX_SIZE": "lots"})
    assert result.returncode == 1
    assert "Error: invalid size 'lots'" in result.stderr
