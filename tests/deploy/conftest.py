"""Fixtures for the deployment tests: the loopback scale-out cluster, and its figures.

`cluster` (module scope) starts a real `redis-server`, an OTLP receiver, three `spin-py up`
nodes and `haproxy` (see `tests/support/scale_out.py`). Without `haproxy` on PATH the cluster tests
are skipped, except under CI (`CI` set), where `.ci/run` installs it and a missing binary is a
failure.

Tests record their measured figures with `figures.add(...)`; they are printed in a
"scale-out figures" section at the end of the pytest run (so CI logs show them even when every
test passes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.http_apps import ready_component  # noqa: F401  (fixture)
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.redis_server import redis_server  # noqa: F401  (fixture)
from tests.support.scale_out import FIGURES, Cluster, Figures


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "scale_out: three spin-py nodes behind haproxy with redis and an OTLP receiver "
        "(about a minute); select with -m scale_out",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("scale-out figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def otlp_collector() -> Iterator[OtlpReceiver]:
    """One OTLP receiver for the whole cluster (every node exports to it)."""
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def cluster(
    redis_server: str,  # noqa: F811
    otlp_collector: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
    ready_component: Callable[[str], Path],  # noqa: F811
) -> Iterator[Cluster]:
    """Three kv-counter nodes behind haproxy, sharing the module's Redis and OTLP receiver."""
    if shutil.which("haproxy") is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed (.ci/run should have installed it)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    ready_component("kv-counter")
    running = Cluster(tmp_path_factory.mktemp("scale-out"), redis_server, otlp_collector.endpoint)
    try:
        yield running.start()
    finally:
        running.stop()
