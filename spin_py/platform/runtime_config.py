"""The runtime config file (`spin-py up --runtime-config-file FILE`), as Spin reads it.

TOML (or JSON, when the file ends in `.json` or starts with `{`) with these parts:

    [key_value_store.<label>]   type = "spin" (path) | "redis" (url)
    [sqlite_database.<label>]   type = "spin" (path)
    [[variables_provider]]      type = "static" (values) | "env" (prefix, dotenv_path)
    state_dir, log_dir          paths

`config_provider` is accepted as the older name of `variables_provider`. Paths are relative to the
directory of the config file, except `dotenv_path`, which like Spin's is relative to the working
directory (the variables module resolves it). A `spin` store or database without `path` lives in
memory. Sections spin-py knows of but does not implement (`llm_compute`, `outbound_http`,
`client_tls`, `otel`) are listed in `RuntimeConfig.ignored` for the caller to warn about; any other
key is an error. Every error is a `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from spin_py.errors import ConfigError
from spin_py.manifest.input_files import MAX_CONFIG_BYTES, NESTED_TOO_DEEPLY, read_input

T = TypeVar("T")

KNOWN_IGNORED = ("llm_compute", "outbound_http", "client_tls", "otel")
"""Spin runtime-config sections spin-py accepts and ignores (the caller logs a warning)."""

_TOP_KEYS = (
    "key_value_store",
    "sqlite_database",
    "variables_provider",
    "config_provider",
    "state_dir",
    "log_dir",
    *KNOWN_IGNORED,
)


@dataclass(frozen=True)
class SpinStoreConfig:
    """A SQLite-file key-value store (`type = "spin"`); `path=None` means in memory."""

    path: Path | None


@dataclass(frozen=True)
class RedisStoreConfig:
    """A Redis key-value store (`type = "redis"`)."""

    url: str


KeyValueStoreConfig = SpinStoreConfig | RedisStoreConfig


@dataclass(frozen=True)
class SqliteDatabaseConfig:
    """A SQLite database (`type = "spin"`); `path=None` means in memory."""

    path: Path | None


@dataclass(frozen=True)
class StaticProviderConfig:
    """`type = "static"`: fixed values by variable name."""

    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EnvProviderConfig:
    """`type = "env"`: `<prefix>_<UPPER_NAME>` from the environment, then the dotenv file."""

    prefix: str | None = None
    dotenv_path: Path | None = None


VariablesProviderConfig = StaticProviderConfig | EnvProviderConfig


@dataclass(frozen=True)
class RuntimeConfig:
    """A parsed runtime config file (`path` is None for the empty default)."""

    path: Path | None = None
    key_value_stores: Mapping[str, KeyValueStoreConfig] = field(default_factory=dict)
    sqlite_databases: Mapping[str, SqliteDatabaseConfig] = field(default_factory=dict)
    variables_providers: tuple[VariablesProviderConfig, ...] = ()
    state_dir: Path | None = None
    log_dir: Path | None = None
    ignored: tuple[str, ...] = ()


def load_runtime_config(path: Path) -> RuntimeConfig:
    """Read and parse the runtime config file at `path`."""
    try:
        text = read_input(path, MAX_CONFIG_BYTES).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read runtime config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"runtime config file {path} is not UTF-8 text") from exc
    return parse_runtime_config(_decode(path, text), path)


def _decode(path: Path, text: str) -> object:
    if path.suffix == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid runtime config file {path}: {exc}") from exc
        except RecursionError:
            raise ConfigError(f"invalid runtime config file {path}: {NESTED_TOO_DEEPLY}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid runtime config file {path}: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"invalid runtime config file {path}: {NESTED_TOO_DEEPLY}") from None


def parse_runtime_config(data: object, path: Path) -> RuntimeConfig:
    """Build a `RuntimeConfig` from decoded TOML/JSON; relative paths are taken from `path`."""
    root = _Section(path, (), data)
    root.check_keys(_TOP_KEYS)
    if root.has("variables_provider") and root.has("config_provider"):
        raise root.error("use either `variables_provider` or `config_provider`, not both")
    base = path.parent
    providers_key = "config_provider" if root.has("config_provider") else "variables_provider"
    return RuntimeConfig(
        path=path,
        key_value_stores=_labelled(root, "key_value_store", lambda s: _kv_store(s, base)),
        sqlite_databases=_labelled(root, "sqlite_database", lambda s: _sqlite_db(s, base)),
        variables_providers=_providers(root, providers_key),
        state_dir=_opt_path(root, "state_dir", base),
        log_dir=_opt_path(root, "log_dir", base),
        ignored=tuple(key for key in KNOWN_IGNORED if root.has(key)),
    )


class _Section:
    """One table of the config file and its key path, for errors that name both."""

    def __init__(self, file: Path, keys: tuple[str, ...], value: object) -> None:
        self.file = file
        self.keys = keys
        if not isinstance(value, dict):
            raise self.error(f"expected a table, found {_kind(value)}")
        self.data: dict[str, object] = value

    def error(self, problem: str, key: str | None = None) -> ConfigError:
        where = ".".join((*self.keys, key) if key is not None else self.keys)
        prefix = f"{where}: " if where else ""
        return ConfigError(f"invalid runtime config file {self.file}: {prefix}{problem}")

    def has(self, key: str) -> bool:
        return key in self.data

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                expected = ", ".join(f"`{a}`" for a in allowed)
                raise self.error(f"unknown key `{key}`, expected one of {expected}", key)

    def sub(self, key: str) -> _Section:
        return _Section(self.file, (*self.keys, key), self.data[key])

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"expected a string, found {_kind(value)}", key)
        return value

    def req_str(self, key: str) -> str:
        value = self.opt_str(key)
        if value is None:
            raise self.error(f"missing required key `{key}`")
        return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _labelled(root: _Section, key: str, build: Callable[[_Section], T]) -> dict[str, T]:
    if not root.has(key):
        return {}
    section = root.sub(key)
    return {label: build(section.sub(label)) for label in section.data}


def _type_of(section: _Section, supported: tuple[str, ...]) -> str:
    kind = section.req_str("type")
    if kind not in supported:
        names = ", ".join(f'"{s}"' for s in supported)
        problem = f'type "{kind}" is not supported by spin-py (supported: {names})'
        raise section.error(problem, "type")
    return kind


def _kv_store(section: _Section, base: Path) -> KeyValueStoreConfig:
    if _type_of(section, ("spin", "redis")) == "redis":
        section.check_keys(("type", "url"))
        return RedisStoreConfig(url=section.req_str("url"))
    section.check_keys(("type", "path"))
    return SpinStoreConfig(path=_opt_path(section, "path", base))


def _sqlite_db(section: _Section, base: Path) -> SqliteDatabaseConfig:
    _type_of(section, ("spin",))
    section.check_keys(("type", "path"))
    return SqliteDatabaseConfig(path=_opt_path(section, "path", base))


def _opt_path(section: _Section, key: str, base: Path) -> Path | None:
    text = section.opt_str(key)
    if text is None:
        return None
    if not text:
        raise section.error("expected a path, found an empty string", key)
    return base / Path(text).expanduser()


def _providers(root: _Section, key: str) -> tuple[VariablesProviderConfig, ...]:
    if not root.has(key):
        return ()
    entries = root.data[key]
    if not isinstance(entries, list):
        raise root.error(f"expected an array of tables ([[{key}]]), found {_kind(entries)}", key)
    return tuple(_provider(_Section(root.file, (f"{key}[{i}]",), e)) for i, e in enumerate(entries))


def _provider(section: _Section) -> VariablesProviderConfig:
    if _type_of(section, ("static", "env")) == "static":
        section.check_keys(("type", "values"))
        return StaticProviderConfig(values=_static_values(section))
    section.check_keys(("type", "prefix", "dotenv_path"))
    dotenv = section.opt_str("dotenv_path")
    return EnvProviderConfig(
        prefix=section.opt_str("prefix"),
        dotenv_path=Path(dotenv).expanduser() if dotenv else None,
    )


def _static_values(section: _Section) -> tuple[tuple[str, str], ...]:
    if not section.has("values"):
        return ()
    values = section.sub("values")
    pairs: list[tuple[str, str]] = []
    for name, value in values.data.items():
        if not isinstance(value, str):
            raise values.error(f"expected a string, found {_kind(value)}", name)
        pairs.append((name, value))
    return tuple(pairs)
