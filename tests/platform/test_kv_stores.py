"""The key-value store registry: the default store, runtime-config labels, gating, seeding."""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ConfigError
from spin_py.manifest.model import Component
from spin_py.platform.kv import (
    AccessDenied,
    KeyValueStores,
    NoSuchStore,
    StoreError,
    parse_key_value_arg,
    seed,
)
from spin_py.platform.runtime_config import (
    KeyValueStoreConfig,
    RedisStoreConfig,
    SpinStoreConfig,
)
from tests.support.models import make_app


def test_default_store_is_a_sqlite_file_in_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / ".spin"
    stores = KeyValueStores({}, state)
    assert stores.labels == ("default",)
    assert not state.exists(), "stores open lazily"
    stores.store("default").set("k", b"v")
    assert (state / "sqlite_key_value.db").is_file()
    assert stores.store("default") is stores.store("default")
    assert stores.store("default").system == "sqlite"
    stores.close()
    reopened = KeyValueStores({}, state)
    assert reopened.store("default").get("k") == b"v"
    reopened.close()


def test_runtime_config_labels_and_default_override(tmp_path: Path, redis_url: str) -> None:
    configs: dict[str, KeyValueStoreConfig] = {
        "default": SpinStoreConfig(tmp_path / "elsewhere.db"),
        "cache": RedisStoreConfig(redis_url),
        "scratch": SpinStoreConfig(None),
    }
    stores = KeyValueStores(configs, tmp_path / ".spin")
    assert set(stores.labels) == {"default", "cache", "scratch"}
    stores.store("default").set("k", b"file")
    stores.store("cache").set("k", b"redis")
    stores.store("scratch").set("k", b"memory")
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (tmp_path / ".spin").exists()
    assert stores.store("cache").get("k") == b"redis"
    assert stores.store("cache").system == "redis"
    assert stores.store("scratch").get("k") == b"memory"
    assert stores.describe("scratch") == "a temporary in-memory store"
    assert stores.describe("default") == f'"{tmp_path / "elsewhere.db"}"'
    stores.close()


def test_describe_hides_a_redis_password(tmp_path: Path) -> None:
    stores = KeyValueStores({"r": RedisStoreConfig("redis://user:pw@127.0.0.1:7000/1")}, tmp_path)
    assert stores.describe("r") == "Redis at redis://user:***@127.0.0.1:7000/1"
    stores.close()


def test_bad_redis_url_stops_startup(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid Redis URL for key-value store 'r'"):
        KeyValueStores({"r": RedisStoreConfig("ftp://127.0.0.1")}, tmp_path)


def test_component_gating(tmp_path: Path) -> None:
    stores = KeyValueStores({"extra": SpinStoreConfig(None)}, tmp_path)
    view = stores.for_component("web", ["default", "ghost"])
    view.open("default").set("k", b"v")
    with pytest.raises(AccessDenied) as denied:
        view.open("extra")
    assert denied.value.case == "access-denied" and denied.value.payload is None
    with pytest.raises(NoSuchStore) as missing:
        view.open("ghost")
    assert missing.value.case == "no-such-store" and missing.value.payload is None
    with pytest.raises(AccessDenied):
        stores.open("default", "other", [])
    stores.close()


def test_unopenable_default_store_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state dir should be")
    stores = KeyValueStores({}, tmp_path / "state")
    with pytest.raises(StoreError):
        stores.for_component("web", ["default"]).open("default")


def test_check_components_names_unknown_labels(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        components=(
            Component(id="ok", source="a.wasm", key_value_stores=("default",)),
            Component(id="web", source="b.wasm", key_value_stores=("default", "cache")),
        ),
    )
    stores = KeyValueStores({}, tmp_path)
    with pytest.raises(ConfigError, match='unknown key_value_stores label "cache" for component'):
        stores.check_components(app)
    KeyValueStores({"cache": SpinStoreConfig(None)}, tmp_path).check_components(app)


def test_key_value_args_and_seeding(tmp_path: Path) -> None:
    assert parse_key_value_arg("a=b=c") == ("a", "b=c")
    assert parse_key_value_arg("k=") == ("k", "")
    for bad in ("novalue", "=v"):
        with pytest.raises(ConfigError, match="--key-value"):
            parse_key_value_arg(bad)
    stores = KeyValueStores({}, tmp_path)
    stores.store("default").set("k", b"old")
    seed(stores, [("k", "new"), ("ü", "wört")])
    assert stores.store("default").get("k") == b"new"
    assert stores.store("default").get("ü") == "wört".encode()
    with pytest.raises(ConfigError, match="--key-value: cannot write to store 'nope'"):
        seed(stores, [("k", "v")], label="nope")
    stores.close()
