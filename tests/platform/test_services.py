"""Startup of the platform backends from a real manifest and runtime config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ConfigError
from spin_py.manifest import load
from spin_py.platform.runtime_config import RuntimeConfig
from spin_py.platform.services import (
    apply_startup_writes,
    choose_state_dir,
    open_platform,
    read_runtime_config,
)

MANIFEST = """
spin_manifest_version = 2

[application]
name = "platform-app"

[variables]
api_host = { default = "api.example" }
api_key = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "web"

[component.web]
source = "web.wasm"
key_value_stores = ["default", "cache"]
sqlite_databases = ["default"]

[component.web.variables]
url = "https://{{ api_host }}/v1"
key = "{{ api_key }}"
"""

RUNTIME_CONFIG = """
[key_value_store.cache]
type = "redis"
url = "{redis_url}"

[[variables_provider]]
type = "static"
values = {{ api_host = "static.example" }}
"""


def setup_app(tmp_path: Path, redis_url: str) -> tuple[Path, Path]:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(MANIFEST)
    runtime = tmp_path / "rc.toml"
    runtime.write_text(RUNTIME_CONFIG.format(redis_url=redis_url))
    return manifest, runtime


def test_open_platform_end_to_end(tmp_path: Path, redis_url: str) -> None:
    manifest, runtime_file = setup_app(tmp_path, redis_url)
    app = load(manifest)
    runtime = read_runtime_config(runtime_file)
    state = choose_state_dir(None, runtime, tmp_path / ".spin")
    services = open_platform(
        app,
        state_dir=state,
        runtime_config=runtime,
        variable_args=["api_key=k-123"],
        env={"SPIN_VARIABLE_API_HOST": "env.example"},
        cwd=tmp_path,
    )
    (tmp_path / "m.sql").write_text("CREATE TABLE t (x); INSERT INTO t VALUES ('seeded');")
    apply_startup_writes(
        services, key_value_args=["greeting=hello"], sqlite_args=["@m.sql"], cwd=tmp_path
    )
    # The static provider outranks the environment.
    assert services.variables.get_all("web") == [
        ("url", "https://static.example/v1"),
        ("key", "k-123"),
    ]
    assert services.variables.is_component_secret("web", "key")
    kv = services.key_value.for_component("web", app.components["web"].key_value_stores)
    assert kv.open("default").get("greeting") == b"hello"
    kv.open("cache").set("c", b"1")
    assert kv.open("cache").system == "redis"
    db = services.sqlite.for_component("web", app.components["web"].sqlite_databases)
    conn = db.open("default")
    assert conn.execute("SELECT x FROM t", []).rows == [["seeded"]]
    conn.close()
    assert (tmp_path / ".spin" / "sqlite_key_value.db").is_file()
    services.close()


def test_startup_errors(tmp_path: Path, redis_url: str) -> None:
    manifest, runtime_file = setup_app(tmp_path, redis_url)
    app = load(manifest)
    runtime = read_runtime_config(runtime_file)

    def start(config: RuntimeConfig, *variable_args: str) -> None:
        open_platform(
            app,
            state_dir=tmp_path / ".spin",
            runtime_config=config,
            variable_args=variable_args,
            env={},
            cwd=tmp_path,
        )

    with pytest.raises(ConfigError, match='no provider resolved required variable "api_key"'):
        start(runtime)
    with pytest.raises(ConfigError, match='unknown key_value_stores label "cache"'):
        start(RuntimeConfig(), "api_key=x")
    with pytest.raises(ConfigError, match="invalid --variable option #1"):
        start(runtime, "oops")
    start(runtime, "api_key=x")


def test_choose_state_dir(tmp_path: Path) -> None:
    with_dir = RuntimeConfig(state_dir=tmp_path / "rc-state")
    assert choose_state_dir(tmp_path / "cli", with_dir, tmp_path / "d") == tmp_path / "cli"
    assert choose_state_dir(None, with_dir, tmp_path / "d") == tmp_path / "rc-state"
    assert choose_state_dir(None, RuntimeConfig(), tmp_path / "d") == tmp_path / "d"
    assert read_runtime_config(None) == RuntimeConfig()
