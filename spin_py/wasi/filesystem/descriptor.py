"""Host objects behind `descriptor` and `directory-entry-stream`, and their read-only operations.

Everything here speaks Python (nodes, bytes, `FsError`); `types.py` lowers results to WIT.
Every write-like operation fails with `read-only`: mounts are never writable. Reads are plain
blocking reads of small local files, bounded per call by `MAX_READ`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from spin_py.host.pollable import AlwaysReady, Pollable
from spin_py.host.streams import InputStream, IoError, StreamClosed, StreamFailed
from spin_py.wasi.filesystem.errors import FsError, from_os_error
from spin_py.wasi.filesystem.mounts import (
    HostDir,
    HostLink,
    HostNode,
    Node,
    VirtualDir,
    resolve,
)

MAX_READ = 1024 * 1024
"""The most bytes one `read` or stream read returns."""

WRITE_FLAGS = frozenset({"write", "mutate-directory"})
CREATE_FLAGS = frozenset({"create", "truncate", "exclusive"})


@dataclass(frozen=True)
class Stat:
    """A `descriptor-stat` in Python terms (timestamps in nanoseconds, `None` if unknown)."""

    type: str
    link_count: int
    size: int
    atime_ns: int | None
    mtime_ns: int | None
    ctime_ns: int | None


def mode_type(mode: int) -> str:
    """The `descriptor-type` of a stat mode."""
    checks = (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISREG, "regular-file"),
        (stat.S_ISLNK, "symbolic-link"),
        (stat.S_ISCHR, "character-device"),
        (stat.S_ISBLK, "block-device"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
    )
    for check, name in checks:
        if check(mode):
            return name
    return "unknown"


def _os_stat(node: HostNode) -> os.stat_result:
    try:
        return os.lstat(node.path) if isinstance(node, HostLink) else os.stat(node.path)
    except OSError as exc:
        raise from_os_error(exc) from None


def node_stat(node: Node) -> Stat:
    """Stat of `node` (a symlink node is described itself, not its target)."""
    if isinstance(node, VirtualDir):
        if node.overlay is not None:
            return node_stat(node.overlay)
        return Stat("directory", 1, 0, None, None, None)
    st = _os_stat(node)
    return Stat(
        mode_type(st.st_mode),
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


def node_type(node: Node) -> str:
    if isinstance(node, (VirtualDir, HostDir)):
        return "directory"
    if isinstance(node, HostLink):
        return "symbolic-link"
    return node_stat(node).type


def identity(node: Node) -> tuple[object, ...]:
    """What makes two nodes the same object (device and inode on the host)."""
    if isinstance(node, VirtualDir):
        return ("virtual", id(node))
    st = _os_stat(node)
    return ("host", st.st_dev, st.st_ino)


def metadata_hash(node: Node) -> tuple[int, int]:
    """A 128-bit hash of the node's identity, as (lower, upper)."""
    digest = hashlib.blake2b(repr(identity(node)).encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


def _open_file(node: Node) -> int:
    """A read-only fd for a regular file node, re-checked against its mount."""
    if isinstance(node, (VirtualDir, HostDir)):
        raise FsError("is-directory")
    if isinstance(node, HostLink):
        raise FsError("loop")
    real = os.path.realpath(node.path)
    if not node.mount.contains(real):
        raise FsError("not-permitted")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below)
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise from_os_error(exc) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FsError("unsupported")
    return fd


class FileInputStream(InputStream):
    """`read-via-stream`: the bytes of a file from an offset (closed at the end or on drop)."""

    _fd = -1

    def __init__(self, node: Node, offset: int) -> None:
        self._fd = _open_file(node)
        self._pos = offset

    def read(self, n: int) -> bytes:
        if self._fd < 0:
            raise StreamClosed
        if n <= 0:
            return b""
        try:
            data = os.pread(self._fd, min(n, MAX_READ), self._pos)
        except OSError as exc:
            self.close()
            code = from_os_error(exc)
            raise StreamFailed(IoError(str(exc), code)) from None
        if not data:
            self.close()
            raise StreamClosed
        self._pos += len(data)
        return data

    def blocking_read(self, n: int) -> bytes:
        return self.read(n)

    def subscribe(self) -> Pollable:
        return AlwaysReady()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def on_drop(self) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True)
class DirEntry:
    type: str
    name: str


class DirectoryEntryStream:
    """`directory-entry-stream`: a snapshot of a directory's entries, handed out one by one."""

    def __init__(self, entries: list[DirEntry]) -> None:
        self._entries: Iterator[DirEntry] = iter(entries)

    def next(self) -> DirEntry | None:
        return next(self._entries, None)


@dataclass(eq=False)
class Descriptor:
    """A guest's handle on a node of its file tree (always read-only)."""

    node: Node

    def directory(self) -> VirtualDir | HostDir:
        if not isinstance(self.node, (VirtualDir, HostDir)):
            raise FsError("not-directory")
        return self.node

    def read_via_stream(self, offset: int) -> FileInputStream:
        return FileInputStream(self.node, offset)

    def read(self, length: int, offset: int) -> tuple[bytes, bool]:
        """Up to `length` bytes at `offset`, and whether the end of the file was reached."""
        fd = _open_file(self.node)
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, min(length, MAX_READ), offset)
        except OSError as exc:
            raise from_os_error(exc) from None
        finally:
            os.close(fd)
        return data, offset + len(data) >= size

    def read_directory(self) -> DirectoryEntryStream:
        directory = self.directory()
        entries: list[DirEntry] = []
        for name in directory.names():
            try:
                entries.append(DirEntry(node_type(directory.child(name, follow=False)), name))
            except FsError:
                continue  # vanished or not visible: leave it out
        return DirectoryEntryStream(entries)

    def at(self, path: str, follow: bool) -> Node:
        """The node `path` names relative to this directory."""
        return resolve(self.directory(), path, follow)

    def open_at(self, follow: bool, path: str, open_flags: set[str], flags: set[str]) -> Descriptor:
        if open_flags & CREATE_FLAGS or flags & WRITE_FLAGS:
            self.directory()
            raise FsError("read-only")
        node = self.at(path, follow)
        if isinstance(node, HostLink):
            raise FsError("loop")
        if "directory" in open_flags and not isinstance(node, (VirtualDir, HostDir)):
            raise FsError("not-directory")
        return Descriptor(node)

    def readlink_at(self, path: str) -> str:
        node = self.at(path, follow=False)
        if not isinstance(node, HostLink):
            raise FsError("invalid")
        try:
            target = os.readlink(node.path)
        except OSError as exc:
            raise from_os_error(exc) from None
        real = os.path.realpath(os.path.join(os.path.dirname(node.path), target))
        if os.path.isabs(target) or not node.mount.contains(real):
            raise FsError("not-permitted")
        return target

    def flags(self) -> set[str]:
        return {"read"}
