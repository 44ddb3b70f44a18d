"""Valid manifests load to exactly the expected application model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from spin_py.manifest import (
    App,
    BuildConfig,
    Component,
    Executor,
    FileMount,
    HttpTrigger,
    RemoteSource,
    StaticResponse,
    Variable,
    load,
)

VALID_DIR = Path(__file__).parents[1] / "data" / "manifests" / "valid"
FILESERVER_URL = (
    "https://github.com/spinframework/spin-fileserver/releases/download/v0.3.0/spin_static_fs.wasm"
)
FILESERVER_DIGEST = "sha256:ef88708817e107bf49985c7cefe4dd1f199bf26f6727819183d5c996baa3d148"
V1_DIGEST = "sha256:" + "abcd1234" * 8


def _load(name: str) -> App:
    app = load(VALID_DIR / f"{name}.toml")
    assert app.manifest_path == (VALID_DIR / f"{name}.toml").absolute()
    assert app.base_dir == VALID_DIR
    return app


def _components(*components: Component) -> dict[str, Component]:
    return {c.id: c for c in components}


def test_http_rust_template() -> None:
    assert _load("http-rust") == App(
        manifest_path=VALID_DIR / "http-rust.toml",
        name="hello-rust",
        version="0.1.0",
        description="A simple Spin HTTP component in Rust",
        authors=("Fermyon Engineering <engineering@fermyon.com>",),
        triggers=(HttpTrigger(id="hello-rust-http-trigger", route="/...", component="hello-rust"),),
        components=_components(
            Component(
                id="hello-rust",
                source="target/wasm32-wasip1/release/hello_rust.wasm",
                build=BuildConfig(
                    commands=("cargo build --target wasm32-wasip1 --release",),
                    watch=("src/**/*.rs", "Cargo.toml"),
                ),
            )
        ),
    )


def test_http_python_template_with_variables() -> None:
    assert _load("http-py") == App(
        manifest_path=VALID_DIR / "http-py.toml",
        name="hello-python",
        version="0.1.0",
        description="A Spin HTTP component in Python",
        authors=("Jane Doe <jane@example.com>",),
        variables=(Variable(name="greeting", default="Hello"),),
        triggers=(
            HttpTrigger(id="hello-python-http-trigger", route="/...", component="hello-python"),
        ),
        components=_components(
            Component(
                id="hello-python",
                source="app.wasm",
                key_value_stores=("default",),
                variables=(("greeting", "{{ greeting }}, world"),),
                build=BuildConfig(
                    commands=("componentize-py -w spin-http componentize app -o app.wasm",),
                    watch=("*.py", "requirements.txt"),
                ),
            )
        ),
    )


def test_static_fileserver_with_remote_source_and_directory_mount() -> None:
    assert _load("static-fileserver") == App(
        manifest_path=VALID_DIR / "static-fileserver.toml",
        name="static-site",
        version="1.0.0",
        description="Serves the files of a directory",
        triggers=(
            HttpTrigger(id="fileserver-http-trigger", route="/static/...", component="fileserver"),
        ),
        components=_components(
            Component(
                id="fileserver",
                source=RemoteSource(url=FILESERVER_URL, digest=FILESERVER_DIGEST),
                files=(FileMount(source="assets", destination="/"),),
                environment=(("FALLBACK_PATH", "index.html"),),
            )
        ),
    )


MAXIMAL_USERS = Component(
    id="users",
    source="users/target/users.wasm",
    description="The users API",
    files=(FileMount(source="static/**/*.html"), FileMount(source="data", destination="/data")),
    exclude_files=("**/secret",),
    allowed_outbound_hosts=(
        "https://{{ api_host }}",
        "*://*.example.com:*",
        "redis://cache.internal",
        "postgres://10.0.0.0/8:5432..5440",
        "mqtt://[::1]:1883",
        "http://internal.spin.internal",
        "https://self.alt",
        "http://legacy.example.com:8080",
        "https://legacy.example.com:8080",
    ),
    key_value_stores=("default", "user-sessions"),
    sqlite_databases=("default", "user_data"),
    ai_models=("llama2-chat",),
    environment=(("RUST_LOG", "info"), ("MODE", "production")),
    variables=(("api_url", "https://{{ api_host }}/v1"), ("token", "{{ api_token }}")),
    build=BuildConfig(
        commands=("cargo build --release", "cp target/release/users.wasm target/users.wasm"),
        workdir="users",
        watch=("src/**/*.rs",),
    ),
)


def test_maximal_v2_manifest() -> None:
    app = _load("maximal")
    assert app == App(
        manifest_path=VALID_DIR / "maximal.toml",
        name="maximal",
        version="9.9.9",
        description="All the features, all the time",
        authors=("alice@example.com", "bob@example.com"),
        variables=(
            Variable(name="api_host", default="api.example.com", description="Where the API lives"),
            Variable(name="api_token", required=True, secret=True),
        ),
        triggers=(
            HttpTrigger(
                id="users-http-trigger",
                route="/users/:id/...",
                component="users",
                executor=Executor(type="http"),
            ),
            HttpTrigger(
                id="legacy",
                route="/cgi-bin/...",
                component="legacy-cgi",
                executor=Executor(
                    type="wagi",
                    options=(("argv", "${SCRIPT_NAME} ${ARGS}"), ("entrypoint", "main")),
                ),
            ),
            HttpTrigger(id="internal-http-trigger", route=None, component="internal"),
            HttpTrigger(
                id="http-trigger1",
                route="/health",
                static_response=StaticResponse(
                    status_code=204,
                    headers=(("cache-control", "no-store"), ("x-app", "maximal")),
                ),
            ),
            HttpTrigger(id="http-trigger2", route="/inline", component="http-trigger2-component"),
        ),
        components=_components(
            MAXIMAL_USERS,
            Component(id="legacy-cgi", source="cgi.wasm"),
            Component(id="internal", source="internal.wasm"),
            Component(
                id="http-trigger2-component",
                source="inline.wasm",
                allowed_outbound_hosts=("http://self",),
            ),
        ),
    )
    assert app.triggers[2].private and not app.triggers[0].private
    assert list(app.components) == ["users", "legacy-cgi", "internal", "http-trigger2-component"]


def test_maximal_v2_warns_about_deprecated_base_and_allowed_http_hosts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="spin_py.manifest"):
        _load("maximal")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("spin_py.manifest")]
    path = VALID_DIR / "maximal.toml"
    assert messages == [
        f"{path}:12:1: application.trigger.http.base: the HTTP base is deprecated and ignored: "
        'remove `base = "/"`',
        f"{path}:60:1: component.users.allowed_http_hosts: `allowed_http_hosts` is deprecated: "
        'replace it with `allowed_outbound_hosts = ["http://legacy.example.com:8080", '
        '"https://legacy.example.com:8080"]`',
    ]


def test_v1_manifest_is_converted_to_v2() -> None:
    assert _load("v1") == App(
        manifest_path=VALID_DIR / "v1.toml",
        name="maximal-v1",
        version="1.2.3",
        description="A version 1 manifest",
        authors=("alice@example.com",),
        variables=(
            Variable(name="greeting", default="Hello"),
            Variable(name="secret_key", required=True, secret=True),
        ),
        triggers=(
            HttpTrigger(id="trigger-hello-world", route="/hello/...", component="hello-world"),
            HttpTrigger(
                id="trigger-wagi", route="/wagi", component="wagi", executor=Executor(type="wagi")
            ),
        ),
        components=_components(
            Component(
                id="hello-world",
                source="hello.wasm",
                description="Says hello",
                files=(
                    FileMount(source="pattern/*"),
                    FileMount(source="placement", destination="/"),
                ),
                exclude_files=("**/secret",),
                allowed_outbound_hosts=(
                    "redis://*:*",
                    "mysql://*:*",
                    "postgres://*:*",
                    "http://example.com",
                    "https://example.com",
                    "http://self",
                ),
                key_value_stores=("default",),
                sqlite_databases=("default",),
                ai_models=("llama2-chat",),
                environment=(("LANG", "en"),),
                variables=(("message", "{{ greeting }}!"),),
                build=BuildConfig(commands=("make",), workdir="hello", watch=("src/*.c",)),
            ),
            Component(
                id="wagi",
                source=RemoteSource(url="https://example.com/wagi.wasm", digest=V1_DIGEST),
                allowed_outbound_hosts=(
                    "https://example.org",
                    "http://*:*",
                    "https://*:*",
                    "http://self",
                ),
            ),
        ),
    )


def test_generated_trigger_and_inline_component_ids_follow_spin() -> None:
    app = _load("trigger-ids")
    assert [(t.id, t.route, t.component) for t in app.triggers] == [
        ("alpha-http-trigger", "/a", "alpha"),
        ("http-trigger1", "/a2", "alpha"),  # natural ID already taken
        ("http-trigger2", "/static", None),
        ("named", "/named", "named-component"),
        ("http-trigger3", "/inline", "http-trigger3-component"),
        ("alpha", "/taken", "inline-component1"),  # `alpha-component` already exists
    ]
    assert app.triggers[2].static_response == StaticResponse(body="static")
    assert app.components["inline-component1"] == Component(
        id="inline-component1", source="taken.wasm"
    )
    assert set(app.components) == {
        "alpha",
        "alpha-component",
        "named-component",
        "http-trigger3-component",
        "inline-component1",
    }
