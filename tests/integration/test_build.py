"""`spin-py build` on tiny manifests whose build commands are shell one-liners."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.server_fixtures import SPIN_PY, run_spin_py

REPO = Path(__file__).resolve().parents[2]

HEADER = """\
spin_manifest_version = 2

[application]
name = "builds"

[[trigger.http]]
route = "/a"
component = "first"

[[trigger.http]]
route = "/b"
component = "second"

[[trigger.http]]
route = "/c"
component = "plain"
"""


def write_app(tmp_path: Path, first: str, second: str, second_workdir: str | None = None) -> Path:
    """An app with components `first`, `second` (with these build commands) and `plain`."""
    workdir = f'workdir = "{second_workdir}"\n' if second_workdir else ""
    components = [
        '[component.first]\nsource = "first.wasm"',
        f"[component.first.build]\ncommand = {first}",
        '[component.second]\nsource = "second.wasm"',
        f"[component.second.build]\ncommand = {second}\n{workdir}",
        '[component.plain]\nsource = "plain.wasm"',
    ]
    (tmp_path / "spin.toml").write_text(HEADER + "\n" + "\n".join(components) + "\n")
    return tmp_path


def test_success_streams_prefixed_output_in_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    app = write_app(tmp_path, '["echo one", "echo two >&2"]', '"pwd"', second_workdir="sub")
    result = run_spin_py("build", "-f", str(app))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    prefixed = [line for line in lines if line.startswith("[")]
    assert prefixed == ["[first] one", "[first] two", f"[second] {tmp_path / 'sub'}"]
    assert 'No build command for component "plain": skipped' in lines
    assert lines[-1] == "Finished building all components"


def test_failure_names_component_and_status_and_stops(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"echo ok"', '["exit 3", "echo never"]')
    result = run_spin_py("build", "-f", str(app / "spin.toml"))
    assert result.returncode == 1
    assert "[first] ok" in result.stdout
    assert "never" not in result.stdout
    assert result.stderr.startswith("Error: ")
    assert 'component "second"' in result.stderr
    assert "exit status 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_first_failure_stops_later_components(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"false"', '"echo second ran"')
    result = run_spin_py("build", "-f", str(app))
    assert result.returncode == 1
    assert 'component "first"' in result.stderr and "exit status 1" in result.stderr
    assert "second ran" not in result.stdout


def test_component_selection(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"echo first ran"', '"echo second ran"')
    result = run_spin_py("build", "-f", str(app), "-c", "second")
    assert result.returncode == 0, result.stderr
    assert "[second] second ran" in result.stdout
    assert "first ran" not in result.stdout


def test_unknown_component(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"true"', '"true"')
    result = run_spin_py("build", "-f", str(app), "-c", "nope")
    assert result.returncode == 1
    assert 'unknown component "nope"' in result.stderr


def test_commands_run_with_the_users_python_not_spin_pys(tmp_path: Path) -> None:
    command = "\"python3 -c 'import sys; print(sys.prefix)'\""
    app = write_app(tmp_path, command, '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    printed = [line for line in result.stdout.splitlines() if line.startswith("[first] ")]
    assert printed and printed[0] != f"[first] {sys.prefix}"
    assert "Note:" not in result.stdout


def test_the_users_own_tool_wins_over_spin_pys(tmp_path: Path) -> None:
    user_bin = tmp_path / "user-bin"
    user_bin.mkdir()
    tool = user_bin / "componentize-py"
    tool.write_text("#!/bin/sh\necho user componentize-py 0.25.1\n")
    tool.chmod(0o755)
    app = write_app(tmp_path, '"componentize-py --version"', '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": f"{user_bin}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "[first] user componentize-py 0.25.1" in result.stdout.splitlines()
    assert "Note:" not in result.stdout


def test_spin_pys_tool_is_a_fallback_that_is_announced(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"componentize-py --version"', '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    own = Path(sys.executable).with_name("componentize-py")
    notes = [line for line in result.stdout.splitlines() if line.startswith("Note:")]
    assert notes == [
        f'Note: "componentize-py" is not on your PATH; component "first" is built with '
        f"spin-py's own ({own}). Install it to use your version."
    ]
    assert any(line.startswith("[first] componentize-py") for line in result.stdout.splitlines())


def test_a_command_not_found_fails_with_a_hint(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"no-such-tool-xyz --build"', '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert "exit status 127 (command not found: is the tool installed and on your PATH?)" in (
        result.stderr
    )


def test_commands_see_spin_pys_python_in_an_environment_variable(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"echo py=$SPIN_PY_PYTHON"', '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert f"[first] py={sys.executable}" in result.stdout.splitlines()


def test_each_component_build_reports_its_duration(tmp_path: Path) -> None:
    app = write_app(tmp_path, '"true"', '"true"')
    result = run_spin_py("build", "-f", str(app))
    assert result.returncode == 0, result.stderr
    finished = [line for line in result.stdout.splitlines() if line.startswith("Finished ")]
    assert len(finished) == 3
    assert finished[0].startswith('Finished building component "first" in ')
    assert finished[0].endswith("s")


def test_output_is_streamed_while_the_command_runs(tmp_path: Path) -> None:
    go = tmp_path / "go"
    command = f'"echo started; while [ ! -f {go} ]; do sleep 0.05; done; echo done"'
    app = write_app(tmp_path, command, '"true"')
    process = subprocess.Popen(
        [SPIN_PY, "build", "-f", str(app), "-c", "first"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_output = ""
        deadline = time.monotonic() + 20
        while not first_output.startswith("[first]") and time.monotonic() < deadline:
            first_output = process.stdout.readline()
        assert first_output == "[first] started\n"
        assert process.poll() is None  # the command is still waiting for `go`
        go.touch()
        rest, _ = process.communicate(timeout=20)
        assert "[first] done" in rest
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("app", ["hello", "otel-demo"])
def test_example_apps_build_without_spin_pys_venv_on_path(app: str, tmp_path: Path) -> None:
    """The example manifests run `python3 components/.../build.py`: with a user's PATH whose
    python3 lacks componentize-py, the script re-runs itself with `SPIN_PY_PYTHON`."""
    user_bin = tmp_path / "bin"
    user_bin.mkdir()
    (user_bin / "python3").symlink_to(os.path.realpath(sys.executable))  # the base Python
    manifest = REPO / "manifests" / app
    env = {"PATH": f"{user_bin}:/usr/bin:/bin"}
    result = run_spin_py("build", "-f", str(manifest), env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Note:" not in result.stdout  # python3 is the user's own; no fallback was needed
    assert result.stdout.splitlines()[-1] == "Finished building all components"
