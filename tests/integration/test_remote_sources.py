"""Remote component sources (`source = { url, digest }`) through the real `spin-py up`.

A local HTTP server (a thread on a free port) serves a built component: the tiny component
compiled from its WAT to the binary component format. Each test has its own cache directory.
"""

from __future__ import annotations

import hashlib
import http.server
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import wasmtime

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py

Start = Callable[..., SpinPyProcess]

TINY_WAT = Path(__file__).resolve().parents[2] / "components" / "tiny" / "tiny.wat"

APP = """\
spin_manifest_version = 2

[application]
name = "remote"

[[trigger.http]]
route = "/..."
component = "tiny"

[component.tiny]
source = {{ url = "{url}", digest = "sha256:{digest}" }}
"""


@dataclass
class Served:
    """What the local HTTP server serves, and the paths it was asked for."""

    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def http_server() -> Iterator[Served]:
    served = Served(files={})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def component() -> bytes:
    return bytes(wasmtime.wat2wasm(TINY_WAT.read_text()))


def write_app(directory: Path, url: str, digest: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spin.toml").write_text(APP.format(url=url, digest=digest))
    return directory


def test_downloaded_once_then_served_offline(
    spin_py_server: Start, http_server: Served, component: bytes, tmp_path: Path
) -> None:
    digest = hashlib.sha256(component).hexdigest()
    http_server.files["/tiny.wasm"] = component
    app = write_app(tmp_path / "app", f"{http_server.base_url}/tiny.wasm", digest)
    env = {"SPIN_PY_CACHE_DIR": str(tmp_path / "cache")}

    first = spin_py_server(app, env=env)
    assert raw_request(first.base_url, "GET", "/x").body == b"5\r\nhello\r\n0\r\n\r\n"
    stderr = first.stop().stderr
    assert http_server.requests == ["/tiny.wasm"]
    assert f'Downloading component "tiny" from {http_server.base_url}/tiny.wasm' in stderr
    cached = tmp_path / "cache" / "sources" / f"{digest}.wasm"
    assert cached.read_bytes() == component
    assert stat.S_IMODE(cached.stat().st_mode) == 0o644  # readable by the image's user

    http_server.files.clear()  # the server no longer has it: the next run must not need it
    second = spin_py_server(app, env=env)
    assert raw_request(second.base_url, "GET", "/y").status == 200
    assert "Downloading" not in second.stop().stderr
    assert http_server.requests == ["/tiny.wasm"]


def test_a_digest_mismatch_is_an_error_and_caches_nothing(
    http_server: Served, component: bytes, tmp_path: Path
) -> None:
    http_server.files["/tiny.wasm"] = component
    wrong = "0" * 64
    app = write_app(tmp_path / "app", f"{http_server.base_url}/tiny.wasm", wrong)
    cache = tmp_path / "cache"
    result = run_spin_py("up", "-f", str(app), env={"SPIN_PY_CACHE_DIR": str(cache)})
    assert result.returncode == 1
    actual = hashlib.sha256(component).hexdigest()
    assert result.stderr.strip().splitlines()[-1] == (
        f'Error: component "tiny": the file downloaded from {http_server.base_url}/tiny.wasm '
        f"does not match the manifest's digest (expected sha256:{wrong}, got sha256:{actual}); "
        "nothing was cached"
    )
    assert list((cache / "sources").iterdir()) == []  # no file, no temporary left


def test_a_corrupted_cached_copy_is_downloaded_again(
    spin_py_server: Start, http_server: Served, component: bytes, tmp_path: Path
) -> None:
    digest = hashlib.sha256(component).hexdigest()
    http_server.files["/c.wasm"] = component
    cached = tmp_path / "cache" / "sources" / f"{digest}.wasm"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(component[:100])
    app = write_app(tmp_path / "app", f"{http_server.base_url}/c.wasm", digest)
    server = spin_py_server(app, env={"SPIN_PY_CACHE_DIR": str(tmp_path / "cache")})
    assert raw_request(server.base_url, "GET", "/").status == 200
    assert http_server.requests == ["/c.wasm"]
    assert cached.read_bytes() == component


def test_an_unreachable_url_names_the_component_and_the_status(
    http_server: Served, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "app", f"{http_server.base_url}/missing.wasm", "a" * 64)
    result = run_spin_py("up", "-f", str(app), env={"SPIN_PY_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 1
    assert (
        f'Error: component "tiny": cannot download {http_server.base_url}/missing.wasm: '
        "HTTP 404 Not Found"
    ) in result.stderr
