"""wasi:filesystem host functions over a real directory tree: mounts, reads, confinement."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wasmtime.component import FuncType, ResourceHost, Variant

from spin_py.host.streams import IoError, StreamClosed
from spin_py.host.table import resource_kind
from spin_py.manifest.model import Component, FileMount
from spin_py.wasi.filesystem import preopens, types
from spin_py.wasi.filesystem.errors import FsError
from tests.support.host_calls import Host, hello_import_types
from tests.support.models import make_context

IO_ERROR = resource_kind("wasi:io/error", "error")
READ = {"read"}
FOLLOW = {"symlink-follow"}


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """An app directory with files to mount, plus files outside it to escape to."""
    app = tmp_path / "app"
    (app / "static" / "sub").mkdir(parents=True)
    (app / "static" / "index.html").write_text("<h1>hi</h1>")
    (app / "static" / "sub" / "a.txt").write_text("a" * 10_000)
    (app / "static" / "secret.bak").write_text("excluded")
    (app / "data").mkdir()
    (app / "data" / "x.txt").write_text("x content")
    (app / "data" / "old.bak").write_text("excluded too")
    (app / "single.txt").write_text("one file")
    (tmp_path / "outside.txt").write_text("TOP SECRET")
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside_dir" / "secret").write_text("TOP SECRET")
    os.symlink("x.txt", app / "data" / "link-in")
    os.symlink("../../outside.txt", app / "data" / "link-out")
    os.symlink(str(tmp_path / "outside_dir"), app / "data" / "dirlink-out")
    os.symlink(str(app / "data" / "x.txt"), app / "data" / "abs-link-in")
    return app


COMPONENT = Component(
    id="files",
    source="files.wasm",
    files=(
        FileMount("static/**/*"),
        FileMount("data", "/data"),
        FileMount("single.txt", "/etc/one.txt"),
    ),
    exclude_files=("**/*.bak",),
)


@pytest.fixture
def host(app_dir: Path) -> Iterator[Host]:
    h = Host(make_context(app_dir, COMPONENT))
    yield h
    h.close()


def root(host: Host) -> ResourceHost:
    [(handle, path)] = host.call(preopens.get_directories)
    assert path == "/"
    return handle  # type: ignore[no-any-return]


def open_at(host: Host, dir_handle: ResourceHost, path: str, **kw: Any) -> Any:
    return host.call(
        types.open_at,
        dir_handle,
        kw.get("path_flags", FOLLOW),
        path,
        kw.get("open_flags", set()),
        kw.get("flags", READ),
    )


def read_stream(host: Host, file_handle: ResourceHost, offset: int = 0) -> bytes:
    stream = host.obj(host.call(types.read_via_stream, file_handle, offset))
    out = b""
    while True:
        try:
            out += stream.blocking_read(4096)  # type: ignore[attr-defined]
        except StreamClosed:
            return out


def names(host: Host, dir_handle: ResourceHost) -> list[tuple[str, str]]:
    entries_handle = host.call(types.read_directory, dir_handle)
    out = []
    while (entry := host.call(types.read_directory_entry, entries_handle)) is not None:
        out.append((entry.name, entry.type))
    return sorted(out)


def test_no_files_means_no_preopens(tmp_path: Path) -> None:
    h = Host(make_context(tmp_path, Component(id="bare", source="bare.wasm")))
    assert h.call(preopens.get_directories) == []
    h.close()


def test_read_a_mounted_file_via_stream_and_via_read(host: Host) -> None:
    r = root(host)
    index = open_at(host, r, "static/index.html")
    assert isinstance(index, ResourceHost)
    assert read_stream(host, index) == b"<h1>hi</h1>"
    assert read_stream(host, index, offset=4) == b"hi</h1>"
    assert host.call(types.read, index, 4, 0) == (b"<h1>", False)
    assert host.call(types.read, index, 100, 4) == (b"hi</h1>", True)
    big = open_at(host, r, "static/sub/a.txt")
    assert read_stream(host, big) == b"a" * 10_000
    assert read_stream(host, open_at(host, r, "etc/one.txt")) == b"one file"
    assert read_stream(host, open_at(host, r, "data/x.txt")) == b"x content"


def test_directories_list_mount_points_and_host_entries(host: Host) -> None:
    r = root(host)
    assert names(host, r) == [("data", "directory"), ("etc", "directory"), ("static", "directory")]
    static = open_at(host, r, "static", open_flags={"directory"})
    assert names(host, static) == [("index.html", "regular-file"), ("sub", "directory")]
    data = open_at(host, r, "data")
    assert names(host, data) == [
        ("abs-link-in", "symbolic-link"),
        ("dirlink-out", "symbolic-link"),
        ("link-in", "symbolic-link"),
        ("link-out", "symbolic-link"),
        ("x.txt", "regular-file"),
    ]


def test_stat_and_types(host: Host) -> None:
    r = root(host)
    assert host.call(types.get_type, r) == Variant("ok", "directory")
    st = host.call(types.stat_at, r, FOLLOW, "static/index.html")
    assert (st.type, st.size) == ("regular-file", 11)
    assert getattr(st, "data-modification-timestamp").seconds > 0
    assert host.call(types.stat, r).type == "directory"
    link = host.call(types.stat_at, r, set(), "data/link-in")
    assert link.type == "symbolic-link"
    followed = host.call(types.stat_at, r, FOLLOW, "data/link-in")
    assert followed.size == len("x content")
    assert host.call(types.get_flags, r) == {"read"}


def test_excluded_files_are_invisible(host: Host) -> None:
    r = root(host)
    assert open_at(host, r, "static/secret.bak") == "no-entry"
    assert open_at(host, r, "data/old.bak") == "no-entry"
    assert open_at(host, r, "static/missing") == "no-entry"


@pytest.mark.parametrize(
    "path",
    [
        "../outside.txt",
        "static/../../outside.txt",
        "..",
        "/etc/passwd",
        "/static/index.html",
        "data/link-out",
        "data/dirlink-out/secret",
        "data/dirlink-out",
    ],
)
def test_escapes_are_rejected(host: Host, path: str) -> None:
    r = root(host)
    assert open_at(host, r, path) == "not-permitted"
    assert host.call(types.stat_at, r, FOLLOW, path) == "not-permitted"


def test_dot_dot_may_not_leave_the_opened_directory(host: Host) -> None:
    r = root(host)
    data = open_at(host, r, "data")
    assert open_at(host, data, "../static/index.html") == "not-permitted"
    assert isinstance(open_at(host, r, "static/../data/x.txt"), ResourceHost)
    assert isinstance(open_at(host, r, "./static/./sub/../index.html"), ResourceHost)


def test_symlinks_inside_the_mount_work(host: Host) -> None:
    r = root(host)
    assert read_stream(host, open_at(host, r, "data/link-in")) == b"x content"
    assert read_stream(host, open_at(host, r, "data/abs-link-in")) == b"x content"
    assert host.call(types.readlink_at, r, "data/link-in") == Variant("ok", "x.txt")
    assert host.call(types.readlink_at, r, "data/link-out") == Variant("err", "not-permitted")
    assert host.call(types.readlink_at, r, "data/abs-link-in") == Variant("err", "not-permitted")
    assert open_at(host, r, "data/link-in", path_flags=set()) == "loop"


def test_writes_are_read_only(host: Host) -> None:
    r = root(host)
    index = open_at(host, r, "static/index.html")
    data = open_at(host, r, "data")
    assert open_at(host, r, "static/new.txt", open_flags={"create"}) == "read-only"
    assert open_at(host, r, "static/index.html", open_flags={"truncate"}) == "read-only"
    assert open_at(host, r, "static/index.html", flags={"read", "write"}) == "read-only"
    assert open_at(host, r, "static", flags={"read", "mutate-directory"}) == "read-only"
    assert host.call(types.read_only, index, 0) == "read-only"  # write-via-stream
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("write-via-stream", (index, 0)),
        ("append-via-stream", (index,)),
        ("set-size", (index, 0)),
        ("set-times", (index, Variant("now"), Variant("no-change"))),
        ("write", (index, b"x", 0)),
        ("create-directory-at", (r, "newdir")),
        ("set-times-at", (r, FOLLOW, "static/index.html", Variant("now"), Variant("now"))),
        ("link-at", (r, set(), "static/index.html", data, "copy.html")),
        ("remove-directory-at", (r, "static/sub")),
        ("rename-at", (r, "static/index.html", data, "moved.html")),
        ("symlink-at", (r, "static/index.html", "s")),
        ("unlink-file-at", (r, "static/index.html")),
    ]
    for name, args in calls:
        assert host.call(types.DESCRIPTOR_METHODS[name], *args) == "read-only", name
    assert (Path(host.ctx.app.base_dir) / "static" / "index.html").read_text() == "<h1>hi</h1>"
    assert not (Path(host.ctx.app.base_dir) / "data" / "moved.html").exists()


def test_reading_a_directory_as_a_file_fails(host: Host) -> None:
    r = root(host)
    assert host.call(types.read_via_stream, r, 0) == "is-directory"
    assert host.call(types.read, r, 10, 0) == "is-directory"
    index = open_at(host, r, "static/index.html")
    assert host.call(types.read_directory, index) == "not-directory"
    assert open_at(host, r, "static/index.html", open_flags={"directory"}) == "not-directory"


def test_identity_and_metadata_hash(host: Host) -> None:
    r = root(host)
    a1 = open_at(host, r, "data/x.txt")
    a2 = open_at(host, r, "data/link-in")
    b = open_at(host, r, "static/index.html")
    assert host.call(types.is_same_object, a1, a2) is True
    assert host.call(types.is_same_object, a1, b) is False
    h1, h2 = host.call(types.metadata_hash_, a1), host.call(types.metadata_hash_, a2)
    assert (h1.lower, h1.upper) == (h2.lower, h2.upper)
    hb = host.call(types.metadata_hash_at, r, FOLLOW, "static/index.html")
    assert (hb.lower, hb.upper) != (h1.lower, h1.upper)


def test_filesystem_error_code_reads_file_stream_errors(host: Host) -> None:
    fs_error = host.state.table.push(IoError("boom", FsError("io")), IO_ERROR)
    other = host.state.table.push(IoError("other"), IO_ERROR)
    assert host.call(types.filesystem_error_code, fs_error) == "io"
    assert host.call(types.filesystem_error_code, other) is None


def test_a_directory_mounted_at_root_overlays_with_globs(tmp_path: Path) -> None:
    (tmp_path / "assets" / "css").mkdir(parents=True)
    (tmp_path / "assets" / "css" / "site.css").write_text("body{}")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "p.html").write_text("page")
    component = Component(
        id="overlay",
        source="o.wasm",
        files=(FileMount("assets", "/"), FileMount("pages/*.html"), FileMount("assets", "/css/x")),
    )
    h = Host(make_context(tmp_path, component))
    r = root(h)
    assert names(h, r) == [("css", "directory"), ("pages", "directory")]
    assert read_stream(h, open_at(h, r, "css/site.css")) == b"body{}"
    assert read_stream(h, open_at(h, r, "pages/p.html")) == b"page"
    assert read_stream(h, open_at(h, r, "css/x/css/site.css")) == b"body{}"
    assert names(h, open_at(h, r, "css")) == [("site.css", "regular-file"), ("x", "directory")]
    h.close()


@pytest.fixture(scope="module")
def wit_types(built_component: Callable[[str], Path]) -> dict[str, dict[str, FuncType]]:
    return hello_import_types(built_component("hello"))


def test_every_result_lowers_as_the_wit_declares(
    host: Host, wit_types: dict[str, dict[str, FuncType]]
) -> None:
    fs_types = wit_types["wasi:filesystem/types@0.2.0"]

    def m(name: str, *args: Any) -> Any:
        fn = types.DESCRIPTOR_METHODS[name]
        return host.lowered(fs_types, f"[method]descriptor.{name}", fn, *args)

    r = root(host)
    index = m("open-at", r, FOLLOW, "static/index.html", set(), READ)
    data = m("open-at", r, FOLLOW, "data", set(), READ)
    m("open-at", r, FOLLOW, "../x", set(), READ)
    cases: dict[str, list[tuple[Any, ...]]] = {
        "read-via-stream": [(index, 0), (r, 0)],
        "write-via-stream": [(index, 0)],
        "append-via-stream": [(index,)],
        "advise": [(index, 0, 1, "normal")],
        "sync-data": [(index,)],
        "get-flags": [(index,)],
        "get-type": [(index,), (r,)],
        "set-size": [(index, 1)],
        "set-times": [(index, Variant("now"), Variant("now"))],
        "read": [(index, 3, 0), (r, 3, 0)],
        "write": [(index, b"x", 0)],
        "read-directory": [(r,), (index,)],
        "sync": [(index,)],
        "create-directory-at": [(r, "d")],
        "stat": [(index,), (r,)],
        "stat-at": [(r, FOLLOW, "data/x.txt"), (r, set(), "nope")],
        "set-times-at": [(r, FOLLOW, "data/x.txt", Variant("now"), Variant("now"))],
        "link-at": [(r, set(), "data/x.txt", data, "y")],
        "readlink-at": [(r, "data/link-in"), (r, "data/x.txt")],
        "remove-directory-at": [(r, "data")],
        "rename-at": [(r, "data/x.txt", data, "y")],
        "symlink-at": [(r, "data/x.txt", "y")],
        "unlink-file-at": [(r, "data/x.txt")],
        "is-same-object": [(index, data)],
        "metadata-hash": [(index,), (r,)],
        "metadata-hash-at": [(r, FOLLOW, "data/x.txt"), (r, FOLLOW, "missing")],
    }
    assert set(cases) | {"open-at"} == set(types.DESCRIPTOR_METHODS)
    for name, args in cases.items():
        for call_args in args:
            m(name, *call_args)
    entries = m("read-directory", r)
    while host.lowered(
        fs_types,
        "[method]directory-entry-stream.read-directory-entry",
        types.read_directory_entry,
        entries,
    ):
        pass
    error = host.state.table.push(IoError("e", FsError("io")), IO_ERROR)
    host.lowered(fs_types, "filesystem-error-code", types.filesystem_error_code, error)
    preopen_types = wit_types["wasi:filesystem/preopens@0.2.0"]
    host.lowered(preopen_types, "get-directories", preopens.get_directories)
