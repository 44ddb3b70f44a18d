"""`spin-py build` on tiny manifests whose build commands are shell one-liners."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.support.server_fixtures import SPIN_PY, run_spin_py

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


def test_python_on_path_is_spin_pys_python(tmp_path: Path) -> None:
    command = "\"python -c 'import sys; print(sys.prefix)'\""
    app = write_app(tmp_path, command, '"true"')
    result = run_spin_py("build", "-f", str(app), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert f"[first] {sys.prefix}" in result.stdout.splitlines()


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
