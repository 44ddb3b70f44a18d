"""F13: protocol leniency, over raw sockets to real servers.

The echo example (`/.../json` answers what the component saw: authority, path-with-query and
`spin-full-url`) and the attack component (statuses, outbound requests) behind `spin-py up`:

- an invalid `Host` (`user@evil.example/x?y`, non-ASCII, a bad port) is `400` and reaches no
  component; a valid one, and none at all (HTTP/1.0), still work;
- an absolute-form target gives the component the target's authority and path
  (`spin-full-url` = `http://x/a/json?q=1`, not `http://xhttp://...`);
- `HTTP/0.9` and `HTTP/2.0` request lines are `505`;
- a guest that sets an informational status (`101`, `103`) as its final response gets a `500`
  and an error line, also through service chaining;
- outbound authorities with ports `+18090`, `1_8090` or non-ASCII digits are
  `HTTP-request-URI-invalid` (and such `allowed_outbound_hosts` entries a manifest error).
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.attack_apps import json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py, start_spin_py


def exchange(server: SpinPyProcess, request: bytes) -> tuple[bytes, bytes]:
    """(status line, body) of the response to raw `request` bytes (the connection closes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


@pytest.fixture(scope="module")
def echo(
    example_app: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SpinPyProcess]:
    state = tmp_path_factory.mktemp("state")
    running = start_spin_py(example_app("echo"), "--state-dir", str(state), "--workers", "1")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def attack(attack_wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpinPyProcess]:
    hosts = ["http://attack.spin.internal", "http://127.0.0.1:*"]
    manifest = write_attack_app(
        tmp_path_factory.mktemp("app"), attack_wasm, allowed_outbound_hosts=hosts
    )
    state = tmp_path_factory.mktemp("state")
    running = start_spin_py(manifest, "--state-dir", str(state), "--workers", "1")
    try:
        yield running
    finally:
        running.stop()


def get(target: str, host: bytes | None = b"x", version: bytes = b"HTTP/1.1") -> bytes:
    host_line = b"" if host is None else b"Host: " + host + b"\r\n"
    return (
        b"GET "
        + target.encode()
        + b" "
        + version
        + b"\r\n"
        + host_line
        + b"Connection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "host",
    [
        b"user@evil.example/x?y",
        b"evil.example/x",
        b"evil.example?x",
        b"evil.example#x",
        b"evil example",
        b"\xc3\xa9vil.example",
        b"evil.example:+80",
        b"evil.example:99999",
        b"[::1",
    ],
)
def test_an_invalid_host_is_400(echo: SpinPyProcess, host: bytes) -> None:
    status, body = exchange(echo, get("/a/json", host))
    assert status.startswith(b"HTTP/1.1 400"), status
    assert body == b""


@pytest.mark.parametrize(
    "host", [b"example.com", b"example.com:8080", b"127.0.0.1:3000", b"[::1]:80"]
)
def test_a_valid_host_reaches_the_component(echo: SpinPyProcess, host: bytes) -> None:
    status, body = exchange(echo, get("/a/json?q=1", host))
    assert status == b"HTTP/1.1 200 OK"
    seen = json.loads(body)
    assert seen["authority"] == host.decode()
    assert dict(seen["headers"])["spin-full-url"] == f"http://{host.decode()}/a/json?q=1"


def test_http_1_0_without_host_is_served(echo: SpinPyProcess) -> None:
    status, body = exchange(echo, get("/a/json", None, b"HTTP/1.0"))
    assert status.startswith(b"HTTP/1.0 200")
    assert dict(json.loads(body)["headers"])["spin-full-url"] == "http://localhost/a/json"


@pytest.mark.parametrize(
    ("target", "authority", "path"),
    [
        ("http://x/a/json?q=1", "x", "/a/json?q=1"),
        ("http://other:81/a/json", "other:81", "/a/json"),
        ("HTTP://x/a/json", "x", "/a/json"),
    ],
)
def test_an_absolute_form_target_is_normalised(
    echo: SpinPyProcess, target: str, authority: str, path: str
) -> None:
    status, body = exchange(echo, get(target, b"ignored"))
    assert status == b"HTTP/1.1 200 OK"
    seen = json.loads(body)
    assert (seen["authority"], seen["path_with_query"]) == (authority, path)
    assert dict(seen["headers"])["spin-full-url"] == f"http://{authority}{path}"


@pytest.mark.parametrize("target", ["ftp://x/a/json", "http://user@x/a/json", "http:///a/json"])
def test_a_bad_absolute_form_target_is_400(echo: SpinPyProcess, target: str) -> None:
    status, _ = exchange(echo, get(target))
    assert b" 400 " in status, status


@pytest.mark.parametrize(
    "request_line",
    [b"GET /a/json\r\n\r\n", b"GET /a/json HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n"],
)
def test_other_http_versions_are_505(echo: SpinPyProcess, request_line: bytes) -> None:
    status, body = exchange(echo, request_line)
    assert b" 505 " in status, status
    assert body == b""


@pytest.mark.parametrize("code", [100, 101, 103, 199])
def test_an_informational_final_status_is_500(attack: SpinPyProcess, code: int) -> None:
    status, body = exchange(attack, get(f"/status?code={code}"))
    assert body == b""
    assert status.startswith(b"HTTP/1.1 500"), status
    wait_for_log(attack, f"set the informational status {code} as its final response")


def test_an_informational_status_through_chaining_is_500(attack: SpinPyProcess) -> None:
    answer = json_call(attack.base_url, "/forward?mode=chain&to=status%3Fcode%3D103")
    assert answer == {"ok": 500}


@pytest.mark.parametrize(
    ("port", "refusal"),
    [
        ("+18090", "HttpRequestUriInvalid"),
        ("1_8090", "HttpRequestUriInvalid"),
        ("١٨٠٩٠", "refused-by-setter"),  # not URI text: `set-authority` already refuses it
    ],
)
def test_odd_outbound_ports_are_invalid_uris(
    attack: SpinPyProcess, port: str, refusal: str
) -> None:
    query = urllib.parse.quote(f"http://127.0.0.1:{port}/", safe="")
    assert json_call(attack.base_url, f"/fetch?url={query}") == {"err": refusal}


@pytest.mark.parametrize("port", ["+18090", "1_8090", "١٨٠٩٠"])
def test_odd_ports_in_allowed_outbound_hosts_are_manifest_errors(
    attack_wasm: Path, tmp_path: Path, port: str
) -> None:
    hosts = [f"http://127.0.0.1:{port}"]
    manifest = write_attack_app(tmp_path, attack_wasm, allowed_outbound_hosts=hosts)
    result = run_spin_py("up", "-f", str(manifest), "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert "allowed_outbound_hosts[0]" in result.stderr and "not a valid port" in result.stderr


def head_with(line: bytes = b"/a/json", field: bytes = b"v", count: int = 0) -> bytes:
    """A request whose target, one header value and number of extra headers are given."""
    extra = b"".join(b"x-h%d: 1\r\n" % i for i in range(count))
    return (
        b"GET "
        + line
        + b" HTTP/1.1\r\nHost: x\r\nx-big: "
        + field
        + b"\r\n"
        + extra
        + b"Connection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("request_head", "served"),
    [
        (head_with(b"/a/json?" + b"q" * 8000), True),
        (head_with(b"/a/json?" + b"q" * 8200), False),  # request line past 8,190 bytes
        (head_with(field=b"v" * 8000), True),
        (head_with(field=b"v" * 8200), False),  # header field past 8,190 bytes
        (head_with(count=120), True),  # 123 header fields
        (head_with(count=130), False),  # 133: past 128
    ],
    ids=["line-8000", "line-8200", "field-8000", "field-8200", "123-fields", "133-fields"],
)
def test_request_heads_are_bounded(echo: SpinPyProcess, request_head: bytes, served: bool) -> None:
    # docs/security.md ("Limits", "Connections"): aiohttp's bounds, a 400 beyond them
    status, _ = exchange(echo, request_head)
    assert (b" 200 " in status) if served else (b" 400 " in status), status
