"""`spin-py up -c/--component-id`: only the selected components are loaded, routed and listed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server_fixtures import SpinPyProcess, raw_request, run_spin_py

Start = Callable[..., SpinPyProcess]

TINY_WAT = Path(__file__).resolve().parents[2] / "components" / "tiny" / "tiny.wat"

APP = """\
spin_manifest_version = 2

[application]
name = "two"

[[trigger.http]]
route = "/a/..."
component = "alpha"

[[trigger.http]]
route = "/b"
component = "beta"

[[trigger.http]]
id = "ping"
route = "/ping"
static_response = { body = "pong" }

[component.alpha]
source = "alpha.wat"

[component.beta]
source = "beta.wat"
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "spin.toml").write_text(APP)
    shutil.copyfile(TINY_WAT, tmp_path / "alpha.wat")
    shutil.copyfile(TINY_WAT, tmp_path / "beta.wat")
    return tmp_path


def test_only_the_selected_components_routes_are_listed_and_served(
    spin_py_server: Start, app_dir: Path
) -> None:
    server = spin_py_server(app_dir, "-c", "alpha", "--workers", "1")
    base = server.base_url
    assert raw_request(base, "GET", "/a/x").status == 200
    assert raw_request(base, "GET", "/b").status == 404  # not a 500 "not loaded"
    assert raw_request(base, "GET", "/ping").body == b"pong"  # static responses run no component
    finished = server.stop()
    assert finished.stdout.splitlines()[1:] == [
        "Available Routes:",
        f"  alpha: {base}/a (wildcard)",
        f"  ping: {base}/ping",
    ]
    assert "not loaded" not in finished.stderr


def test_an_unselected_component_that_cannot_load_does_not_stop_up(
    spin_py_server: Start, app_dir: Path
) -> None:
    (app_dir / "beta.wat").write_text("(this is not a component)")
    server = spin_py_server(app_dir, "--component-id", "alpha", "--workers", "2")
    assert raw_request(server.base_url, "GET", "/a/").status == 200


def test_an_unknown_component_id_is_an_error(app_dir: Path) -> None:
    result = run_spin_py("up", "-f", str(app_dir), "-c", "alpha", "-c", "gamma", "--build")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f'Error: component "gamma" given to --component-id is not in the application '
        f'{app_dir / "spin.toml"} (components: "alpha", "beta")'
    )
    assert "Serving" not in result.stdout
    assert "Building" not in result.stdout
