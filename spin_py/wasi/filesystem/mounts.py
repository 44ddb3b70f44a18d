"""The read-only file tree a component sees, built from its manifest `files`.

Mounts (as in Spin): a glob string maps each matching file (relative to the manifest
directory) to the same relative path under `/`; `{ source, destination }` maps a directory
(or one file) at `destination`. `exclude_files` globs hide files. The result is a tree of
nodes, computed once per component (`mounts(ctx)`):

- `VirtualDir`: a directory made of mount points, optionally overlaying a host directory
  (e.g. `{ source = "assets", destination = "/" }` plus glob files);
- `HostDir` / `HostFile` / `HostLink`: host objects inside one mount, each remembering the
  mount's root so that nothing resolves outside it.

Path resolution (`resolve`) is confined: absolute paths, `..` above the starting directory and
symlinks leading outside their mount all fail with `not-permitted`.

Nothing is mounted from outside the application directory (docs/security.md, "Files"): every
file a glob matches and every `{ source, destination }` source must resolve (symlinks
followed) inside it, else building the tree raises `ComponentLoadError`. The server builds
every component's tree at startup (`check_mounts`), so such a manifest fails to start. A glob
file's confinement root is the application directory, a mapping's its source, and opening a
file checks again (a symlink swapped in after startup is `not-permitted`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spin_py.errors import ComponentLoadError
from spin_py.host.context import ComponentContext
from spin_py.manifest.model import Component
from spin_py.wasi.filesystem.errors import FsError, from_os_error
from spin_py.wasi.filesystem.globs import Excludes, expand

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Mount:
    """What every host node of one mount shares: its confinement root and the excludes."""

    root: str
    """Real path of the mounted directory (or file)."""
    excludes: Excludes

    def contains(self, real: str) -> bool:
        return _inside(self.root, real)


@dataclass(eq=False)
class HostNode:
    """A host file-system object inside a mount (`path` is absolute, not yet realpath'd)."""

    path: str
    mount: Mount


class HostFile(HostNode):
    """A regular file (or another non-directory object) on the host."""


class HostLink(HostNode):
    """A symlink inside a mount, seen without following it."""


class HostDir(HostNode):
    """A directory on the host."""

    def child(self, name: str, follow: bool) -> Node:
        """The entry `name`; raises `FsError` (`no-entry`, `not-permitted`, ...)."""
        path = os.path.join(self.path, name)
        if self.mount.excludes.excluded(path):
            raise FsError("no-entry")
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise from_os_error(exc) from None
        if stat.S_ISLNK(st.st_mode):
            if not follow:
                return HostLink(path, self.mount)
            path = os.path.realpath(path)
            if not self.mount.contains(path) or self.mount.excludes.excluded(path):
                raise FsError("not-permitted")
            try:
                st = os.stat(path)
            except OSError as exc:
                raise from_os_error(exc) from None
        return host_node(path, st.st_mode, self.mount)

    def names(self) -> list[str]:
        """Entry names, excluded ones left out."""
        try:
            names = os.listdir(self.path)
        except OSError as exc:
            raise from_os_error(exc) from None
        excluded = self.mount.excludes.excluded
        return [n for n in names if not excluded(os.path.join(self.path, n))]


@dataclass(eq=False)
class VirtualDir:
    """A directory holding mount points, over an optional host directory."""

    children: dict[str, Node] = field(default_factory=dict)
    overlay: HostDir | None = None

    def child(self, name: str, follow: bool) -> Node:
        node = self.children.get(name)
        if node is not None:
            return node
        if self.overlay is None:
            raise FsError("no-entry")
        return self.overlay.child(name, follow)

    def names(self) -> list[str]:
        names = set(self.children)
        if self.overlay is not None:
            names.update(self.overlay.names())
        return sorted(names)


Node = VirtualDir | HostDir | HostFile | HostLink
Directory = VirtualDir | HostDir


def host_node(path: str, mode: int, mount: Mount) -> Node:
    """The node for host object `path` with stat mode `mode`."""
    if stat.S_ISDIR(mode):
        return HostDir(path, mount)
    if stat.S_ISLNK(mode):
        return HostLink(path, mount)
    return HostFile(path, mount)


def resolve(start: Node, path: str, follow: bool) -> Node:
    """The node `path` names relative to directory `start`, confined to the mounts.

    `follow` says whether a symlink as the last component is followed (intermediate ones
    always are). Raises `FsError`.
    """
    if path.startswith("/"):
        raise FsError("not-permitted")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts and not path:
        raise FsError("no-entry")
    stack: list[Node] = [start]
    for i, part in enumerate(parts):
        if part == "..":
            if len(stack) == 1:
                raise FsError("not-permitted")
            stack.pop()
            continue
        node = stack[-1]
        if not isinstance(node, (VirtualDir, HostDir)):
            raise FsError("not-directory")
        stack.append(node.child(part, follow or i < len(parts) - 1))
    return stack[-1]


# --- building the tree ------------------------------------------------------------------------


def _subdir(parent: VirtualDir, name: str) -> VirtualDir:
    """The virtual directory `name` of `parent`, created (over a host dir) if needed."""
    node = parent.children.get(name)
    if isinstance(node, VirtualDir):
        return node
    overlay = node if isinstance(node, HostDir) else None
    if overlay is None and parent.overlay is not None:
        try:
            under = parent.overlay.child(name, follow=True)
        except FsError:
            under = None
        overlay = under if isinstance(under, HostDir) else None
    new = VirtualDir(overlay=overlay)
    parent.children[name] = new
    return new


def _place(root: VirtualDir, destination: str, node: Node) -> None:
    parts = [p for p in destination.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        log.warning("ignoring files mount at %r: '..' is not allowed", destination)
        return
    if not parts:
        if isinstance(node, HostDir):
            root.overlay = node
        else:
            log.warning("ignoring files mount of a file at '/'")
        return
    parent = root
    for part in parts[:-1]:
        parent = _subdir(parent, part)
    existing = parent.children.get(parts[-1])
    if isinstance(existing, VirtualDir) and isinstance(node, HostDir):
        existing.overlay = node
    else:
        parent.children[parts[-1]] = node


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _escape_error(component: Component, entry: str, rel: str, real: str) -> ComponentLoadError:
    return ComponentLoadError(
        f'component "{component.id}": files entry {entry!r}: {rel!r} resolves to {real!r}, '
        "outside the application directory; spin-py mounts only files inside it"
    )


def _mapping_node(
    app_root: str, component: Component, source: str, excludes: Excludes
) -> Node | None:
    real = os.path.realpath(os.path.join(app_root, source))
    if not _inside(app_root, real):
        raise _escape_error(component, source, source, real)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        log.warning("files mount source %r does not exist; skipped", source)
        return None
    return host_node(real, mode, Mount(real, excludes))


def build_tree(base_dir: Path, component: Component) -> VirtualDir:
    """The file tree of `component`, whose paths are relative to `base_dir` (the application
    directory). Raises `ComponentLoadError` for a file that resolves outside it."""
    app_root = os.path.realpath(base_dir)
    excludes = Excludes(base_dir, component.exclude_files)
    root = VirtualDir()
    for mount in component.files:
        if mount.destination is None:
            for rel in expand(base_dir, mount.source):
                real = os.path.realpath(os.path.join(app_root, rel))
                if not _inside(app_root, real):
                    raise _escape_error(component, mount.source, rel, real)
                if not excludes.excluded(os.path.join(app_root, rel)):
                    _place(root, rel, HostFile(real, Mount(app_root, excludes)))
        else:
            node = _mapping_node(app_root, component, mount.source, excludes)
            if node is not None:
                _place(root, mount.destination, node)
    return root


@dataclass(frozen=True)
class MountTable:
    """A component's file tree; `root` is `None` when it mounts no files."""

    root: VirtualDir | None

    def preopens(self) -> Iterator[tuple[Node, str]]:
        """The preopened directories and their guest paths."""
        if self.root is not None:
            yield self.root, "/"


def _make_table(ctx: ComponentContext) -> MountTable:
    if not ctx.component.files:
        return MountTable(None)
    return MountTable(build_tree(ctx.app.base_dir, ctx.component))


def mounts(ctx: ComponentContext) -> MountTable:
    """The mount table of `ctx`'s component (built once per component)."""
    return ctx.ext(MountTable, _make_table)


def check_mounts(contexts: Iterable[ComponentContext]) -> None:
    """Build every component's mount table now (at startup): raises `ComponentLoadError` for a
    component mounting a file from outside the application directory."""
    for ctx in contexts:
        mounts(ctx)
