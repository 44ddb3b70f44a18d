"""The key-value stores of one application, by label, and each component's access to them.

`default` is always defined: the SQLite file `<state-dir>/sqlite_key_value.db` unless the runtime
config says otherwise; the runtime config adds the other labels. Stores open lazily on first use
(the file or the Redis connection pool is made then) and are shared by every component and
request of this process.

A component may open only the labels in its `key_value_stores` (`access-denied` otherwise,
checked first, as in Spin); `check_components` fails startup when a component lists a label no
store has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from spin_py.errors import ConfigError
from spin_py.manifest.model import App
from spin_py.platform.kv.backend import (
    AccessDenied,
    KeyValueError,
    KeyValueStore,
    NoSuchStore,
    StoreError,
)
from spin_py.platform.kv.redis import RedisKeyValueStore, without_password
from spin_py.platform.kv.sqlite import SqliteKeyValueStore
from spin_py.platform.runtime_config import KeyValueStoreConfig, RedisStoreConfig, SpinStoreConfig

DEFAULT_LABEL = "default"
DEFAULT_FILE = "sqlite_key_value.db"


class KeyValueStores:
    """Every key-value store of the application. Thread-safe."""

    def __init__(self, configs: Mapping[str, KeyValueStoreConfig], state_dir: Path) -> None:
        self._configs: dict[str, KeyValueStoreConfig] = {
            DEFAULT_LABEL: SpinStoreConfig(state_dir / DEFAULT_FILE),
            **configs,
        }
        self._stores: dict[str, KeyValueStore] = {}
        self._lock = threading.Lock()
        for label, config in self._configs.items():
            if isinstance(config, RedisStoreConfig):
                self._stores[label] = _redis(label, config.url)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._configs)

    def describe(self, label: str) -> str:
        """Where a store keeps its data, for startup messages (no password)."""
        config = self._configs[label]
        if isinstance(config, RedisStoreConfig):
            return f"Redis at {without_password(config.url)}"
        return f'"{config.path}"' if config.path else "a temporary in-memory store"

    def check_reachable(self, labels: Iterable[str]) -> None:
        """Raise `ConfigError` if a Redis store among `labels` does not answer a ping."""
        for label in labels:
            store = self._stores.get(label)
            if isinstance(store, RedisKeyValueStore):
                try:
                    store.ping()
                except StoreError as exc:
                    raise ConfigError(str(exc)) from exc

    def check_components(self, app: App) -> None:
        """Raise `ConfigError` if a component lists a label no store has."""
        for component in app.components.values():
            for label in component.key_value_stores:
                if label not in self._configs:
                    raise ConfigError(
                        f'unknown key_value_stores label "{label}" for component "{component.id}"'
                    )

    def store(self, label: str) -> KeyValueStore:
        """The store `label` (opened on first use). Raises `NoSuchStore`, or `StoreError` if the
        store cannot be opened."""
        with self._lock:
            store = self._stores.get(label)
            if store is None:
                config = self._configs.get(label)
                if config is None:
                    raise NoSuchStore(label)
                assert isinstance(config, SpinStoreConfig)
                store = self._stores[label] = SqliteKeyValueStore(label, config.path)
            return store

    def open(self, label: str, component_id: str, allowed: Iterable[str]) -> KeyValueStore:
        """The store `label` for a component allowed the labels `allowed`."""
        if label not in set(allowed):
            raise AccessDenied(label, component_id)
        return self.store(label)

    def for_component(self, component_id: str, allowed: Iterable[str]) -> ComponentKeyValue:
        """A view that opens stores on behalf of one component."""
        return ComponentKeyValue(self, component_id, frozenset(allowed))

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()


class ComponentKeyValue:
    """The stores one component may open: `open(label)` raises `AccessDenied` / `NoSuchStore`."""

    def __init__(self, stores: KeyValueStores, component_id: str, allowed: frozenset[str]) -> None:
        self.stores = stores
        self.component_id = component_id
        self.allowed = allowed

    def open(self, label: str) -> KeyValueStore:
        return self.stores.open(label, self.component_id, self.allowed)


def parse_key_value_arg(text: str) -> tuple[str, str]:
    """Parse one `--key-value KEY=VALUE` option (the value may be empty or contain `=`)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"invalid --key-value {text!r}: expected KEY=VALUE")
    return key, value


def seed(
    stores: KeyValueStores, pairs: Sequence[tuple[str, str]], label: str = DEFAULT_LABEL
) -> None:
    """Write `--key-value` pairs (UTF-8 values) into store `label`, overwriting existing values."""
    try:
        stores.store(label).set_many([(key, value.encode()) for key, value in pairs])
    except KeyValueError as exc:
        raise ConfigError(f"--key-value: cannot write to store {label!r}: {exc}") from exc


def _redis(label: str, url: str) -> RedisKeyValueStore:
    try:
        return RedisKeyValueStore(label, url)
    except StoreError as exc:
        raise ConfigError(str(exc)) from exc
