"""Loading from disk: path resolution, file-level errors, version detection, the error format."""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ManifestError
from spin_py.manifest import MANIFEST_FILE_NAME, load, resolve_manifest_path

MINIMAL = """\
spin_manifest_version = 2

[application]
name = "minimal"

[[trigger.http]]
route = "/"
static_response = { body = "hello" }
"""


def test_directory_resolves_to_its_spin_toml(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_FILE_NAME).write_text(MINIMAL)
    assert resolve_manifest_path(tmp_path) == tmp_path / "spin.toml"
    assert load(tmp_path).manifest_path == (tmp_path / "spin.toml").absolute()


def test_file_resolves_to_itself(tmp_path: Path) -> None:
    manifest = tmp_path / "other.toml"
    manifest.write_text(MINIMAL)
    assert resolve_manifest_path(manifest) == manifest
    assert load(manifest).name == "minimal"


def test_missing_manifest_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        resolve_manifest_path(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: manifest file not found"


def test_directory_without_spin_toml_names_the_expected_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'spin.toml'}: manifest file not found"


def test_invalid_utf8_gives_line_and_column(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_bytes(b'spin_manifest_version = 2\n[application]\nname = "\xff"\n')
    with pytest.raises(ManifestError) as caught:
        load(manifest)
    assert str(caught.value) == f"{manifest}:3:9: invalid TOML: not valid UTF-8"


def test_minimal_manifest_loads(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(MINIMAL)
    app = load(manifest)
    assert app.name == "minimal" and app.version is None and app.components == {}
    assert [(t.id, t.route, t.static_response) for t in app.triggers] == [
        ("http-trigger1", "/", app.triggers[0].static_response)
    ]
    assert app.triggers[0].static_response is not None
    assert app.triggers[0].static_response.body == "hello"
    assert app.triggers[0].static_response.status_code == 200


def test_spin_version_is_an_alias_of_version_1(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(
        'spin_version = "1"\nname = "old"\ntrigger = { type = "http" }\n'
        '[[component]]\nid = "c"\nsource = "c.wasm"\n[component.trigger]\nroute = "/c"\n'
    )
    app = load(manifest)
    assert [(t.id, t.route, t.component) for t in app.triggers] == [("trigger-c", "/c", "c")]


def test_both_version_keys_are_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_text('spin_manifest_version = "1"\nspin_version = "1"\nname = "x"\n')
    with pytest.raises(ManifestError) as caught:
        load(manifest)
    assert str(caught.value) == (
        f"{manifest}:2:1: spin_version: duplicate field: `spin_version` is an alias of "
        "`spin_manifest_version`"
    )


def test_v1_component_ids_are_rewritten_to_kebab_case(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(
        'spin_manifest_version = "1"\nname = "x"\ntrigger = { type = "http" }\n'
        '[[component]]\nid = "snake_case"\nsource = "a.wasm"\n[component.trigger]\nroute = "/a"\n'
        '[[component]]\nid = "mixedCase"\nsource = "b.wasm"\n[component.trigger]\nroute = "/b"\n'
    )
    app = load(manifest)
    assert list(app.components) == ["snake-case", "mixedcase"]
    assert [t.id for t in app.triggers] == ["trigger-snake-case", "trigger-mixedcase"]
    # no allowed_outbound_hosts in v1 implied database access, as in Spin
    assert app.components["snake-case"].allowed_outbound_hosts == (
        "redis://*:*",
        "mysql://*:*",
        "postgres://*:*",
    )


def test_templated_outbound_hosts_are_not_validated_beyond_template_syntax(tmp_path: Path) -> None:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(
        MINIMAL + '\n[component.c]\nsource = "c.wasm"\n'
        'allowed_outbound_hosts = ["{{ scheme }}://{{ host }}/any/path"]\n'
    )
    assert load(manifest).components["c"].allowed_outbound_hosts == (
        "{{ scheme }}://{{ host }}/any/path",
    )
