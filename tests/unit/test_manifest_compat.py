"""Manifest cases found by running Spin's own examples and test data (issue 12).

The refusals themselves are golden cases (`tests/data/manifests/invalid/`): a template in
`allowed_outbound_hosts` whose defaults render an invalid host, every bad entry in one error, a
single file mounted at `/`, the WASIp3 executor. These tests show what still loads next to them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spin_py.errors import ManifestError
from spin_py.manifest import load
from spin_py.manifest.templates import TemplateError, render_template

HEAD = """\
spin_manifest_version = 2

[application]
name = "app"

[[trigger.http]]
route = "/..."
component = "c"
"""


def write(tmp_path: Path, text: str) -> Path:
    manifest = tmp_path / "spin.toml"
    manifest.write_text(text)
    return manifest


def test_ai_models_take_any_model_name(tmp_path: Path) -> None:
    # Spin's examples/open-ai-rust names an Ollama model.
    manifest = write(
        tmp_path,
        HEAD + '[component.c]\nsource = "c.wasm"\nai_models = ["gpt-oss:20b", "llama2-chat"]\n',
    )
    assert load(manifest).components["c"].ai_models == ("gpt-oss:20b", "llama2-chat")


def test_outbound_templates_whose_defaults_render_valid_hosts_load(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        HEAD.replace(
            "[[trigger.http]]",
            '[variables]\nhost = { default = "api.example.com" }\nport = { default = "8443" }\n'
            'token = { required = true }\noff = { default = "" }\n\n[[trigger.http]]',
        )
        + '[component.c]\nsource = "c.wasm"\nallowed_outbound_hosts = [\n'
        '  "https://{{ host }}:{{ port }}", "https://{{ token }}", "{{ off }}", "http://{{off}}"\n'
        "]\n",
    )
    hosts = load(manifest).components["c"].allowed_outbound_hosts
    assert hosts[0] == "https://{{ host }}:{{ port }}"  # kept as written: resolved at runtime
    assert len(hosts) == 4


def test_outbound_template_naming_both_variables_of_a_bad_rendering(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        HEAD.replace(
            "[[trigger.http]]",
            '[variables]\nhost = { default = "example.com" }\nport = { default = "http" }\n\n'
            "[[trigger.http]]",
        )
        + '[component.c]\nsource = "c.wasm"\n'
        + 'allowed_outbound_hosts = ["https://{{ host }}:{{ port }}"]\n',
    )
    with pytest.raises(ManifestError) as caught:
        load(manifest)
    assert str(caught.value) == (
        f"{manifest}:15:27: component.c.allowed_outbound_hosts[0]: "
        '"https://{{ host }}:{{ port }}" renders to "https://example.com:http" with the default '
        'of `host`, `port`, which is not a valid outbound host: port "http" is not a valid port '
        "number"
    )


def test_bad_outbound_entries_are_reported_with_the_error_that_stopped_parsing(
    tmp_path: Path,
) -> None:
    # A problem found later (a trigger naming a missing component) does not hide them.
    manifest = write(
        tmp_path,
        HEAD.replace('component = "c"', 'component = "missing"')
        + '[component.c]\nsource = "c.wasm"\nallowed_outbound_hosts = ["nope", "http://x:y"]\n',
    )
    with pytest.raises(ManifestError) as caught:
        load(manifest)
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        "trigger.http[0].component",
        "component.c.allowed_outbound_hosts[0]",
        "component.c.allowed_outbound_hosts[1]",
    ]
    assert lines[0].endswith(
        'missing component "missing" configured for trigger "missing-http-trigger"'
    )


@pytest.mark.parametrize("destination", ["/data/host.txt", "/host.txt", "/data/"])
def test_a_single_file_mounts_under_a_file_name(tmp_path: Path, destination: str) -> None:
    (tmp_path / "host.txt").write_text("hi")
    manifest = write(
        tmp_path,
        HEAD + f'[component.c]\nsource = "c.wasm"\nfiles = [{{ source = "host.txt", '
        f'destination = "{destination}" }}]\n',
    )
    assert load(manifest).components["c"].files[0].destination == destination


def test_a_directory_mounts_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    manifest = write(
        tmp_path,
        HEAD
        + '[component.c]\nsource = "c.wasm"\nfiles = [{ source = "assets", destination = "/" }]\n',
    )
    assert load(manifest).components["c"].files[0].destination == "/"


def test_render_template() -> None:
    values = {"a": "x", "b": "yz"}
    assert render_template("{{a}}-{{ b }}-{{ a }}!", values) == "x-yz-x!"
    assert render_template("plain", {}) == "plain"
    with pytest.raises(KeyError):
        render_template("{{ c }}", values)
    with pytest.raises(TemplateError):
        render_template("{{ a", values)
