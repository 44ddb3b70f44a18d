"""Starting the Spin platform APIs for `spin-py up`: once before serving, then in each process.

`prepare_platform(app, config)` runs once, in the process that starts the server (before any
worker process exists): it warns about runtime-config sections spin-py ignores, opens the
backends to check them (a required variable without a value, an unknown store label: a
`ConfigError` naming it), applies `--key-value` and `--sqlite` exactly once, says where the
stores the components use keep their data, and, with `--truncate-logs`, empties the
components' log files.

`open_services(app, config)` opens the backends of one serving process (each worker process
calls it for itself; SQLite files and Redis are safe to share between processes). The caller
closes them at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from spin_py.config import UpConfig
from spin_py.manifest.model import App
from spin_py.platform.services import PlatformServices, apply_startup_writes, open_platform

log = logging.getLogger(__name__)

LOG_STREAMS = ("stdout", "stderr")


def open_services(app: App, config: UpConfig) -> PlatformServices:
    """The variables, key-value stores and SQLite databases of `app` for this process."""
    settings = config.platform
    return open_platform(
        app,
        state_dir=config.resolved_state_dir,
        runtime_config=settings.runtime_config,
        variable_args=settings.variable_args,
        env=dict(settings.environ),
        cwd=settings.cwd,
    )


def prepare_platform(app: App, config: UpConfig) -> None:
    """The once-per-`up` platform startup (see the module docstring)."""
    settings = config.platform
    for section in settings.runtime_config.ignored:
        log.warning(
            "runtime config section [%s] is not supported by spin-py and is ignored", section
        )
    services = open_services(app, config)
    try:
        apply_startup_writes(
            services,
            key_value_args=settings.key_value_args,
            sqlite_args=settings.sqlite_args,
            cwd=settings.cwd,
        )
        _describe_stores(app, services)
    finally:
        services.close()
    if config.truncate_logs:
        truncate_logs(app, config.resolved_log_dir)


def _describe_stores(app: App, services: PlatformServices) -> None:
    kv_labels = _used(c.key_value_stores for c in app.components.values())
    db_labels = _used(c.sqlite_databases for c in app.components.values())
    services.key_value.check_reachable(kv_labels)
    for label in kv_labels:
        log.info('key-value store "%s": %s', label, services.key_value.describe(label))
    for label in db_labels:
        log.info('SQLite database "%s": %s', label, services.sqlite.describe(label))


def _used(label_lists: Iterable[Iterable[str]]) -> list[str]:
    labels: list[str] = []
    for group in label_lists:
        labels += [label for label in group if label not in labels]
    return labels


def truncate_logs(app: App, log_dir: Path | None) -> None:
    """Empty `<log_dir>/<id>_stdout.txt` and `_stderr.txt` of every component (those that
    exist); nothing when log files are disabled."""
    if log_dir is None:
        return
    for component_id in app.components:
        for stream in LOG_STREAMS:
            path = log_dir / f"{component_id}_{stream}.txt"
            if path.is_file():
                path.write_bytes(b"")
