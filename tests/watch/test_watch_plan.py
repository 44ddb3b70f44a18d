"""What `spin-py watch` watches in a manifest, and what a changed path calls for (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.manifest import load
from spin_py.watch.plan import Glob, WatchPlan

MANIFEST = """\
spin_manifest_version = 2

[application]
name = "plan"

[[trigger.http]]
route = "/a"
component = "a"

[[trigger.http]]
route = "/b"
component = "b"

[[trigger.http]]
route = "/c"
component = "c"

[component.a]
source = "a/target/a.wasm"
files = ["static/**/*.css", { source = "assets", destination = "/assets" }]
[component.a.build]
command = "make"
workdir = "a"
watch = ["src/**/*.py", "pyproject.toml"]

[component.b]
source = "../common/b.wasm"
[component.b.build]
command = "make b"
watch = ["../common/src/*.py"]

[component.c]
source = { url = "https://example.com/c.wasm", digest = "sha256:{digest}" }
[component.c.build]
command = "true"
"""


@pytest.fixture
def plan(tmp_path: Path) -> WatchPlan:
    app_dir = tmp_path / "app"
    (app_dir / "a" / "src").mkdir(parents=True)
    (app_dir / "assets").mkdir()
    (tmp_path / "common").mkdir()
    (app_dir / "spin.toml").write_text(MANIFEST.replace("{digest}", "0" * 64))
    return WatchPlan.of(load(app_dir / "spin.toml"))


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/x/*.py", "/x/app.py", True),
        ("/x/*.py", "/x/sub/app.py", False),
        ("/x/**/*.py", "/x/app.py", True),
        ("/x/**/*.py", "/x/a/b/c.py", True),
        ("/x/**", "/x/a/b", True),
        ("/x/a?.py", "/x/ab.py", True),
        ("/x/a?.py", "/x/a/.py", False),
        ("/x/[ab].txt", "/x/b.txt", True),
        ("/x/[!ab].txt", "/x/b.txt", False),
        ("/x/[!ab].txt", "/x/c.txt", True),
        ("/x/a.b", "/x/aXb", False),
        ("/x/[*]", "/x/*", True),
        ("/x/[*]", "/x/y", False),
    ],
)
def test_globs(pattern: str, path: str, matches: bool) -> None:
    assert Glob(pattern).matches(path) is matches


def test_build_globs_are_relative_to_the_workdir(plan: WatchPlan, tmp_path: Path) -> None:
    app = tmp_path / "app"
    changes = plan.classify([str(app / "a" / "src" / "pkg" / "m.py")])
    assert changes.rebuild == {"a"} and not changes.manifest
    assert plan.classify([str(app / "a" / "pyproject.toml")]).rebuild == {"a"}
    assert plan.classify([str(app / "src" / "m.py")]).any is False  # not under the workdir
    assert plan.classify([str(tmp_path / "common" / "src" / "x.py")]).rebuild == {"b"}


def test_sources_files_and_the_manifest(plan: WatchPlan, tmp_path: Path) -> None:
    app = tmp_path / "app"
    assert plan.classify([str(app / "spin.toml")]).manifest
    assert plan.classify([str(app / "a" / "target" / "a.wasm")]).sources == {
        str(app / "a" / "target" / "a.wasm")
    }
    assert plan.classify([str(tmp_path / "common" / "b.wasm")]).sources
    assert plan.classify([str(app / "static" / "css" / "x.css")]).files
    assert plan.classify([str(app / "assets" / "img" / "logo.png")]).files
    assert not plan.classify([str(app / "static" / "x.js")]).any
    assert not plan.classify([str(app / ".spin" / "logs" / "a_stdout.txt")]).any


def test_components_without_watch_globs_are_named(plan: WatchPlan) -> None:
    assert plan.unwatched == ("c",)
    assert set(plan.builds) == {"a", "b"}


def test_roots_are_existing_directories_none_inside_another(
    plan: WatchPlan, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    # a/src exists; a/target does not (yet): its nearest existing ancestor is watched
    assert set(plan.roots()) == {app, tmp_path / "common"}


def test_a_literal_file_glob_watches_its_directory() -> None:
    assert Glob("/x/y/spin.toml").root == Path("/x/y")
    assert Glob("/x/y/**/*.py").root == Path("/x/y")
    assert Glob("/x/y/*.py").root == Path("/x/y")
