"""`spin-py up --log-level` (env `SPIN_PY_LOG_LEVEL`) reaches every worker process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.server_fixtures import SpinPyProcess, run_spin_py

Start = Callable[..., SpinPyProcess]

STATIC_APP = Path(__file__).resolve().parents[2] / "manifests" / "static"
EXPORT_OFF = "OpenTelemetry export is off"  # a debug line each worker logs as it starts


def test_debug_lines_come_from_every_worker(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP, "--workers", "2", "--log-level", "debug")
    stderr = server.stop().stderr
    assert stderr.count(EXPORT_OFF) == 2, stderr
    assert " DEBUG spin_py." in stderr


def test_the_environment_variable_sets_the_level(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP, "--workers", "2", env={"SPIN_PY_LOG_LEVEL": "DEBUG"})
    assert server.stop().stderr.count(EXPORT_OFF) == 2


def test_the_default_info_level_hides_debug_lines(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP, "--workers", "2")
    stderr = server.stop().stderr
    assert EXPORT_OFF not in stderr
    assert "worker 2" in stderr and " INFO " in stderr  # "worker 2 (pid ...) ready"


def test_warning_level_hides_info_lines(spin_py_server: Start) -> None:
    server = spin_py_server(STATIC_APP, "--workers", "2", "--log-level", "warning")
    assert " INFO " not in server.stop().stderr


def test_an_unknown_level_is_a_usage_error() -> None:
    result = run_spin_py("up", "-f", str(STATIC_APP), "--log-level", "loud")
    assert result.returncode == 2
    assert "--log-level" in result.stderr
