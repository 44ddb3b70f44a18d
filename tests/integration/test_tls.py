"""`spin-py up --tls-cert/--tls-key` (and `SPIN_TLS_CERT`/`SPIN_TLS_KEY`): HTTPS end to end.

The certificate authority and the server certificate (for 127.0.0.1 and localhost) are made
in the test with trustme; the client trusts only that authority.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.support.server_fixtures import SpinPyProcess, run_spin_py

Start = Callable[..., SpinPyProcess]

REPO = Path(__file__).resolve().parents[2]
ECHO_APP = REPO / "manifests" / "echo"
STATIC_APP = REPO / "manifests" / "static"


@dataclass(frozen=True)
class Certs:
    cert: Path
    key: Path
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = directory / "cert.pem", directory / "key.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    server.private_key_pem.write_to_path(str(key))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certs(cert, key, client)


def get(url: str, context: ssl.SSLContext) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, context=context, timeout=30) as response:
        return response.status, response.read()


def test_the_guest_sees_https_and_the_listing_shows_it(
    spin_py_server: Start, certs: Certs, built_component: Callable[[str], Path]
) -> None:
    built_component("echo")
    server = spin_py_server(
        ECHO_APP, "--tls-cert", str(certs.cert), "--tls-key", str(certs.key), "--workers", "1"
    )
    assert server.base_url.startswith("https://127.0.0.1:")
    status, body = get(f"{server.base_url}/users/7/json?q=1", certs.client)
    assert status == 200
    seen = json.loads(body)
    assert seen["scheme"] == "https"
    headers = dict(seen["headers"])
    assert headers["spin-full-url"] == f"{server.base_url}/users/7/json?q=1"
    finished = server.stop()
    assert f"  echo: {server.base_url} (wildcard)" in finished.stdout.splitlines()


def test_the_environment_variables_and_several_workers(spin_py_server: Start, certs: Certs) -> None:
    env = {"SPIN_TLS_CERT": str(certs.cert), "SPIN_TLS_KEY": str(certs.key)}
    server = spin_py_server(STATIC_APP, "--workers", "2", env=env)
    assert server.base_url.startswith("https://")
    for _ in range(4):
        assert get(f"{server.base_url}/hello", certs.client)[0] == 200
    # a client that does not trust the test authority refuses the certificate
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        get(f"{server.base_url}/hello", ssl.create_default_context())


def test_a_certificate_without_its_key_is_an_error(certs: Certs) -> None:
    result = run_spin_py("up", "-f", str(STATIC_APP), "--tls-cert", str(certs.cert))
    assert result.returncode == 1
    assert "Error: --tls-cert needs --tls-key too" in result.stderr


def test_a_key_that_is_not_pem_names_the_files(certs: Certs, tmp_path: Path) -> None:
    bad_key = tmp_path / "key.pem"
    bad_key.write_text("not a key\n")
    result = run_spin_py(
        "up", "-f", str(STATIC_APP), "--tls-cert", str(certs.cert), "--tls-key", str(bad_key)
    )
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: cannot use TLS certificate {certs.cert} with key {bad_key}")
    assert "Traceback" not in result.stderr
    assert "Serving" not in result.stdout


def test_a_missing_certificate_file_is_an_error(certs: Certs, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    result = run_spin_py(
        "up", "-f", str(STATIC_APP), "--tls-cert", str(missing), "--tls-key", str(certs.key)
    )
    assert result.returncode == 1
    assert f"Error: TLS certificate file {missing} does not exist" in result.stderr


def test_self_requests_reach_the_https_listener(
    spin_py_server: Start, certs: Certs, built_component: Callable[[str], Path]
) -> None:
    """A relative URL from a guest goes to the server's own HTTPS address; its certificate
    (here signed by a CA the system does not trust) is not in the way."""
    built_component("proxy")
    built_component("hello")
    server = spin_py_server(
        REPO / "manifests" / "proxy",
        "--tls-cert",
        str(certs.cert),
        "--tls-key",
        str(certs.key),
        timeout=120,
    )
    assert get(f"{server.base_url}/proxy?url=/hello", certs.client) == (
        200,
        b"Hello from spin-py!",
    )
