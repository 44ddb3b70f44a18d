"""Spin manifest loading: `load(path) -> App` (v2, and v1 converted to v2), strictly validated."""

from spin_py.manifest.model import (
    App,
    BuildConfig,
    Component,
    Executor,
    FileMount,
    HttpTrigger,
    RemoteSource,
    StaticResponse,
    Variable,
)

__all__ = [
    "App",
    "BuildConfig",
    "Component",
    "Executor",
    "FileMount",
    "HttpTrigger",
    "RemoteSource",
    "StaticResponse",
    "Variable",
]
