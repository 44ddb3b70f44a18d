"""Application models for platform tests, shaped as the manifest loader produces them."""

from __future__ import annotations

from pathlib import Path

from spin_py.manifest.model import App, Component, Variable


def make_app(
    tmp_path: Path,
    *,
    variables: tuple[Variable, ...] = (),
    components: tuple[Component, ...] = (),
) -> App:
    """An application model as the manifest loader would produce it."""
    return App(
        manifest_path=tmp_path / "spin.toml",
        name="test-app",
        variables=variables,
        components={c.id: c for c in components},
    )
