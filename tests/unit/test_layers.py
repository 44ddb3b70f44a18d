"""The layer rules of docs/architecture.md (section 2), checked on the source: imports point
down a layer.

Every `import` and `from ... import` of the package is read with `ast` (including those under
`if TYPE_CHECKING:`, which still couple the modules), so a rule broken anywhere fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "spin_py"

ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "manifest": frozenset({"errors"}),
    "host": frozenset({"manifest", "errors"}),
    "platform": frozenset({"manifest", "errors"}),
    "telemetry": frozenset({"host", "errors"}),
    "wasi": frozenset({"host", "manifest", "errors"}),
    "wasi_otel": frozenset({"host", "telemetry"}),
    "spin_api": frozenset({"host", "platform", "telemetry", "manifest", "errors"}),
    "outbound": frozenset({"host", "wasi", "telemetry", "platform", "manifest", "errors"}),
    "runtime": frozenset(
        {"host", "wasi", "wasi_otel", "spin_api", "telemetry", "manifest", "errors", ""}
    ),
    "traceui": frozenset({"telemetry", "errors"}),
    "routing": frozenset({"manifest", "errors"}),
    "config": frozenset(
        {"runtime", "outbound", "wasi", "wasi_otel", "spin_api", "telemetry", "platform"}
        | {"host", "manifest", "errors"}
    ),
    "build": frozenset({"config", "manifest", "errors"}),
    "log_limits": frozenset(),
}
"""What each layer package may import besides itself ("" is `spin_py` itself: its version).
Packages not listed (server, cli, watch) sit on top of these and may import any of them
(docs/architecture.md, section 2)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


@cache
def project_imports() -> dict[str, frozenset[str]]:
    """Every module of the package -> the project modules it imports."""
    graph: dict[str, frozenset[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(module, path, node)
                names = [f"{target}.{alias.name}" for alias in node.names]
                found.update(name if _is_module(name) else target for name in names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[module] = frozenset(m for m in found if m.split(".")[0] == "spin_py")
    return graph


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()


def layer(module: str) -> str:
    """`spin_py.wasi.http.types` -> `wasi`; `spin_py` -> ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_graph_covers_the_package() -> None:
    graph = project_imports()
    assert "spin_py.host.state" in graph and "spin_py.server.bridge" in graph
    assert "spin_py.host.state" in graph["spin_py.host.channels"]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below(package: str) -> None:
    allowed = ALLOWED[package] | {package}
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in project_imports().items()
        if layer(module) == package
        for target in targets
        if layer(target) not in allowed
    )
    assert wrong == []


def _cycle_from(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_module_import_cycle() -> None:
    graph = {module: set(targets) - {module} for module, targets in project_imports().items()}
    # A package's __init__ re-exporting its own modules is not a cycle between layers.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(f"{t}.")}
    assert _cycle_from(graph) is None


def test_no_layer_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for module, targets in project_imports().items():
        source = layer(module)
        graph.setdefault(source, set()).update(
            layer(t) for t in targets if layer(t) not in (source, "")
        )
    assert _cycle_from(graph) is None


def _names_a_module(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.split(".")[0] == "spin_py"
        and _is_module(node.value)
    )


def _string_imports(tree: ast.AST) -> Iterator[int]:
    """Lines that import a project module by name, or list project modules as strings (the
    shape of a registry that a loop then imports). Optional third-party imports by name (the
    gRPC exporter) are allowed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and any(map(_names_a_module, node.args)):
                yield node.lineno
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and any(
            map(_names_a_module, node.elts)
        ):
            yield node.lineno


def test_no_string_imports_of_project_modules() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in _string_imports(ast.parse(path.read_text()))
    ]
    assert found == []


def test_the_string_import_check_finds_one() -> None:
    tree = ast.parse(
        'importlib.import_module("spin_py.wasi.random")\nMODULES = ("spin_py.wasi.cli",)\n'
        'importlib.import_module("opentelemetry.exporter")\n'
    )
    assert list(_string_imports(tree)) == [1, 2]


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle_from({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle_from({"a": {"b"}, "b": set()}) is None
