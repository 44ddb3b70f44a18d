"""Helpers for the attack tests: the `attack` component, apps serving it, real servers.

`attack_wasm` builds `components/attack` (once per session) and compiles it into the compile
cache `spin-py up` uses, so every server starts in about a second. `write_attack_app` writes a
manifest serving it at `/...` with the grants a test needs. `call` sends one request with
urllib and returns status, headers and body; `json_call` decodes the attack guest's JSON answer.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_fixtures import SpinPyProcess


@pytest.fixture(scope="session")
def attack_wasm(ready_component: Callable[[str], Path]) -> Path:
    """The built attack component, already in spin-py's compile cache."""
    return ready_component("attack")


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def write_attack_app(
    directory: Path,
    source: Path,
    *,
    sqlite_databases: Sequence[str] = ("default",),
    key_value_stores: Sequence[str] = ("default",),
    allowed_outbound_hosts: Sequence[str] = (),
    files: Sequence[str] = (),
    extra: str = "",
) -> Path:
    """A manifest in `directory` serving `source` as component `attack` at `/...`.

    `files` are TOML values as text (`'"glob/*"'`, `'{ source = "d", destination = "/d" }'`);
    `extra` is appended verbatim (more components or triggers).
    """
    lines = [
        "spin_manifest_version = 2",
        "[application]",
        'name = "attack-app"',
        "[[trigger.http]]",
        'route = "/..."',
        'component = "attack"',
        "[component.attack]",
        f"source = {json.dumps(str(source))}",
        f"sqlite_databases = {_toml_list(sqlite_databases)}",
        f"key_value_stores = {_toml_list(key_value_stores)}",
        f"allowed_outbound_hosts = {_toml_list(allowed_outbound_hosts)}",
        f"files = [{', '.join(files)}]",
        extra,
    ]
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "spin.toml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def call(
    base_url: str,
    path: str,
    body: bytes | None = None,
    *,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; (status, lower-cased headers, body) for any status."""
    request = urllib.request.Request(base_url + path, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def json_call(base_url: str, path: str, body: bytes | None = None, **kw: Any) -> Any:
    """The attack guest's JSON answer to one request (which must be a 200)."""
    status, _, data = call(base_url, path, body, **kw)
    assert status == 200, (status, data)
    return json.loads(data)


def wait_for_log(server: SpinPyProcess, text: str, timeout: float = 10.0) -> str:
    """The server's stderr once it contains `text` (its reader threads lag a little behind
    the response); fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while text not in (output := server.stderr_so_far()):
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{output[-2000:]}"
        time.sleep(0.05)
    return output
