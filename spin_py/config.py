"""CLI-level settings as frozen dataclasses, and the parsers that build them from option text.

Configuration flows one way: `cli.py` reads options and the environment, builds these objects,
and hands them to the server or the builder. Nothing below `cli.py` reads `os.environ`.
Parse errors raise `ConfigError` with a message ready to show to the user.
"""

from __future__ import annotations

import re
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from spin_py.errors import ConfigError
from spin_py.outbound.nesting import DEFAULT_MAX_REQUEST_DEPTH
from spin_py.platform.runtime_config import RuntimeConfig
from spin_py.runtime.compile_cache import DEFAULT_MAX_BYTES
from spin_py.runtime.scheduler import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RUNNING_GUESTS,
    DEFAULT_STUCK_AFTER,
)
from spin_py.runtime.store_limits import DEFAULT_MAX_INSTANCE_MEMORY
from spin_py.wasi.component_logs import DEFAULT_MAX_LOG_BYTES

OutputFormat = Literal["plain", "json"]

DEFAULT_LISTEN = "127.0.0.1:3000"
DEFAULT_TRACE_UI_LISTEN = "127.0.0.1:0"
"""`--trace-ui` listens on loopback, on a port the kernel picks, unless `--trace-ui-listen`."""
STATE_DIR_NAME = ".spin"
LOG_DIR_NAME = "logs"
FIND_FREE_PORT_ATTEMPTS = 10
"""With `--find-free-port`, ports `port .. port + 9` are tried, as Spin does."""

MAX_DEFAULT_WORKERS = 4
"""The default worker count is the CPU count, at most this (see `default_workers`)."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_log_dir(state_dir: Path) -> Path:
    """Spin's default directory for component stdout/stderr files: `<state-dir>/logs`."""
    return state_dir / LOG_DIR_NAME


@dataclass(frozen=True)
class ListenAddr:
    """A host and port to listen on, as given by `--listen` (host not yet resolved)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class TlsSettings:
    """`--tls-cert` / `--tls-key`: serve HTTPS with this PEM certificate chain and key."""

    cert: Path
    key: Path


DEFAULT_HEADER_TIMEOUT = 30.0
"""`--header-timeout`: seconds for a request head to arrive (hyper's default)."""
DEFAULT_KEEPALIVE_TIMEOUT = 75.0
"""`--keep-alive-timeout`: seconds an idle keep-alive connection stays open (nginx's default)."""
DEFAULT_MAX_CONNECTIONS = 1000
"""`--max-connections`: open connections per worker process (see `default_max_connections`)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The connection limits of one worker process (`spin_py.server.connections`)."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def default_max_connections() -> int:
    """`DEFAULT_MAX_CONNECTIONS`, or half the open-file limit when that is lower (every
    connection is a file descriptor; files, databases and outbound connections need some)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, soft // 2))


@dataclass(frozen=True)
class SecuritySettings:
    """The limits of docs/security.md that have a flag (the others are constants there)."""

    max_request_depth: int = DEFAULT_MAX_REQUEST_DEPTH
    """`--max-request-depth`: nested self and chained requests below a client's request."""
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    """`--header-timeout`, `--keep-alive-timeout`, `--max-connections` (per worker)."""
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES
    """`--max-log-size`: a component log file is rotated before it grows past this."""


@dataclass(frozen=True)
class PlatformSettings:
    """What the Spin platform APIs (variables, key-value, SQLite) need, as the CLI read it.

    Every serving process opens its backends from these (`spin_py.server.platform_setup`); the
    startup writes (`--key-value`, `--sqlite`) run once, before serving. `environ` is the
    process environment (variable providers read `SPIN_VARIABLE_*` and configured prefixes from
    it) and `cwd` the working directory (`.env`, relative `@file` options). Fields that may hold
    secret values are left out of `repr`.
    """

    runtime_config: RuntimeConfig = field(default_factory=RuntimeConfig, repr=False)
    variable_args: tuple[str, ...] = field(default=(), repr=False)
    """`--variable` options as given: `KEY=VALUE`, `KEY=@file`, `@file.json`, `@file.toml`."""
    key_value_args: tuple[str, ...] = ()
    """`--key-value KEY=VALUE` options."""
    sqlite_args: tuple[str, ...] = ()
    """`--sqlite STATEMENT | @file.sql` options."""
    environ: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cwd: Path = Path(".")


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
    max_instance_memory: int | None = DEFAULT_MAX_INSTANCE_MEMORY
    """`--max-instance-memory`: bytes per linear memory of a guest (docs/security.md)."""
    log_dir: str | None = None
    """`--log-dir`: None → `<state-dir>/logs`; "" → no log files (as Spin)."""
    follow: tuple[str, ...] = ()
    quiet: bool = False
    truncate_logs: bool = False
    """`--truncate-logs`: empty the components' log files at startup."""
    platform: PlatformSettings = field(default_factory=PlatformSettings)
    otel_env: tuple[tuple[str, str], ...] = ()
    """The `OTEL_*` environment variables, read by the CLI for the telemetry setup."""
    workers: int = 1
    """`--workers`: serving processes; 1 serves in this process, more fork a supervisor's
    workers sharing the socket (`spin_py.server.supervisor`)."""
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT
    """`--max-concurrent-requests`: guest calls in flight per worker process; one more is
    answered 503 at once (`spin_py.server.overload`)."""
    running_guests: int = DEFAULT_RUNNING_GUESTS
    """`--running-guests`: guest calls of a worker executing at once; the others wait in the
    host or for their turn (`spin_py.runtime.scheduler`)."""
    stuck_after: float = DEFAULT_STUCK_AFTER
    """`--stuck-after`: a guest call running longer counts as stuck; health answers 503 when
    every request slot of the process is held by a stuck call."""
    reuse_instances: int = 1
    """`--reuse-instances`: requests one instance may serve in turn (1: a fresh instance per
    request, as Spin; more trades isolation between requests for speed,
    `spin_py.runtime.reuse`)."""
    compile_cache_max_bytes: int | None = DEFAULT_MAX_BYTES
    """Size cap of the compile cache (env `SPIN_PY_CACHE_MAX_SIZE`; None: no cap); the least
    recently used artifacts are removed beyond it (`spin_py.runtime.compile_cache`)."""
    cache_root: Path | None = None
    """spin-py's cache directory (compiled artifacts, downloaded sources); None: no cache."""
    tls: TlsSettings | None = None
    """`--tls-cert`/`--tls-key`: serve HTTPS (None: plain HTTP)."""
    shutdown_delay: float = 0.0
    """`--shutdown-delay`: seconds a SIGTERM drains (serving, health 503) before the listener
    closes (`spin_py.server.drain`)."""
    security: SecuritySettings = field(default_factory=SecuritySettings)
    """The limits of docs/security.md that have flags (`spin_py.cli` `_security_options`)."""
    trace_ui: ListenAddr | None = None
    """`--trace-ui` / `--trace-ui-listen`: where the trace UI listens (None: no trace UI)."""
    access_log: bool = False
    """`--access-log`: one log line per request, with its trace id."""

    @property
    def resolved_state_dir(self) -> Path:
        """The state directory: `--state-dir`, else `.spin/` beside the manifest."""
        if self.state_dir is not None:
            return self.state_dir
        return self.manifest_path.parent / STATE_DIR_NAME

    @property
    def resolved_log_dir(self) -> Path | None:
        """Where component stdout/stderr files go (None: nowhere)."""
        if self.log_dir is None:
            return default_log_dir(self.resolved_state_dir)
        return Path(self.log_dir) if self.log_dir else None


@dataclass(frozen=True)
class BuildSettings:
    """What `spin-py build` (or `up --build`) was asked to build: all components if empty."""

    manifest_path: Path
    component_ids: tuple[str, ...] = ()


def default_workers(cpu_count: int | None) -> int:
    """`--workers` when not given: one process per CPU, at most `MAX_DEFAULT_WORKERS`."""
    return max(1, min(cpu_count or 1, MAX_DEFAULT_WORKERS))


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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_BYTES = re.compile(r"^\s*(\d+)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_BYTE_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "KIB": 1024,
    "KI": 1024,
    "M": 1000**2,
    "MB": 1000**2,
    "MIB": 1024**2,
    "MI": 1024**2,
    "G": 1000**3,
    "GB": 1000**3,
    "GIB": 1024**3,
    "GI": 1024**3,
}


def parse_duration(text: str) -> float:
    """Parse `--request-timeout`: `30s`, `500ms`, `2m`, `1h`, or plain seconds; must be > 0."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"invalid duration {text!r}: expected e.g. 30s, 500ms, 2m")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_bytes(text: str) -> int:
    """Parse `--max-instance-memory`: bytes, optionally with a unit (`256MiB`, `1G`, `64KB`)."""
    match = _BYTES.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ConfigError(f"invalid size {text!r}: expected bytes, e.g. 268435456 or 256MiB")
    return int(match.group(1)) * _BYTE_UNITS[(match.group(2) or "").upper()]


def parse_tls(cert: Path | None, key: Path | None) -> TlsSettings | None:
    """`--tls-cert` and `--tls-key` (both or neither); the files are loaded by
    `spin_py.server.tls`, which names the one that is wrong."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise ConfigError(f"{given} needs {missing} too (env SPIN_TLS_CERT / SPIN_TLS_KEY)")
    return TlsSettings(cert=cert, key=key)
