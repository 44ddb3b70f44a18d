"""The guest library's README shows the otel-demo app exactly as it is built and tested."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_example_is_the_otel_demo_app_word_for_word() -> None:
    readme = (REPO / "guest" / "python" / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    app = (REPO / "components" / "otel-demo" / "app.py").read_text()
    assert blocks, "the README has no python example"
    assert blocks[0] == app


def test_readme_build_command_names_the_worlds_the_build_script_uses() -> None:
    readme = (REPO / "guest" / "python" / "README.md").read_text()
    build = (REPO / "components" / "otel-demo" / "build.py").read_text()
    for world in ("spin_sdk=spin-http", "opentelemetry_wasi=guest"):
        assert f"-m {world}" in readme
        assert f'"{world}"' in build
