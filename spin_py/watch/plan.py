"""What `spin-py watch` watches in an app, and what a changed path means.

From the manifest, as `spin watch` reads it:

- the manifest file itself: a change reloads the whole app (and rebuilds the components whose
  build section changed);
- each component's `[component.<id>.build] watch` globs, relative to the build `workdir`
  (itself relative to the manifest's directory) or to the manifest's directory: a change
  rebuilds that component (only that one), then reloads;
- each component's local `source` and its `files` (globs as written; a `{ source, destination }`
  mount is its whole directory): a change reloads without building (e.g. a build run by hand,
  or `--skip-build`).

Globs are those of the manifest's `files` (`spin_py.wasi.filesystem.globs`): `*` and `?` match
within one path segment, `[...]` is a character class, `**` matches any number of whole
segments. Patterns are matched against absolute, normalized paths (so
`../../components/x/*.py` works from a manifest two levels down). Directories are watched
recursively from the deepest directory without glob characters (its nearest existing ancestor
if it does not exist yet); watching directories rather than files also sees files replaced by a
rename, as builds write them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spin_py.manifest.model import App, RemoteSource
from spin_py.wasi.filesystem.globs import compile_glob

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Glob:
    """One absolute glob pattern, matched as the manifest's `files` globs are
    (`spin_py.wasi.filesystem.globs.compile_glob`)."""

    pattern: str

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return compile_glob(self.pattern)

    def matches(self, path: str) -> bool:
        """Whether `path` (absolute, normalized) matches."""
        return self.regex.match(path.lstrip("/")) is not None

    @property
    def root(self) -> Path:
        """The deepest directory of the pattern without glob characters."""
        parts = Path(self.pattern).parts
        fixed: list[str] = []
        for part in parts:
            if _GLOB_CHARS.intersection(part):
                return Path(*fixed)
            fixed.append(part)
        return Path(*fixed).parent  # a literal file: watch its directory


@dataclass(frozen=True)
class WatchPlan:
    """The globs of one version of the manifest, by what a match means."""

    manifest: Path
    builds: dict[str, tuple[Glob, ...]]
    """Component id → the globs whose changes rebuild it (components with a build command)."""
    sources: tuple[Glob, ...] = ()
    """The components' local sources: a change reloads (if the file really changed)."""
    files: tuple[Glob, ...] = ()
    """The components' files mounts: a change reloads."""
    unwatched: tuple[str, ...] = ()
    """Components with a build command but no `watch` globs (said once at start)."""

    @classmethod
    def of(cls, app: App) -> WatchPlan:
        base = app.base_dir.absolute()
        builds: dict[str, tuple[Glob, ...]] = {}
        unwatched: list[str] = []
        sources: list[Glob] = []
        files: list[Glob] = []
        for cid, component in app.components.items():
            if component.build is not None:
                if component.build.watch:
                    workdir = base / (component.build.workdir or ".")
                    builds[cid] = tuple(_glob(workdir, w) for w in component.build.watch)
                else:
                    unwatched.append(cid)
            if not isinstance(component.source, RemoteSource):
                sources.append(_glob(base, _escape(component.source)))
            for mount in component.files:
                if mount.destination is None:
                    files.append(_glob(base, mount.source))
                else:
                    files.append(_glob(base, _escape(mount.source)))
                    files.append(_glob(base, _escape(mount.source) + "/**"))
        manifest = Path(os.path.normpath(app.manifest_path.absolute()))
        return cls(manifest, builds, tuple(sources), tuple(files), tuple(unwatched))

    def roots(self) -> list[Path]:
        """The directories to watch (recursively), none inside another, each existing."""
        globs = [g for gs in self.builds.values() for g in gs] + [*self.sources, *self.files]
        candidates = {self.manifest.parent, *(_existing(g.root) for g in globs)}
        ordered = sorted(candidates, key=lambda p: len(p.parts))
        roots: list[Path] = []
        for path in ordered:
            if not any(path == r or r in path.parents for r in roots):
                roots.append(path)
        return roots

    def classify(self, paths: Iterable[str]) -> Changes:
        """What the changed `paths` (absolute) call for."""
        manifest = False
        rebuild: set[str] = set()
        sources: set[str] = set()
        files: set[str] = set()
        inputs: set[str] = set()
        for raw in paths:
            path = os.path.normpath(raw)
            if path == str(self.manifest):
                manifest = True
                continue
            for cid, globs in self.builds.items():
                if any(g.matches(path) for g in globs):
                    rebuild.add(cid)
                    inputs.add(path)
            if any(g.matches(path) for g in self.sources):
                sources.add(path)
            if any(g.matches(path) for g in self.files):
                files.add(path)
        return Changes(
            manifest, frozenset(rebuild), frozenset(sources), frozenset(files), frozenset(inputs)
        )

    def wants(self, path: str) -> bool:
        """Whether a change of `path` matters at all (the watcher's filter)."""
        return self.classify([path]).any


@dataclass(frozen=True)
class Changes:
    """What a batch of changed paths calls for."""

    manifest: bool
    rebuild: frozenset[str] = frozenset()
    """Components whose watched build inputs changed."""
    sources: frozenset[str] = frozenset()
    """Changed component sources (reload without building)."""
    files: frozenset[str] = frozenset()
    """Changed mounted files (reload without building)."""
    build_inputs: frozenset[str] = frozenset()
    """The changed paths that matched `watch` globs."""

    @property
    def any(self) -> bool:
        return self.manifest or bool(self.rebuild or self.sources or self.files)


def _glob(base: Path, pattern: str) -> Glob:
    joined = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
    return Glob(os.path.normpath(joined))


def _escape(path: str) -> str:
    """A literal path as a glob (its glob characters matched literally)."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def _existing(path: Path) -> Path:
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path
