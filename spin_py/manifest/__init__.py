"""Spin manifest loading: `load(path) -> App` (v2, and v1 converted to v2), strictly validated.

Errors are `spin_py.errors.ManifestError` with the message `<file>:<line>:<column>: <key.path>:
<message>` (see `spin_py.manifest.diagnostics`).
"""

from spin_py.manifest.loader import MANIFEST_FILE_NAME, load, resolve_manifest_path
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
    "MANIFEST_FILE_NAME",
    "App",
    "BuildConfig",
    "Component",
    "Executor",
    "FileMount",
    "HttpTrigger",
    "RemoteSource",
    "StaticResponse",
    "Variable",
    "load",
    "resolve_manifest_path",
]
