"""The application model: a Spin manifest (v2, or v1 converted to v2) as frozen dataclasses.

Everything downstream (router, server, runtime) reads these types; nothing reads TOML again.
Paths are kept as written in the manifest; `App.base_dir` is the directory they are relative to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Variable:
    """An application variable from `[variables]`."""

    name: str
    default: str | None = None
    required: bool = False
    secret: bool = False
    description: str | None = None


@dataclass(frozen=True)
class RemoteSource:
    """`source = { url = "...", digest = "sha256:..." }`."""

    url: str
    digest: str


@dataclass(frozen=True)
class FileMount:
    """One `files` entry: a glob relative to the manifest (destination `None`), or a
    `{ source, destination }` directory/file mapping with an absolute destination."""

    source: str
    destination: str | None = None


@dataclass(frozen=True)
class BuildConfig:
    """`[component.<id>.build]`."""

    commands: tuple[str, ...]
    workdir: str | None = None
    watch: tuple[str, ...] = ()


@dataclass(frozen=True)
class Component:
    """`[component.<id>]` (or an inline component of a trigger)."""

    id: str
    source: str | RemoteSource
    description: str | None = None
    files: tuple[FileMount, ...] = ()
    exclude_files: tuple[str, ...] = ()
    allowed_outbound_hosts: tuple[str, ...] = ()
    key_value_stores: tuple[str, ...] = ()
    sqlite_databases: tuple[str, ...] = ()
    ai_models: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    build: BuildConfig | None = None


@dataclass(frozen=True)
class StaticResponse:
    """`static_response = { status_code, headers, body }` of a trigger."""

    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@dataclass(frozen=True)
class Executor:
    """`executor = { type = "spin" | "http" | "wagi", ... }`; extra keys kept verbatim."""

    type: Literal["spin", "http", "wagi"] = "spin"
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HttpTrigger:
    """One `[[trigger.http]]`.

    `route` is the route as written (`None` for a private route). Exactly one of `component`
    (a component id in `App.components`) and `static_response` is set.
    """

    id: str
    route: str | None
    component: str | None = None
    static_response: StaticResponse | None = None
    executor: Executor | None = None

    @property
    def private(self) -> bool:
        return self.route is None


@dataclass(frozen=True)
class App:
    """A loaded, validated application."""

    manifest_path: Path
    name: str
    version: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()
    triggers: tuple[HttpTrigger, ...] = ()
    components: dict[str, Component] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """The directory manifest-relative paths are resolved against."""
        return self.manifest_path.parent
