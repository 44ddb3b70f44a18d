"""Every guest program under components/ is used by some test (as wasmtime's test-programs
build fails when a guest has no test): a component nobody exercises is dead weight or an
untested behaviour.

A test uses a component when a test module names it as a whole string (`built_component("echo")`,
`ready_component("platform-probe")`, `{"chain-back": ...}`), as a path segment
(`REPO / "components" / "wasip3"`), or names an example manifest (`manifests/<app>`) whose
spin.toml builds it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPONENTS = REPO / "components"
MANIFESTS = REPO / "manifests"
_SOURCE_IN_MANIFEST = re.compile(r"components/([A-Za-z0-9_-]+)/")


def component_names() -> set[str]:
    """Directories of components/ holding a guest program (Python or JavaScript sources, or a
    WAT file)."""
    return {
        d.name
        for d in COMPONENTS.iterdir()
        if d.is_dir()
        and ((d / "app.py").is_file() or (d / "app.js").is_file() or any(d.glob("*.wat")))
    }


def strings_in(paths: Iterable[Path]) -> set[str]:
    """Every string literal in these Python files, whole and split at `/`."""
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
                found.update(node.value.split("/"))
    return found


def used_components(strings: set[str], names: set[str]) -> set[str]:
    """The components these test strings name, directly or through an example manifest."""
    used = names & strings
    for manifest in MANIFESTS.glob("*/spin.toml"):
        if manifest.parent.name in strings:
            used.update(_SOURCE_IN_MANIFEST.findall(manifest.read_text()))
    return used & names


def test_every_component_is_used_by_a_test() -> None:
    names = component_names()
    assert {"echo", "tiny", "hello", "hello-js"} <= names  # the scan sees the components
    tests = [p for p in (REPO / "tests").rglob("*.py") if p.resolve() != Path(__file__).resolve()]
    unused = names - used_components(strings_in(tests), names)
    assert unused == set(), f"components no test uses: {sorted(unused)}"


def test_the_check_reports_an_unused_component() -> None:
    names = {"echo", "never-used"}
    assert used_components({"echo", "x"}, names) == {"echo"}
    assert used_components({"kv-counter"}, {"kv-counter", "echo"}) == {"kv-counter"}
