"""F8: `files` mounts never expose a file from outside the application directory.

The attack component reads files (`/file?path=...`) from its mounts. Every way out is tried:
a glob match that is a symlink to a secret outside the app directory, a mapped directory that
is itself such a symlink, absolute and `..` sources (refused at load: `spin-py up` exits 1
with a message naming the entry), and symlinks swapped in after startup (refused at open:
the guest sees an error, never the secret). A FIFO in a mount is refused at once instead of
blocking the guest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.attack_apps import json_call, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py, start_spin_py

SECRET = "TOP SECRET outside the app"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app directory with mountable files, and a secret file and directory outside it."""
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "secret-dir").mkdir()
    (tmp_path / "secret-dir" / "key").write_text(SECRET)
    app = tmp_path / "app"
    (app / "glob").mkdir(parents=True)
    (app / "glob" / "ok.txt").write_text("fine")
    (app / "data").mkdir()
    (app / "data" / "inside.txt").write_text("inside")
    return app


def fails_to_start(manifest: Path, *fragments: str) -> str:
    result = run_spin_py("up", "-f", str(manifest), "--listen", "127.0.0.1:0", timeout=60)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


def read(server: SpinPyProcess, path: str) -> dict[str, str]:
    result: dict[str, str] = json_call(server.base_url, f"/file?path={path}")
    assert SECRET not in json.dumps(result)
    return result


def test_a_glob_match_linking_outside_refuses_to_start(attack_wasm: Path, app: Path) -> None:
    os.symlink(app.parent / "secret.txt", app / "glob" / "x.txt")
    manifest = write_attack_app(app, attack_wasm, files=['"glob/*"'])
    fails_to_start(manifest, 'component "attack"', "glob/x.txt", "outside the application")


def test_a_glob_through_a_linked_directory_refuses_to_start(attack_wasm: Path, app: Path) -> None:
    os.symlink(app.parent / "secret-dir", app / "glob" / "sub")
    manifest = write_attack_app(app, attack_wasm, files=['"glob/**/*"'])
    fails_to_start(manifest, "glob/sub/key", "outside the application")


def test_a_mapped_source_linking_outside_refuses_to_start(attack_wasm: Path, app: Path) -> None:
    os.symlink(app.parent / "secret-dir", app / "assets")
    manifest = write_attack_app(
        app, attack_wasm, files=['{ source = "assets", destination = "/assets" }']
    )
    fails_to_start(manifest, "'assets'", "outside the application")


@pytest.mark.parametrize(
    "entry",
    [
        '{ source = "SECRET_DIR", destination = "/s" }',
        '{ source = "../secret-dir", destination = "/s" }',
        '{ source = "data/../../secret-dir", destination = "/s" }',
        '"../secret.txt"',
        '"/SECRET_DIR/*"',
    ],
)
def test_absolute_and_parent_sources_are_refused_at_load(
    attack_wasm: Path, app: Path, entry: str
) -> None:
    entry = entry.replace("/SECRET_DIR", str(app.parent / "secret-dir"))
    entry = entry.replace("SECRET_DIR", str(app.parent / "secret-dir"))
    manifest = write_attack_app(app, attack_wasm, files=[entry])
    stderr = fails_to_start(manifest, "spin.toml:", "component.attack.files[0]", "without '..'")
    assert SECRET not in stderr


def test_links_swapped_in_after_startup_are_refused_at_open(
    attack_wasm: Path, app: Path, tmp_path: Path
) -> None:
    manifest = write_attack_app(
        app,
        attack_wasm,
        files=['"glob/*"', '{ source = "data", destination = "/data" }'],
    )
    server = start_spin_py(manifest, "--state-dir", str(tmp_path / "state"), "--workers", "1")
    try:
        assert read(server, "/glob/ok.txt") == {"ok": "fine"}
        assert read(server, "/data/inside.txt") == {"ok": "inside"}
        os.unlink(app / "glob" / "ok.txt")
        os.symlink(app.parent / "secret.txt", app / "glob" / "ok.txt")
        os.symlink(app.parent / "secret.txt", app / "data" / "late-link")
        os.symlink(app.parent / "secret-dir", app / "data" / "late-dir")
        for path in ("/glob/ok.txt", "/data/late-link", "/data/late-dir/key"):
            assert read(server, path)["err"] == "os", path
        os.mkfifo(app / "data" / "fifo")
        assert read(server, "/data/fifo")["err"] == "os"
        assert read(server, "/data/inside.txt") == {"ok": "inside"}
    finally:
        server.stop()
