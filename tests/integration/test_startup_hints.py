"""`spin-py up` errors and warnings that tell the user how to fix the mistake (real CLI runs)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py

Start = Callable[..., SpinPyProcess]

TINY_WAT = Path(__file__).resolve().parents[2] / "components" / "tiny" / "tiny.wat"

APP = """\
spin_manifest_version = 2

[application]
name = "hints"

[[trigger.http]]
route = "/..."
component = "app"

[component.app]
source = "{source}"
{extra}
"""

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def write_app(directory: Path, source: str = "app.wasm", extra: str = "") -> Path:
    (directory / "spin.toml").write_text(APP.format(source=source, extra=extra))
    return directory


def up_error(app: Path, *args: str) -> str:
    """The `Error: ...` line of a `spin-py up` that must fail at startup."""
    result = run_spin_py("up", "-f", str(app), "--listen", "127.0.0.1:0", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Serving" not in result.stdout
    return result.stderr.strip().splitlines()[-1]


def test_a_missing_source_with_a_build_command_suggests_building(tmp_path: Path) -> None:
    app = write_app(tmp_path, extra='[component.app.build]\ncommand = "make"\n')
    assert up_error(app) == (
        f'Error: component "app": source {tmp_path / "app.wasm"} does not exist; it has a '
        "build command: run `spin-py build` first (or `spin-py up --build`, or "
        "`spin-py watch`, which build before serving)"
    )


def test_a_missing_source_without_a_build_command(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    assert up_error(app) == f'Error: component "app": source {tmp_path / "app.wasm"} does not exist'


def test_an_image_as_source_is_not_a_webassembly_component(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG_HEAD)
    app = write_app(tmp_path, source="logo.png")
    assert up_error(app) == (
        f'Error: component "app": {tmp_path / "logo.png"} is not a WebAssembly component (it '
        "starts with b'\\x89PNG\\r\\n\\x1a\\n'; a component starts with b'\\x00asm'): check its "
        "`source` in the manifest"
    )


def test_a_text_file_as_source_is_not_a_webassembly_component(tmp_path: Path) -> None:
    (tmp_path / "app.wasm").write_text("Hello, I am a README\n")
    app = write_app(tmp_path)
    assert "is not a WebAssembly component (it starts with b'Hello, I'" in up_error(app)


def test_component_text_still_loads(spin_py_server: Start, tmp_path: Path) -> None:
    """Component text without the `.wat` suffix is still loaded as text, not refused."""
    (tmp_path / "app.wasm").write_text(TINY_WAT.read_text())
    server = spin_py_server(write_app(tmp_path))
    assert raw_request(server.base_url, "GET", "/").status == 200


def test_a_files_mount_whose_source_does_not_exist_fails_the_load(tmp_path: Path) -> None:
    shutil.copyfile(TINY_WAT, tmp_path / "app.wat")
    extra = 'files = [{ source = "static", destination = "/assets" }]\n'
    app = write_app(tmp_path, source="app.wat", extra=extra)
    assert up_error(app) == (
        f'Error: component "app": files mount source "static" ({tmp_path / "static"}) does '
        'not exist (mounted at "/assets")'
    )


def test_a_component_without_a_handler_names_the_supported_toolchains(tmp_path: Path) -> None:
    (tmp_path / "app.wat").write_text("(component)")
    app = write_app(tmp_path, source="app.wat")
    error = up_error(app)
    assert 'component "app" does not export a supported handler' in error
    assert error.endswith(
        "spin-py runs wasi:http 0.2 components: the Spin Python SDK 3.x built with "
        "componentize-py 0.17.x (the `http-py-p2` template), the Spin JS SDK 1.x, or any "
        "`wasi:http@0.2.x` component; spin-sdk 4.x/5.x build WASIp3 components, which spin-py "
        "cannot run (docs/compatibility.md)"
    )


def test_the_deprecated_base_warning_is_printed_once(tmp_path: Path) -> None:
    shutil.copyfile(TINY_WAT, tmp_path / "app.wat")
    manifest = APP.format(source="app.wat", extra="").replace(
        '[application]\nname = "hints"\n',
        '[application]\nname = "hints"\n[application.trigger.http]\nbase = "/"\n',
    )
    (tmp_path / "spin.toml").write_text(manifest)
    # fails later (a busy port), after every place that reads the manifest has read it
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_spin_py("up", "-f", str(tmp_path), "--listen", f"127.0.0.1:{port}", "--build")
    assert result.returncode == 1
    assert result.stderr.count("the HTTP base is deprecated") == 1, result.stderr


def test_an_unreachable_redis_store_stops_startup(tmp_path: Path) -> None:
    shutil.copyfile(TINY_WAT, tmp_path / "app.wat")
    app = write_app(tmp_path, source="app.wat", extra='key_value_stores = ["cache"]\n')
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        config = tmp_path / "runtime-config.toml"
        config.write_text(
            f'[key_value_store.cache]\ntype = "redis"\nurl = "redis://:s3cret@127.0.0.1:{port}/0"\n'
        )
        error = up_error(app, "--runtime-config-file", str(config))
    assert error.startswith(
        f'Error: key-value store "cache": cannot reach Redis at redis://:***@127.0.0.1:{port}/0: '
    )
    assert "s3cret" not in error
