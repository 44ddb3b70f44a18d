"""Per-component context: what host functions know about the component they serve.

Built once per component at startup (never per request) by the runtime; reached from a request
through `RequestState.component`. Interfaces that need precomputed per-component data (file
mounts, outbound rules, log files) keep it as a typed extension: `ctx.ext(FileMounts, make)`.

The kernel imports only the manifest model: process-wide services of the layers above (the
platform backends) are attached as `RuntimeSettings.extensions`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from spin_py.manifest.model import App, Component

E = TypeVar("E")


@dataclass(frozen=True)
class RuntimeSettings:
    """Process-wide settings the host interfaces read (from the CLI's frozen config)."""

    state_dir: Path
    log_dir: Path | None = None
    env: tuple[tuple[str, str], ...] = ()
    """`-e/--env KEY=VALUE` pairs, added to every component's environment."""
    quiet: bool = False
    follow: tuple[str, ...] | None = None
    """Component ids whose output is echoed to the console (None: all)."""
    extensions: tuple[object, ...] = field(default=(), compare=False)
    """Process-wide services that layers above the kernel attach (e.g. the platform layer's
    `PlatformServices`: variables, key-value stores, SQLite databases); an interface finds its
    own with `extension(cls)`."""

    def extension(self, cls: type[E]) -> E | None:
        """The attached extension of type `cls` (None: not attached, e.g. not configured)."""
        for value in self.extensions:
            if isinstance(value, cls):
                return value
        return None


@dataclass
class ComponentContext:
    """One component of the app, as the host interfaces see it."""

    app: App
    component: Component
    settings: RuntimeSettings
    _ext: dict[type, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def id(self) -> str:
        return self.component.id

    def ext(self, cls: type[E], factory: Callable[[ComponentContext], E]) -> E:
        """This component's extension of type `cls`, built by `factory(self)` once."""
        with self._lock:
            value = self._ext.get(cls)
            if value is None:
                value = factory(self)
                self._ext[cls] = value
            return value  # type: ignore[no-any-return]
