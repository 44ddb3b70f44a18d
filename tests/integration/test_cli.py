"""`spin-py up` as a user runs it: startup listing, listen options, errors, signals, components."""

from __future__ import annotations

import json
import shutil
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py, start_spin_py

STATIC_APP = Path(__file__).resolve().parents[2] / "manifests" / "static"

Start = Callable[..., SpinPyProcess]

COMPONENT_APP = """\
spin_manifest_version = 2

[application]
name = "mixed"

[[trigger.http]]
route = "/hello/..."
component = "hello"

[[trigger.http]]
route = { private = true }
component = "secret"

[[trigger.http]]
id = "ping"
route = "/ping"
static_response = { body = "pong" }

[component.hello]
source = "hello.wat"

[component.secret]
source = "secret.wat"
"""

TINY_WAT = Path(__file__).resolve().parents[2] / "components" / "tiny" / "tiny.wat"


@pytest.fixture
def component_app(tmp_path: Path) -> Path:
    (tmp_path / "spin.toml").write_text(COMPONENT_APP)
    for name in ("hello.wat", "secret.wat"):
        shutil.copyfile(TINY_WAT, tmp_path / name)
    return tmp_path


@pytest.fixture
def busy_socket() -> Iterator[socket.socket]:
    """A socket listening on a kernel-chosen port of 127.0.0.1, i.e. a busy port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def error_line(stderr: str) -> str:
    """The `Error: ...` line of a failed run (log lines may come before it)."""
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def expected_listing(base: str) -> str:
    return (
        f"Serving {base}\n"
        "Available Routes:\n"
        f"  home: {base}/\n"
        f"  hello: {base}/hello\n"
        f"  teapot: {base}/teapot\n"
        f"  api: {base}/api (wildcard)\n"
        f"  reserved: {base}/.well-known/spin/custom\n"
    )


def test_plain_listing(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP)
    finished = server.stop()
    assert finished.returncode == 0
    assert finished.stdout == expected_listing(server.base_url)
    assert server.base_url.startswith("http://127.0.0.1:")


def test_json_listing(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP, "--format", "json")
    listing = json.loads(server.stop().stdout)
    base = server.base_url
    assert listing["url"] == base
    assert [(r["id"], r["url"], r["wildcard"]) for r in listing["routes"]] == [
        ("home", f"{base}/", False),
        ("hello", f"{base}/hello", False),
        ("teapot", f"{base}/teapot", False),
        ("api", f"{base}/api", True),
        ("reserved", f"{base}/.well-known/spin/custom", False),
    ]
    assert listing["routes"][3]["route"] == "/api/..."


def test_listing_uses_component_ids_and_hides_private_routes(
    spin_py_server: Start, component_app: Path
) -> None:
    server = spin_py_server(component_app)
    stdout = server.stop().stdout
    base = server.base_url
    assert stdout.splitlines()[1:] == [
        "Available Routes:",
        f"  hello: {base}/hello (wildcard)",
        f"  ping: {base}/ping",
    ]


def test_component_route_runs_the_component(spin_py_server: Start, component_app: Path) -> None:
    server = spin_py_server(component_app)
    response = raw_request(server.base_url, "GET", "/hello/world")
    assert response.status == 200
    # tiny sets no content-length, so the body arrives chunked (raw_request does not decode it)
    assert response.body == b"5\r\nhello\r\n0\r\n\r\n"
    assert response.header_names() == {"date", "transfer-encoding"}
    assert raw_request(server.base_url, "GET", "/ping").body == b"pong"
    finished = server.stop()
    assert "Traceback" not in finished.stderr


def test_component_that_cannot_load_stops_startup(tmp_path: Path) -> None:
    (tmp_path / "spin.toml").write_text(COMPONENT_APP)
    for name in ("hello.wat", "secret.wat"):
        (tmp_path / name).write_bytes(b"\0asm\x01\0\0\0")
    result = run_spin_py("up", "-f", str(tmp_path), "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert "hello" in result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_file_path_and_default_in_cwd(spin_py_server: Start) -> None:
    by_file = spin_py_server(STATIC_APP / "spin.toml")
    assert raw_request(by_file.base_url, "GET", "/hello").status == 200
    by_default = start_spin_py("spin.toml", cwd=STATIC_APP)
    try:
        assert raw_request(by_default.base_url, "GET", "/hello").status == 200
    finally:
        assert by_default.stop().returncode == 0


def test_listen_from_environment(spin_py_server: Start, busy_socket: socket.socket) -> None:
    port = busy_socket.getsockname()[1]
    result = run_spin_py(
        "up", "-f", str(STATIC_APP), env={"SPIN_HTTP_LISTEN_ADDR": f"127.0.0.1:{port}"}
    )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in error_line(result.stderr)


def test_ipv6_listen_address(spin_py_server: Start) -> None:
    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 on this machine")
    server = spin_py_server(STATIC_APP, listen="[::1]:0")
    assert server.base_url.startswith("http://[::1]:")
    assert raw_request(server.base_url, "GET", "/hello").status == 200


def test_busy_port_suggests_find_free_port(busy_socket: socket.socket) -> None:
    port = busy_socket.getsockname()[1]
    result = run_spin_py("up", "-f", str(STATIC_APP), "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "--find-free-port" in error_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert "Serving" not in result.stdout


def test_find_free_port_uses_a_following_port(
    spin_py_server: Start, busy_socket: socket.socket
) -> None:
    port = busy_socket.getsockname()[1]
    server = spin_py_server(STATIC_APP, "--find-free-port", listen=f"127.0.0.1:{port}")
    assert port < server.port < port + 10
    assert raw_request(server.base_url, "GET", "/hello").status == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nonsense"], "invalid listen address"),
        (["--listen", "127.0.0.1:99999"], "invalid listen address"),
        (["-e", "NOEQUALS"], "KEY=VALUE"),
    ],
)
def test_bad_options(args: list[str], message: str) -> None:
    result = run_spin_py("up", "-f", str(STATIC_APP), *args)
    assert result.returncode == 1
    assert message in error_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_broken_manifest(tmp_path: Path) -> None:
    (tmp_path / "spin.toml").write_text('spin_manifest_version = 2\n[application]\nnme = "x"\n')
    result = run_spin_py("up", "-f", str(tmp_path))
    assert result.returncode == 1
    assert "spin.toml" in error_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_missing_manifest(tmp_path: Path) -> None:
    result = run_spin_py("up", "-f", str(tmp_path / "absent"))
    assert result.returncode == 1
    assert error_line(result.stderr)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(spin_py_server: Start, signum: int) -> None:
    server = spin_py_server(STATIC_APP)
    assert raw_request(server.base_url, "GET", "/hello").status == 200
    finished = server.stop(signum, timeout=8.0)
    assert finished.returncode == 0
    assert "Traceback" not in finished.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_up_build_runs_build_first(spin_py_server: Start, component_app: Path) -> None:
    manifest = component_app / "spin.toml"
    manifest.write_text(
        manifest.read_text() + '\n[component.hello.build]\ncommand = "echo built > marker"\n'
    )
    server = spin_py_server(component_app, "--build")
    assert (component_app / "marker").read_text() == "built\n"
    stdout = server.stop().stdout
    assert stdout.index("Building component") < stdout.index("Serving")
