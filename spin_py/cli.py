"""The `spin-py` command line: `up`, `watch`, `build` and `cache` (`info`, `clear`, `warm`).

Options (and the environment: `SPIN_HTTP_LISTEN_ADDR`, and the process environment passed to build
commands and, with the working directory, to the variable providers) are read here and only
here, turned into frozen settings from `spin_py.config`, and handed over. Errors spin-py raises
on purpose print as `Error: <message>` on stderr with exit status 1 and no traceback.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from spin_py import __version__
from spin_py.build import run_build
from spin_py.config import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_LISTEN,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TRACE_UI_LISTEN,
    BuildSettings,
    ConnectionLimits,
    OutputFormat,
    PlatformSettings,
    SecuritySettings,
    UpConfig,
    default_max_connections,
    default_workers,
    parse_bytes,
    parse_duration,
    parse_env_pair,
    parse_listen_addr,
    parse_tls,
)
from spin_py.errors import SpinPyError
from spin_py.log_limits import RepeatFilter
from spin_py.manifest import load as load_manifest
from spin_py.manifest import resolve_manifest_path
from spin_py.manifest.select import retain_components
from spin_py.outbound.nesting import DEFAULT_MAX_REQUEST_DEPTH
from spin_py.platform.services import choose_state_dir, read_runtime_config
from spin_py.runtime import cache_admin
from spin_py.runtime.compile_cache import (
    COMPILED_DIR,
    DEFAULT_MAX_BYTES,
    default_cache_root,
    report_to_stderr,
)
from spin_py.runtime.engine import get_engine
from spin_py.runtime.remote_sources import resolve_remote_sources
from spin_py.runtime.scheduler import (
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_RUNNING_GUESTS,
    DEFAULT_STUCK_AFTER,
)
from spin_py.runtime.store_limits import DEFAULT_MAX_INSTANCE_MEMORY
from spin_py.server.bridge import wasm_component_handler_factory
from spin_py.server.platform_setup import prepare_platform
from spin_py.server.up import up as serve_app
from spin_py.watch import WatchSettings, run_watch

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_MANIFEST = "spin.toml"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print `SpinPyError`s as `Error: <message>` and exit 1, without a traceback; an interrupt
    before the server runs (e.g. during `--build`) exits 130 quietly."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SpinPyError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("spin_py").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:  # repeated lines are rate-limited
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_LEVEL_ENV = "SPIN_PY_LOG_LEVEL"


def _log_level_option(command: Callable[P, R]) -> Callable[P, R]:
    """`--log-level` (env `SPIN_PY_LOG_LEVEL`): the level of spin-py's own log lines."""
    return click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default="info",
        show_default=True,
        envvar=LOG_LEVEL_ENV,
        help="Level of spin-py's log lines, in every worker (env SPIN_PY_LOG_LEVEL).",
    )(command)


def _tls_options(command: Callable[P, R]) -> Callable[P, R]:
    """`--tls-cert` / `--tls-key` (env `SPIN_TLS_CERT` / `SPIN_TLS_KEY`, as Spin)."""
    options = [
        click.option(
            "--tls-cert",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            envvar="SPIN_TLS_CERT",
            help="Serve HTTPS with this PEM certificate (chain); needs --tls-key "
            "(env SPIN_TLS_CERT).",
        ),
        click.option(
            "--tls-key",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            envvar="SPIN_TLS_KEY",
            help="The PEM private key of --tls-cert (env SPIN_TLS_KEY).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _security_options(command: Callable[..., R]) -> Callable[..., R]:
    """The limits of docs/security.md that have flags, handed to the command as one
    `SecuritySettings` (keyword `security`)."""

    @functools.wraps(command)
    def wrapper(
        *args: object,
        max_request_depth: int,
        header_timeout: str,
        keep_alive_timeout: str,
        max_connections: int | None,
        max_log_size: str,
        **kwargs: object,
    ) -> R:
        connections = ConnectionLimits(
            header_timeout=parse_duration(header_timeout),
            keepalive_timeout=parse_duration(keep_alive_timeout),
            max_connections=max_connections or default_max_connections(),
        )
        kwargs["security"] = SecuritySettings(
            max_request_depth, connections, max_log_bytes=parse_bytes(max_log_size)
        )
        return command(*args, **kwargs)

    options = [
        click.option(
            "--max-request-depth",
            type=click.IntRange(min=0),
            default=DEFAULT_MAX_REQUEST_DEPTH,
            show_default=True,
            metavar="N",
            help="Nested self and service-chained requests below a client's request; one "
            "more gets loop-detected.",
        ),
        click.option(
            "--header-timeout",
            default=f"{DEFAULT_HEADER_TIMEOUT:g}s",
            show_default=True,
            metavar="DURATION",
            help="A request head must arrive within this; else 408 and the connection closes.",
        ),
        click.option(
            "--keep-alive-timeout",
            default=f"{DEFAULT_KEEPALIVE_TIMEOUT:g}s",
            show_default=True,
            metavar="DURATION",
            help="Close a keep-alive connection idle this long.",
        ),
        click.option(
            "--max-connections",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help=f"Open connections per worker; one more is answered 503 (default: "
            f"{DEFAULT_MAX_CONNECTIONS}, at most half the open-file limit).",
        ),
        click.option(
            "--max-log-size",
            default="10MiB",
            show_default=True,
            metavar="BYTES",
            help="Rotate a component's stdout/stderr file before it grows past this (2 old "
            "files are kept).",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


CACHE_MAX_SIZE_ENV = "SPIN_PY_CACHE_MAX_SIZE"


def _cache_max_bytes() -> int:
    """The compile cache's size cap: `SPIN_PY_CACHE_MAX_SIZE` (e.g. 4GiB), else the default."""
    text = os.environ.get(CACHE_MAX_SIZE_ENV)
    return DEFAULT_MAX_BYTES if not text else parse_bytes(text)


def _set_log_level(level: str) -> None:
    """Apply `--log-level` to spin-py's loggers, and export it so that every process spin-py
    starts (workers, build commands) logs at the same level. Other libraries' loggers stay at
    warning (at error with `--log-level error`)."""
    value = getattr(logging, level.upper())
    logging.getLogger("spin_py").setLevel(value)
    logging.getLogger().setLevel(max(value, logging.WARNING))
    os.environ[LOG_LEVEL_ENV] = level.lower()


def _usable_cpus() -> int | None:
    """CPUs this process may run on (its affinity mask, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def _manifest_option() -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "-f",
        "--from",
        "from_",
        default=DEFAULT_MANIFEST,
        show_default=True,
        metavar="PATH",
        help="The manifest (spin.toml), or a directory containing one.",
    )


def _component_ids_option(help_text: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`-c/--component-id ID` (repeatable), as `component_ids`."""
    return click.option(
        "-c", "--component-id", "component_ids", multiple=True, metavar="ID", help=help_text
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spin-py")
def main() -> None:
    """spin-py: run Spin applications (HTTP trigger) in Python."""
    _configure_logging()


def _platform_options(command: Callable[P, R]) -> Callable[P, R]:
    """The Spin platform API options of `up`: variables, key-value, SQLite, runtime config."""
    options = [
        click.option(
            "--variable",
            "variable_args",
            multiple=True,
            metavar="KEY=VALUE",
            help="Application variable: KEY=VALUE, KEY=@file, @file.json or @file.toml; "
            "repeatable.",
        ),
        click.option(
            "--key-value",
            "key_value_args",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set a key in the default key-value store at startup; repeatable.",
        ),
        click.option(
            "--sqlite",
            "sqlite_args",
            multiple=True,
            metavar="STATEMENT",
            help="Run SQL (or @file.sql) on the default SQLite database at startup; repeatable.",
        ),
        click.option(
            "--runtime-config-file",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            help="Runtime config (TOML): key-value stores, SQLite databases, variable providers.",
        ),
        click.option(
            "--truncate-logs", is_flag=True, help="Empty the components' log files at startup."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _platform_settings(
    runtime_config_file: Path | None,
    variable_args: tuple[str, ...],
    key_value_args: tuple[str, ...],
    sqlite_args: tuple[str, ...],
) -> PlatformSettings:
    """The platform options, the runtime config file read, the environment and the cwd."""
    return PlatformSettings(
        runtime_config=read_runtime_config(runtime_config_file),
        variable_args=variable_args,
        key_value_args=key_value_args,
        sqlite_args=sqlite_args,
        environ=tuple(os.environ.items()),
        cwd=Path.cwd(),
    )


@main.command()
@_manifest_option()
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    envvar="SPIN_HTTP_LISTEN_ADDR",
    metavar="ADDR",
    help="Address to listen on, HOST:PORT (env SPIN_HTTP_LISTEN_ADDR).",
)
@click.option("--find-free-port", is_flag=True, help="If the port is busy, try the next 9 ports.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["plain", "json"]),
    default="plain",
    show_default=True,
    help="Format of the startup route listing.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for app state (default: .spin/ beside the manifest).",
)
@click.option(
    "-e",
    "--env",
    "env_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Environment variable for every component; repeatable.",
)
@click.option("--build", is_flag=True, help="Build the components before starting.")
@_component_ids_option("Serve only this component's routes; repeatable (default: all).")
@click.option(
    "--request-timeout",
    default=None,
    metavar="DURATION",
    help="End a request whose guest runs longer than this (e.g. 30s, 500ms); default: none.",
)
@click.option(
    "--max-instance-memory",
    default=None,
    metavar="BYTES",
    help="Cap each instance's linear memory (e.g. 268435456 or 512MiB); default: 256MiB.",
)
@click.option(
    "--log-dir",
    default=None,
    metavar="DIR",
    help='Directory for component stdout/stderr files (default: <state-dir>/logs; "" disables).',
)
@click.option(
    "--follow",
    multiple=True,
    metavar="ID",
    help="Echo only these components' output to the console; repeatable (default: all).",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not echo component output to the console.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Worker processes sharing the port (default: the CPU count, at most 4).",
)
@click.option(
    "--max-concurrent-requests",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CONCURRENT,
    show_default=True,
    metavar="N",
    help=(
        "Requests each worker runs at once; one more is answered 503 with Retry-After. "
        "Self and service-chained requests may run as many again."
    ),
)
@click.option(
    "--running-guests",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNNING_GUESTS,
    show_default=True,
    metavar="N",
    help="Guests of a worker executing at once (guests waiting on I/O do not count).",
)
@click.option(
    "--stuck-after",
    default=f"{DEFAULT_STUCK_AFTER:g}s",
    show_default=True,
    metavar="DURATION",
    help="A request running longer counts as stuck: health answers 503 when all are stuck.",
)
@click.option(
    "--reuse-instances",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Let one instance serve up to N requests in turn (1: a fresh instance per request, "
    "as Spin; more is faster but requests of a component share its guest state).",
)
@click.option(
    "--shutdown-delay",
    default=None,
    metavar="DURATION",
    help="On SIGTERM, keep serving this long with the health check answering 503, so load "
    "balancers take this node out first (e.g. 5s); default: none.",
)
@click.option(
    "--trace-ui",
    is_flag=True,
    help="Serve a trace viewer (recent traces, waterfall, metrics) on a port of its own.",
)
@click.option(
    "--trace-ui-listen",
    default=None,
    metavar="ADDR",
    help=f"Address of the trace viewer, HOST:PORT (implies --trace-ui; default "
    f"{DEFAULT_TRACE_UI_LISTEN}: loopback, a free port).",
)
@click.option("--access-log", is_flag=True, help="Log one line per request, with its trace id.")
@_platform_options
@_tls_options
@_security_options
@_log_level_option
@_user_errors
def up(
    from_: str,
    listen: str,
    find_free_port: bool,
    output_format: OutputFormat,
    state_dir: Path | None,
    env_pairs: tuple[str, ...],
    build: bool,
    component_ids: tuple[str, ...],
    request_timeout: str | None,
    max_instance_memory: str | None,
    log_dir: str | None,
    follow: tuple[str, ...],
    quiet: bool,
    workers: int | None,
    max_concurrent_requests: int,
    running_guests: int,
    stuck_after: str,
    reuse_instances: int,
    shutdown_delay: str | None,
    trace_ui: bool,
    trace_ui_listen: str | None,
    access_log: bool,
    variable_args: tuple[str, ...],
    key_value_args: tuple[str, ...],
    sqlite_args: tuple[str, ...],
    runtime_config_file: Path | None,
    truncate_logs: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_level: str,
    security: SecuritySettings,
) -> None:
    """Serve the application until interrupted (SIGINT/SIGTERM)."""
    _set_log_level(log_level)
    manifest_path = resolve_manifest_path(Path(from_)).absolute()
    platform = _platform_settings(runtime_config_file, variable_args, key_value_args, sqlite_args)
    runtime_config = platform.runtime_config
    state_dir = choose_state_dir(state_dir, runtime_config)
    if log_dir is None and runtime_config.log_dir is not None:
        log_dir = str(runtime_config.log_dir)
    cache_root = default_cache_root(os.environ)
    config = UpConfig(
        manifest_path=manifest_path,
        listen=parse_listen_addr(listen),
        find_free_port=find_free_port,
        output_format=output_format,
        state_dir=state_dir,
        env=tuple(parse_env_pair(pair) for pair in env_pairs),
        build=build,
        component_ids=component_ids,
        request_timeout=None if request_timeout is None else parse_duration(request_timeout),
        max_instance_memory=DEFAULT_MAX_INSTANCE_MEMORY
        if max_instance_memory is None
        else parse_bytes(max_instance_memory),
        log_dir=log_dir,
        follow=follow,
        quiet=quiet,
        workers=workers if workers is not None else default_workers(_usable_cpus()),
        max_concurrent_requests=max_concurrent_requests,
        running_guests=running_guests,
        stuck_after=parse_duration(stuck_after),
        reuse_instances=reuse_instances,
        shutdown_delay=0.0 if shutdown_delay is None else parse_duration(shutdown_delay),
        truncate_logs=truncate_logs,
        platform=platform,
        otel_env=tuple((k, v) for k, v in os.environ.items() if k.startswith("OTEL_")),
        tls=parse_tls(tls_cert, tls_key),
        compile_cache_max_bytes=_cache_max_bytes(),
        cache_root=cache_root,
        security=security,
        trace_ui=None
        if not (trace_ui or trace_ui_listen)
        else parse_listen_addr(trace_ui_listen or DEFAULT_TRACE_UI_LISTEN),
        access_log=access_log,
    )
    watching = _WATCHING.get()
    if watching is not None:  # `spin-py watch`: builds, serves and reloads by itself
        run_watch(config, watching, cache_dir=cache_root / COMPILED_DIR, environ=os.environ)
        return
    app = retain_components(load_manifest(manifest_path), component_ids)  # unknown ids fail here
    if config.build:
        run_build(BuildSettings(manifest_path, component_ids), environ=os.environ, app=app)
    app = resolve_remote_sources(app, cache_root, report_to_stderr)
    prepare_platform(app, config)
    components = wasm_component_handler_factory(cache_root / COMPILED_DIR)
    serve_app(config, app=app, components=components)


_WATCHING: contextvars.ContextVar[WatchSettings | None] = contextvars.ContextVar(
    "spin_py_watching", default=None
)
"""Set by `watch` while it runs `up`'s option parsing and checks, so `up` watches instead."""


@main.command(
    context_settings={"ignore_unknown_options": True},
    epilog="Any other option is `spin-py up`'s (e.g. --listen, -e, --variable, --tls-cert); "
    "see `spin-py up --help`. -c here is --clear, as in `spin watch`; use --component-id to "
    "select components.",
)
@_manifest_option()
@click.option("-c", "--clear", is_flag=True, help="Clear the screen before each rebuild.")
@click.option(
    "-d",
    "--debounce",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    metavar="MS",
    help="Quiet time after a change before rebuilding, in milliseconds.",
)
@click.option(
    "--skip-build",
    is_flag=True,
    help="Never build: reload when a component's source file (or mounted files) change.",
)
@click.argument("up_args", nargs=-1, type=click.UNPROCESSED, metavar="[UP OPTIONS]...")
def watch(
    from_: str, clear: bool, debounce: int, skip_build: bool, up_args: tuple[str, ...]
) -> None:
    """Build and serve the application, then rebuild the components whose `watch` files
    change and swap the new version in on the same port (manifest changes reload the whole
    app). A failed build or load keeps the previous version serving."""
    if any(arg == "--workers" or arg.startswith("--workers=") for arg in up_args):
        click.echo("Note: spin-py watch serves from one process; --workers is ignored", err=True)
    up_context = up.make_context("spin-py watch", ["-f", from_, *up_args])
    token = _WATCHING.set(WatchSettings(skip_build=skip_build, clear=clear, debounce_ms=debounce))
    try:
        with up_context:
            up.invoke(up_context)
    finally:
        _WATCHING.reset(token)


@main.command()
@_manifest_option()
@_component_ids_option("Build only this component; repeatable (default: all).")
@_user_errors
def build(from_: str, component_ids: tuple[str, ...]) -> None:
    """Run the build commands of the application's components."""
    settings = BuildSettings(resolve_manifest_path(Path(from_)).absolute(), component_ids)
    run_build(settings, environ=os.environ)


@main.group()
def cache() -> None:
    """Inspect or empty spin-py's cache (compiled components, downloaded sources)."""


@cache.command("info")
@_user_errors
def cache_info() -> None:
    """Where the cache is, and how big each part is."""
    root = default_cache_root(os.environ)
    click.echo(f"Cache directory: {root}")
    limit = _cache_max_bytes()
    for part in cache_admin.usage(root):
        line = f"  {part.name}: {_files(part.files)}, {_megabytes(part.bytes)}"
        if part.name == "compiled components":
            line += (
                f" (limit {_megabytes(limit)}, least recently used removed first; "
                f"env {CACHE_MAX_SIZE_ENV})"
            )
        elif part.name == "other":
            line += " (not spin-py's runtime cache; `cache clear --all` removes it too)"
        click.echo(line)


@cache.command("clear")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Remove the whole cache directory, including other tools' files.",
)
@_user_errors
def cache_clear(everything: bool) -> None:
    """Remove the compiled components and downloaded sources (safe while servers run)."""
    root = default_cache_root(os.environ)
    removed = cache_admin.clear(root, everything=everything)
    parts = ", ".join(f"{p.name} ({_files(p.files)}, {_megabytes(p.bytes)})" for p in removed)
    click.echo(f"Removed from {root}: {parts}")


@cache.command("warm")
@_manifest_option()
@_component_ids_option("Only this component; repeatable (default: every component a route uses).")
@_user_errors
def cache_warm(from_: str, component_ids: tuple[str, ...]) -> None:
    """Download the app's remote sources and compile its components into the cache, so that
    `spin-py up` starts without compiling (e.g. while building a container image)."""
    app = retain_components(load_manifest(resolve_manifest_path(Path(from_))), component_ids)
    root = default_cache_root(os.environ)
    warmed = cache_admin.warm(
        app, root, get_engine(), max_bytes=_cache_max_bytes(), report=report_to_stderr
    )
    for item in warmed:
        what = {
            "compiled": f"compiled into the cache in {item.seconds:.1f}s",
            "cached": "already in the cache",
            "text": "component text: compiled at startup, never cached",
        }[item.status]
        click.echo(f'Component "{item.component_id}": {what}')
    click.echo(f"Cache: {root / COMPILED_DIR}")


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _megabytes(size: int) -> str:
    """A size for people: `512 B`, `3.4 kB`, `474.2 MB`, `2.1 GB`."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
