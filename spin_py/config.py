"""CLI-level settings as frozen dataclasses, and the parsers that build them from option text.

Configuration flows one way: `cli.py` reads options and the environment, builds these objects,
and hands them to the server or the builder. Nothing below `cli.py` reads `os.environ`.
Parse errors raise `ConfigError` with a message ready to show to the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from spin_py.errors import ConfigError

OutputFormat = Literal["plain", "json"]

DEFAULT_LISTEN = "127.0.0.1:3000"
STATE_DIR_NAME = ".spin"
FIND_FREE_PORT_ATTEMPTS = 10
"""With `--find-free-port`, ports `port .. port + 9` are tried, as Spin does."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ListenAddr:
    """A host and port to listen on, as given by `--listen` (host not yet resolved)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class UpConfig:
    """Everything `spin-py up` was asked to do.

    `manifest_path` is the resolved `spin.toml` file. `state_dir` defaults to `.spin/` beside
    the manifest. The fields after `build` are accepted now and consumed by later subsystems
    (runtime limits, component logs, variables); `None`/empty means "not given".
    """

    manifest_path: Path
    listen: ListenAddr = ListenAddr("127.0.0.1", 3000)
    find_free_port: bool = False
    output_format: OutputFormat = "plain"
    state_dir: Path | None = None
    env: tuple[tuple[str, str], ...] = ()
    build: bool = False
    component_ids: tuple[str, ...] = ()
    request_timeout: float | None = None
    max_instance_memory: int | None = None
    log_dir: Path | None = None
    follow: tuple[str, ...] = ()
    quiet: bool = False
    variables: tuple[tuple[str, str], ...] = ()

    @property
    def resolved_state_dir(self) -> Path:
        """The state directory: `--state-dir`, else `.spin/` beside the manifest."""
        if self.state_dir is not None:
            return self.state_dir
        return self.manifest_path.parent / STATE_DIR_NAME


@dataclass(frozen=True)
class BuildSettings:
    """What `spin-py build` (or `up --build`) was asked to build: all components if empty."""

    manifest_path: Path
    component_ids: tuple[str, ...] = ()


def parse_listen_addr(text: str) -> ListenAddr:
    """Parse `HOST:PORT` (`[V6]:PORT` for IPv6 literals) as given to `--listen`."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ConfigError(f"invalid listen address {text!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"invalid listen address {text!r}: port must be a number 0..65535")
    return ListenAddr(host=host, port=int(port_text))


def parse_env_pair(text: str) -> tuple[str, str]:
    """Parse one `-e/--env KEY=VALUE` pair; the value may be empty and may contain `=`."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ConfigError(f"invalid environment variable {text!r}: expected KEY=VALUE")
    if not _ENV_NAME.match(key):
        raise ConfigError(f"invalid environment variable name {key!r} in {text!r}")
    return key, value
