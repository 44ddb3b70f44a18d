"""The runtime config file: what it defines, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ConfigError
from spin_py.platform.runtime_config import (
    EnvProviderConfig,
    RedisStoreConfig,
    RuntimeConfig,
    SpinStoreConfig,
    SqliteDatabaseConfig,
    StaticProviderConfig,
    load_runtime_config,
)

FULL = """
state_dir = "state"

[key_value_store.default]
type = "spin"
path = "data/kv.db"

[key_value_store.cache]
type = "redis"
url = "redis://127.0.0.1:6379/2"

[key_value_store.scratch]
type = "spin"

[sqlite_database.default]
type = "spin"
path = "/abs/todo.db"

[sqlite_database.finance]
type = "spin"
path = "money.db"

[[variables_provider]]
type = "static"
values = { api_host = "static.example", token = "t0k" }

[[variables_provider]]
type = "env"
prefix = "MYAPP"
dotenv_path = "config/.env.local"

[llm_compute]
type = "spin"
"""


def write(tmp_path: Path, text: str, name: str = "runtime-config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_config_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_runtime_config(path)
    assert config.path == path
    assert config.state_dir == tmp_path / "state"
    assert config.key_value_stores == {
        "default": SpinStoreConfig(tmp_path / "data/kv.db"),
        "cache": RedisStoreConfig("redis://127.0.0.1:6379/2"),
        "scratch": SpinStoreConfig(None),
    }
    assert config.sqlite_databases == {
        "default": SqliteDatabaseConfig(Path("/abs/todo.db")),
        "finance": SqliteDatabaseConfig(tmp_path / "money.db"),
    }
    assert config.variables_providers == (
        StaticProviderConfig((("api_host", "static.example"), ("token", "t0k"))),
        # dotenv_path stays relative: like Spin, it is taken from the working directory.
        EnvProviderConfig(prefix="MYAPP", dotenv_path=Path("config/.env.local")),
    )
    assert config.ignored == ("llm_compute",)


def test_config_provider_is_the_old_name_of_variables_provider(tmp_path: Path) -> None:
    path = write(tmp_path, '[[config_provider]]\ntype = "env"\n')
    assert load_runtime_config(path).variables_providers == (EnvProviderConfig(),)


def test_json_runtime_config(tmp_path: Path) -> None:
    text = '{"key_value_store": {"default": {"type": "redis", "url": "redis://127.0.0.1"}}}'
    config = load_runtime_config(write(tmp_path, text, "rc.json"))
    assert config.key_value_stores == {"default": RedisStoreConfig("redis://127.0.0.1")}


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_runtime_config(write(tmp_path, ""))
    assert config == RuntimeConfig(path=tmp_path / "runtime-config.toml")


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('[key_value_store.cache]\ntype = "redis"\n', "key_value_store.cache", "`url`"),
        ('[key_value_store.c]\ntype = "redis"\nurl = 5\n', "key_value_store.c.url", "a number"),
        ("[key_value_store.c]\npath = 'x'\n", "key_value_store.c", "missing required key `type`"),
        (
            '[key_value_store.c]\ntype = "azure_cosmos"\n',
            "key_value_store.c.type",
            'type "azure_cosmos" is not supported by spin-py',
        ),
        (
            '[key_value_store.c]\ntype = "spin"\npath = "a"\nurl = "b"\n',
            "key_value_store.c.url",
            "unknown key `url`",
        ),
        ('[sqlite_database.db]\ntype = "libsql"\n', "sqlite_database.db.type", '"libsql"'),
        ('[sqlite_database.db]\ntype = "spin"\npath = ""\n', "sqlite_database.db.path", "empty"),
        ("key_value_store = 3\n", "key_value_store", "expected a table, found a number"),
        ('[[variables_provider]]\ntype = "vault"\n', "variables_provider[0].type", '"vault"'),
        (
            '[[variables_provider]]\ntype = "static"\nvalues = { a = 1 }\n',
            "variables_provider[0].values.a",
            "expected a string",
        ),
        (
            '[[variables_provider]]\ntype = "env"\nvalues = {}\n',
            "variables_provider[0].values",
            "unknown key `values`",
        ),
        ('[variables_provider]\ntype = "env"\n', "variables_provider", "array of tables"),
        ("unknown_section = 1\n", "unknown_section", "unknown key `unknown_section`"),
        (
            '[[variables_provider]]\ntype="env"\n[[config_provider]]\ntype="env"\n',
            "",
            "not both",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_runtime_config(path)
    message = str(caught.value)
    assert str(path) in message
    if where:
        assert f"{where}: " in message
    assert problem in message


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[key_value_store.default\n")
    with pytest.raises(ConfigError, match=r"invalid runtime config file .*runtime-config\.toml"):
        load_runtime_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read runtime config file .*nope\.toml"):
        load_runtime_config(tmp_path / "nope.toml")
