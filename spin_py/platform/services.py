"""Build the platform backends once at startup, and apply the startup writes.

`open_platform` makes the variable resolver, the key-value stores and the SQLite databases of an
application and runs the startup checks (required variables have values; every label a component
lists exists). Call it in every worker process. `apply_startup_writes` runs `--key-value` and
`--sqlite` once, before the workers start serving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spin_py.manifest.model import App
from spin_py.platform.kv.stores import KeyValueStores, parse_key_value_arg, seed
from spin_py.platform.runtime_config import RuntimeConfig, load_runtime_config
from spin_py.platform.sqlite_db import SqliteDatabases, parse_sqlite_args
from spin_py.platform.variable_providers import parse_variable_args
from spin_py.platform.variables import VariableResolver


@dataclass
class PlatformServices:
    """The backends of one application in this process."""

    runtime_config: RuntimeConfig
    variables: VariableResolver
    key_value: KeyValueStores
    sqlite: SqliteDatabases

    def close(self) -> None:
        self.key_value.close()
        self.sqlite.close()


def read_runtime_config(path: Path | None) -> RuntimeConfig:
    """The `--runtime-config-file`, or the empty default when none was given."""
    return RuntimeConfig() if path is None else load_runtime_config(path)


def choose_state_dir(
    explicit: Path | None, runtime: RuntimeConfig, default: Path | None = None
) -> Path | None:
    """`--state-dir` if given, else the runtime config's `state_dir`, else `default` (None:
    left to `UpConfig.resolved_state_dir`, `.spin/` beside the manifest)."""
    return explicit or runtime.state_dir or default


def open_platform(
    app: App,
    *,
    state_dir: Path,
    runtime_config: RuntimeConfig,
    variable_args: Sequence[str] = (),
    env: Mapping[str, str],
    cwd: Path,
) -> PlatformServices:
    """Build and check the backends (raises `ConfigError` for anything that must stop startup:
    a bad `--variable`, a required variable without a value, an undefined store label)."""
    variables = VariableResolver.from_settings(
        app,
        cli_values=parse_variable_args(variable_args, cwd),
        configured=runtime_config.variables_providers,
        env=env,
        cwd=cwd,
    )
    variables.check_required()
    key_value = KeyValueStores(runtime_config.key_value_stores, state_dir)
    key_value.check_components(app)
    sqlite = SqliteDatabases(runtime_config.sqlite_databases, state_dir)
    sqlite.check_components(app)
    return PlatformServices(runtime_config, variables, key_value, sqlite)


def apply_startup_writes(
    services: PlatformServices,
    *,
    key_value_args: Sequence[str] = (),
    sqlite_args: Sequence[str] = (),
    cwd: Path,
) -> None:
    """Seed the default key-value store (`--key-value KEY=VALUE`) and run `--sqlite` statements
    on the default database, in that order."""
    pairs = [parse_key_value_arg(arg) for arg in key_value_args]
    scripts = parse_sqlite_args(sqlite_args, cwd)
    if pairs:
        seed(services.key_value, pairs)
    services.sqlite.run_startup_sql(scripts)
