"""Where application variable values come from: `--variable`, runtime-config providers, the
environment (`SPIN_VARIABLE_<UPPER_NAME>`, then a `.env` file).

A provider answers `get(name) -> str | None` for a lower snake-case application variable name.
`build_providers` puts them in Spin's order of precedence, first match wins:

1. `--variable` values (highest: the user asked for them on this command line);
2. runtime-config `[[variables_provider]]` entries, in the order they appear in the file;
3. the environment provider, always present: `SPIN_VARIABLE_<UPPER_NAME>` from the process
   environment, else from `.env` in the working directory.

After all providers, the manifest `default` applies. Values are never logged or put in messages.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from spin_py.errors import ConfigError
from spin_py.manifest.ids import lower_snake_error
from spin_py.manifest.input_files import MAX_CONFIG_BYTES, NESTED_TOO_DEEPLY, read_input
from spin_py.platform.runtime_config import (
    EnvProviderConfig,
    StaticProviderConfig,
    VariablesProviderConfig,
)

DEFAULT_ENV_PREFIX = "SPIN_VARIABLE"
DEFAULT_DOTENV = ".env"


class VariableProvider(Protocol):
    """A source of application variable values."""

    def get(self, name: str) -> str | None:
        """The value of application variable `name`, or None if this provider has none."""
        ...


@dataclass(frozen=True)
class StaticProvider:
    """Fixed values (from `--variable` or a `static` runtime-config provider)."""

    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@dataclass(frozen=True)
class EnvProvider:
    """`<PREFIX>_<UPPER_NAME>` from `env`, falling back to the dotenv file's entries.

    An empty prefix means the bare upper-case name. Entries in the dotenv file have lower
    priority than the real environment, as in Spin.
    """

    env: Mapping[str, str]
    prefix: str = DEFAULT_ENV_PREFIX
    dotenv: Mapping[str, str] = field(default_factory=dict)

    def env_key(self, name: str) -> str:
        upper = name.upper()
        return f"{self.prefix}_{upper}" if self.prefix else upper

    def get(self, name: str) -> str | None:
        key = self.env_key(name)
        value = self.env.get(key)
        return value if value is not None else self.dotenv.get(key)


def build_providers(
    cli_values: Sequence[tuple[str, str]],
    configured: Sequence[VariablesProviderConfig],
    env: Mapping[str, str],
    cwd: Path,
) -> list[VariableProvider]:
    """The providers in precedence order (see the module docstring)."""
    providers: list[VariableProvider] = []
    if cli_values:
        providers.append(StaticProvider(dict(cli_values)))
    providers.extend(_configured(config, env, cwd) for config in configured)
    providers.append(EnvProvider(env, dotenv=read_dotenv(cwd / DEFAULT_DOTENV)))
    return providers


def _configured(
    config: VariablesProviderConfig, env: Mapping[str, str], cwd: Path
) -> VariableProvider:
    if isinstance(config, StaticProviderConfig):
        return StaticProvider(dict(config.values))
    assert isinstance(config, EnvProviderConfig)
    dotenv = read_dotenv(cwd / config.dotenv_path) if config.dotenv_path else {}
    prefix = DEFAULT_ENV_PREFIX if config.prefix is None else config.prefix
    return EnvProvider(env, prefix=prefix, dotenv=dotenv)


# --- --variable --------------------------------------------------------------------------------


def parse_variable_args(args: Sequence[str], cwd: Path) -> tuple[tuple[str, str], ...]:
    """Parse `--variable` options: `KEY=VALUE`, `KEY=@file` (the file's text), `@file.json`
    or `@file.toml` (a table of string values). Later options override earlier ones.

    Error messages name the option by its key or file, never by its value (it may be secret).
    """
    pairs: list[tuple[str, str]] = []
    for number, arg in enumerate(args, 1):
        if arg.startswith("@"):
            pairs.extend(_variables_file(cwd / arg[1:], arg))
            continue
        key, sep, value = arg.partition("=")
        if not sep:
            raise ConfigError(
                f"invalid --variable option #{number}: expected KEY=VALUE, KEY=@FILE, "
                "@FILE.json or @FILE.toml"
            )
        where = f"{key}=..."
        if value.startswith("@"):
            where = f"{key}={value}"
            value = _read_text(cwd / value[1:], where)
        pairs.append((_checked_name(key, where), value))
    return tuple(pairs)


def _checked_name(name: str, where: str) -> str:
    problem = lower_snake_error(name)
    if problem:
        raise ConfigError(f"invalid variable name {name!r} in --variable {where}: {problem}")
    return name


def _read_text(path: Path, where: str) -> str:
    try:
        return read_input(path, MAX_CONFIG_BYTES).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"--variable {where}: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--variable {where}: {path} is not UTF-8 text") from exc


def _variables_file(path: Path, arg: str) -> list[tuple[str, str]]:
    if path.suffix not in (".json", ".toml"):
        raise ConfigError(f"--variable {arg}: a variables file must end in .json or .toml")
    text = _read_text(path, arg)
    data: object
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        problem = f"invalid {path.suffix[1:].upper()} in {path}: {exc}"
        raise ConfigError(f"--variable {arg}: {problem}") from exc
    except RecursionError:
        problem = f"invalid {path.suffix[1:].upper()} in {path}: {NESTED_TOO_DEEPLY}"
        raise ConfigError(f"--variable {arg}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--variable {arg}: {path} must hold a table of string values")
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"--variable {arg}: the value of {name!r} in {path} must be a string")
        pairs.append((_checked_name(name, arg), value))
    return pairs


# --- .env files --------------------------------------------------------------------------------

_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$", re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$", "'": "'"}


def read_dotenv(path: Path) -> dict[str, str]:
    """The entries of a dotenv file; a missing file has none."""
    try:
        text = read_input(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read dotenv file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read dotenv file {path}: {exc}") from exc
    return parse_dotenv(text, path)


def parse_dotenv(text: str, path: Path) -> dict[str, str]:
    """Parse dotenv text: `KEY=value` lines, `#` comments, optional `export `, single quotes
    (literal), double quotes (escapes, may span lines). `${VAR}` is not expanded."""
    entries: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            raise ConfigError(f"invalid dotenv file {path}: line {start + 1}: expected KEY=VALUE")
        raw = match.group(2)
        while _open_quote(raw) and index < len(lines):
            raw += "\n" + lines[index]
            index += 1
        entries[match.group(1)] = _dotenv_value(raw, path, start + 1)
    return entries


def _open_quote(raw: str) -> bool:
    quote = raw[:1]
    return quote in ("'", '"') and _closing(raw, quote) < 0


def _closing(raw: str, quote: str) -> int:
    """Index of the quote closing `raw[0]`, or -1."""
    i = 1
    while i < len(raw):
        if raw[i] == "\\" and quote == '"':
            i += 2
            continue
        if raw[i] == quote:
            return i
        i += 1
    return -1


def _dotenv_value(raw: str, path: Path, line: int) -> str:
    quote = raw[:1]
    if quote not in ("'", '"'):
        value = raw.split(" #", 1)[0].split("\t#", 1)[0]
        return value.strip()
    end = _closing(raw, quote)
    rest = raw[end + 1 :].strip() if end >= 0 else ""
    if end < 0 or (rest and not rest.startswith("#")):
        raise ConfigError(f"invalid dotenv file {path}: line {line}: unterminated or bad quoting")
    body = raw[1:end]
    return body if quote == "'" else _unescape(body)


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
