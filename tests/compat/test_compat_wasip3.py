"""WASIp3 (`wasi:http@0.3`) is refused with a message that says what to build instead.

wasmtime-py cannot host async component functions, streams or futures, so spin-py serves
`wasi:http@0.2.x` only (docs/compatibility.md#wasip3-and-component-model-async). Both ways a
user meets this are checked through the real `spin-py up`: a WASIp3 component (the `wasip3`
component: an async `wasi:http/handler@0.3` export) and the `wasip3-unstable` executor.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.server_fixtures import run_spin_py

WASIP3_WAT = Path(__file__).resolve().parents[2] / "components" / "wasip3" / "wasip3.wat"

APP = """\
spin_manifest_version = 2

[application]
name = "p3"

[[trigger.http]]
route = "/..."
component = "handler"{executor}

[component.handler]
source = "{source}"
"""


def error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_a_wasip3_component_is_refused_at_startup(tmp_path: Path) -> None:
    shutil.copyfile(WASIP3_WAT, tmp_path / "handler.wat")
    (tmp_path / "spin.toml").write_text(APP.format(executor="", source="handler.wat"))
    done = run_spin_py("up", "-f", str(tmp_path), "--listen", "127.0.0.1:0")
    assert done.returncode == 1, done.stderr
    line = error_line(done.stderr)
    assert line.startswith(f'Error: component "handler": {tmp_path / "handler.wat"} is a WASIp3 ')
    assert "(`wasi:http@0.3`) component: it uses component-model async" in line
    assert "async component functions require the component model async feature" in line
    assert "spin-py hosts `wasi:http@0.2.x` components" in line
    assert "the Spin SDK 3.x, `spin-sdk==3.4.1`, with componentize-py 0.17.x" in line
    assert "Traceback" not in done.stderr


def test_the_wasip3_executor_is_refused_with_the_manifest_position(tmp_path: Path) -> None:
    executor = '\nexecutor = { type = "wasip3-unstable" }'
    (tmp_path / "spin.toml").write_text(APP.format(executor=executor, source="handler.wasm"))
    done = run_spin_py("up", "-f", str(tmp_path), "--listen", "127.0.0.1:0")
    assert done.returncode == 1, done.stderr
    assert error_line(done.stderr) == (
        f"Error: {tmp_path / 'spin.toml'}:9:14: trigger.http[0].executor.type: executor "
        '"wasip3-unstable" runs WASIp3 (`wasi:http@0.3`) components, which spin-py cannot host: '
        "spin-py hosts `wasi:http@0.2.x` components. Remove the executor and build the component "
        "for `wasi:http@0.2.x` (for Python: the Spin SDK 3.x, `spin-sdk==3.4.1`, with "
        "componentize-py 0.17.x)"
    )
