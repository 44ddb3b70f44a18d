"""Helpers for the platform API tests that go through real components over real HTTP.

`ready_component(name)` (session fixture) builds a test component and compiles it into the
compile cache `spin-py up` uses, so servers start in about a second even when the cache was
cold (a first compile can take longer than a server start may). `example_app(name)` does that
for `manifests/<name>`'s component and returns the manifest directory.

`write_app` writes a `spin.toml` (into a test's temporary directory) serving one built
component at `/...` with the key-value stores, SQLite databases and variables a test needs.
`calls(server, [...])` posts a list of calls to the `platform-probe` component and returns its
per-call results (see `components/platform-probe/app.py`); `ok(x)` / `err(case, payload)` build
the expected results. `get`/`send` are plain HTTP requests with `urllib`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from spin_py.runtime.compile_cache import CompileCache, default_cache_dir
from spin_py.runtime.engine import get_engine
from tests.support.server_fixtures import SpinPyProcess

REPO = Path(__file__).resolve().parents[2]

Result = dict[str, Any]


@pytest.fixture(scope="session")
def ready_component(built_component: Callable[[str], Path]) -> Callable[[str], Path]:
    """`name -> path`: the built component, already in spin-py's compile cache."""
    ready: dict[str, Path] = {}

    def make_ready(name: str) -> Path:
        if name not in ready:
            path = built_component(name)
            cache = CompileCache(get_engine(), default_cache_dir(os.environ), lambda _line: None)
            cache.load(path, name)
            ready[name] = path
        return ready[name]

    return make_ready


@pytest.fixture(scope="session")
def example_app(ready_component: Callable[[str], Path]) -> Callable[[str], Path]:
    """`name -> manifests/<name>`, its component built and compiled."""

    def app(name: str) -> Path:
        ready_component(name)
        return REPO / "manifests" / name

    return app


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def write_app(
    directory: Path,
    source: Path,
    *,
    component_id: str = "probe",
    key_value_stores: Sequence[str] = (),
    sqlite_databases: Sequence[str] = (),
    app_variables: Mapping[str, str] | None = None,
    component_variables: Mapping[str, str] | None = None,
) -> Path:
    """A manifest in `directory` serving `source` at `/...`; returns the manifest path.

    `app_variables` values are TOML inline tables as text (e.g. `{ default = "x" }`).
    """
    lines = [
        "spin_manifest_version = 2",
        "[application]",
        'name = "platform-test"',
    ]
    if app_variables:
        lines.append("[variables]")
        lines += [f"{name} = {spec}" for name, spec in app_variables.items()]
    lines += [
        "[[trigger.http]]",
        'route = "/..."',
        f'component = "{component_id}"',
        f"[component.{component_id}]",
        f"source = {json.dumps(str(source))}",
        f"key_value_stores = {_toml_list(key_value_stores)}",
        f"sqlite_databases = {_toml_list(sqlite_databases)}",
    ]
    if component_variables:
        lines.append(f"[component.{component_id}.variables]")
        lines += [f"{name} = {json.dumps(value)}" for name, value in component_variables.items()]
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "spin.toml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def send(
    base_url: str, method: str, path: str, body: bytes | None = None, timeout: float = 30.0
) -> tuple[int, bytes]:
    """One HTTP request; returns (status, body) for any status."""
    request = urllib.request.Request(base_url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(base_url: str, path: str) -> tuple[int, bytes]:
    return send(base_url, "GET", path)


def calls(server: SpinPyProcess, call_list: Sequence[Sequence[Any]]) -> list[Result]:
    """Run `call_list` in one request to the platform-probe component."""
    status, body = send(server.base_url, "POST", "/probe", json.dumps(call_list).encode())
    assert status == 200, body
    results: list[Result] = json.loads(body)
    assert not [r for r in results if "exception" in r], results
    return results


def ok(value: Any = None) -> Result:
    return {"ok": value}


def err(case: str, payload: Any = None) -> Result:
    return {"err": case, "payload": payload}


def hexed(data: bytes) -> dict[str, str]:
    return {"hex": data.hex()}


def redis_runtime_config(directory: Path, url: str, labels: Sequence[str] = ("default",)) -> Path:
    """A runtime config file mapping each label of `labels` to the Redis server at `url`."""
    path = directory / "runtime-config.toml"
    blocks = [f'[key_value_store.{label}]\ntype = "redis"\nurl = "{url}"\n' for label in labels]
    path.write_text("\n".join(blocks))
    return path
