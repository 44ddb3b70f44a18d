"""Variables through real components over real HTTP: `fermyon:spin/variables@2.0.0` and
`wasi:config/store`, the providers' order, the config example app, and startup errors.

Order, first match wins: `--variable`, runtime-config `[[variables_provider]]` entries in file
order, `SPIN_VARIABLE_<NAME>` from the environment, then from `.env` in the working directory,
then the manifest default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.http_apps import calls, err, get, ok, write_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py

SOURCES = ("cli", "static", "prefixed", "env", "dotenv", "default")

Start = Callable[..., SpinPyProcess]


@pytest.fixture
def config_app(example_app: Callable[[str], Path]) -> Path:
    """`manifests/config`, its component built and compiled."""
    return example_app("config")


@pytest.fixture
def probe(ready_component: Callable[[str], Path], tmp_path: Path) -> Path:
    """The probe with one app variable per provider (`v_<source>`, default "default") and a
    component variable of the same name for each, plus a template and a file-fed one."""
    names = [f"v_{source}" for source in SOURCES] + ["from_file", "from_json", "from_toml"]
    return write_app(
        tmp_path / "app",
        ready_component("platform-probe"),
        app_variables={name: '{ default = "default" }' for name in names},
        component_variables={
            **{name: f"{{{{ {name} }}}}" for name in names},
            "url": "https://{{ v_cli }}:{{v_static}}/x",
        },
    )


def test_providers_in_order_and_every_variables_function(
    spin_py_server: Start, probe: Path, tmp_path: Path
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    every = {f"V_{source.upper()}" for source in SOURCES}
    (cwd / ".env").write_text(
        "".join(f"SPIN_VARIABLE_{name}=dotenv\n" for name in every - {"V_DEFAULT"})
    )
    (cwd / "token.txt").write_text("file text")
    (cwd / "vars.json").write_text(json.dumps({"from_json": "json value"}))
    (cwd / "vars.toml").write_text('from_toml = "toml value"\n')
    config = tmp_path / "runtime-config.toml"
    config.write_text(
        '[[variables_provider]]\ntype = "static"\n'
        '[variables_provider.values]\nv_cli = "static"\nv_static = "static"\n\n'
        '[[variables_provider]]\ntype = "env"\nprefix = "MYAPP"\n'
    )
    env = {f"SPIN_VARIABLE_{name}": "env" for name in every - {"V_DOTENV", "V_DEFAULT"}}
    env |= {"MYAPP_V_CLI": "prefixed", "MYAPP_V_PREFIXED": "prefixed"}
    server = spin_py_server(
        probe,
        "--state-dir", str(tmp_path / "state"),
        "--runtime-config-file", str(config),
        "--variable", "v_cli=first",
        "--variable", "v_cli=cli",
        "--variable", "from_file=@token.txt",
        "--variable", "@vars.json",
        "--variable", "@vars.toml",
        "-q",
        env=env,
        cwd=cwd,
    )  # fmt: skip
    results = calls(server, [["var.get", f"v_{source}"] for source in SOURCES])
    assert results == [ok(source) for source in SOURCES]
    results = calls(
        server,
        [
            ["var.get", "url"],
            ["var.get", "from_file"],
            ["var.get", "from_json"],
            ["var.get", "from_toml"],
            ["var.get", "nope"],
            ["var.get", "Bad-Name"],
            ["cfg.get", "url"],
            ["cfg.get", "nope"],
            ["cfg.get", "Bad-Name"],
            ["cfg.get_all"],
        ],
    )
    assert results[:4] == [
        ok("https://cli:static/x"),
        ok("file text"),
        ok("json value"),
        ok("toml value"),
    ]
    assert results[4] == err("undefined", 'no variable for "probe"."nope"')
    assert results[5]["err"] == "invalid-name" and "Bad-Name" in results[5]["payload"]
    assert results[6:9] == [ok("https://cli:static/x"), ok(None), ok(None)]
    everything = dict(results[9]["ok"])
    assert {name: everything[f"v_{name}"] for name in SOURCES} == {s: s for s in SOURCES}
    assert everything["url"] == "https://cli:static/x"
    assert len(everything) == len(SOURCES) + 4


def test_the_config_app_hides_secrets(
    spin_py_server: Start, config_app: Path, tmp_path: Path
) -> None:
    secret = "s3cret-Value-0451"
    server = spin_py_server(
        config_app,
        "--state-dir", str(tmp_path / "state"),
        env={"SPIN_VARIABLE_API_TOKEN": secret, "SPIN_VARIABLE_GREETING": "Howdy"},
        cwd=tmp_path,
    )  # fmt: skip
    status, body = get(server.base_url, "/config")
    assert status == 200
    assert json.loads(body) == {
        "variables": {"greeting": "Howdy", "api_url": "https://api.example.com/v1"},
        "hidden": ["api_token"],
    }
    assert get(server.base_url, "/config/greeting") == (200, b"Howdy")
    assert get(server.base_url, "/config/api_url") == (200, b"https://api.example.com/v1")
    assert get(server.base_url, "/config/api_token") == (403, b"api_token is secret")
    assert get(server.base_url, "/config/nope") == (
        404,
        b'Undefined: no variable for "config"."nope"',
    )
    finished = server.stop()
    assert finished.returncode == 0
    assert secret not in finished.stdout + finished.stderr


def test_a_required_variable_without_a_value_stops_startup(
    config_app: Path, tmp_path: Path
) -> None:
    result = run_spin_py(
        "up", "-f", str(config_app), "--state-dir", str(tmp_path / "s"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'Error: no provider resolved required variable "api_token": set it with '
        "--variable api_token=VALUE or SPIN_VARIABLE_API_TOKEN"
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variable", "novalue"], "Error: invalid --variable option #2: expected KEY=VALUE"),
        (["--variable", "Bad-Name=x"], "Error: invalid variable name 'Bad-Name'"),
        (["--variable", "api_token=@missing.txt"], "Error: --variable api_token=@missing.txt"),
        (["--key-value", "novalue"], "Error: invalid --key-value 'novalue'"),
        (["--runtime-config-file", "missing.toml"], "Error: cannot read runtime config file"),
    ],
)
def test_bad_platform_options_stop_startup(
    config_app: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_spin_py(
        "up", "-f", str(config_app), "--state-dir", str(tmp_path / "s"),
        "--variable", "api_token=x", *args, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_ignored_runtime_config_sections_are_warned_about(
    spin_py_server: Start, config_app: Path, tmp_path: Path
) -> None:
    config = tmp_path / "runtime-config.toml"
    config.write_text('[llm_compute]\ntype = "spin"\n\n[[variables_provider]]\ntype = "static"\n'
                      '[variables_provider.values]\napi_token = "from-config"\n')  # fmt: skip
    server = spin_py_server(
        config_app,
        "--state-dir", str(tmp_path / "state"),
        "--runtime-config-file", str(config),
        cwd=tmp_path,
    )  # fmt: skip
    assert get(server.base_url, "/config/greeting") == (200, b"Hello")
    finished = server.stop()
    assert (
        "runtime config section [llm_compute] is not supported by spin-py and is ignored"
        in finished.stderr
    )
    assert "from-config" not in finished.stderr
