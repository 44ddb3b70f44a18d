"""The one place tests build app models, component contexts and request states.

- `make_app(tmp, components, variables=...)`: an `App` as the manifest loader would produce it,
  its manifest at `tmp/spin.toml`; components are `Component`s or `{id: source}`, and each gets
  an HTTP trigger at `/<id>`.
- `make_context(tmp, component, **settings)`: the `ComponentContext` of one component of such an
  app (`settings` are `RuntimeSettings` fields; `state_dir` defaults to `tmp/.spin`).
- `make_state(loop, ...)`: a `RequestState` of such a context (a new, never-run event loop
  unless one is given).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spin_py.host.context import ComponentContext, RuntimeSettings
from spin_py.host.state import RequestState
from spin_py.manifest.model import App, Component, HttpTrigger, Variable

NOWHERE = Path("/nonexistent")
"""The `tmp` of models whose files are never read."""

DEFAULT_COMPONENT = Component(id="test-component", source="test.wasm")


def make_app(
    tmp: Path,
    components: Mapping[str, str] | Sequence[Component] = (),
    *,
    variables: tuple[Variable, ...] = (),
) -> App:
    """An application model (see the module docstring)."""
    if isinstance(components, Mapping):
        components = [Component(id=cid, source=src) for cid, src in components.items()]
    triggers = tuple(
        HttpTrigger(id=f"{c.id}-http-trigger", route=f"/{c.id}", component=c.id) for c in components
    )
    return App(
        manifest_path=tmp / "spin.toml",
        name="test-app",
        variables=variables,
        triggers=triggers,
        components={c.id: c for c in components},
    )


def make_context(
    tmp: Path = NOWHERE, component: Component | None = None, **settings: Any
) -> ComponentContext:
    """A ComponentContext for `component` in an app whose manifest would live in `tmp`."""
    component = component or DEFAULT_COMPONENT
    settings.setdefault("state_dir", tmp / ".spin")
    return ComponentContext(make_app(tmp, [component]), component, RuntimeSettings(**settings))


def make_state(
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    tmp: Path = NOWHERE,
    component: Component | None = None,
    deadline: float | None = None,
) -> RequestState:
    """A RequestState of `component` (see `make_context`)."""
    ctx = make_context(tmp, component)
    return RequestState(component=ctx, loop=loop or asyncio.new_event_loop(), deadline=deadline)
