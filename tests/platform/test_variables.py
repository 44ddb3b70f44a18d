"""Variables: provider precedence, templates, typed lookup errors, startup errors, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spin_py.errors import ConfigError
from spin_py.manifest.model import App, Component, Variable
from spin_py.platform.runtime_config import (
    EnvProviderConfig,
    StaticProviderConfig,
    VariablesProviderConfig,
)
from spin_py.platform.variable_providers import parse_dotenv, parse_variable_args
from spin_py.platform.variables import (
    InvalidVariableName,
    UndefinedVariable,
    VariableNoValue,
    VariableResolver,
    VarRef,
    parse_template,
)
from tests.support.models import make_app


def app_with(tmp_path: Path, *variables: Variable, templates: dict[str, str]) -> App:
    component = Component(id="web", source="web.wasm", variables=tuple(templates.items()))
    return make_app(tmp_path, variables=variables, components=(component,))


def resolver(
    app: App,
    tmp_path: Path,
    *,
    cli: tuple[tuple[str, str], ...] = (),
    configured: tuple[VariablesProviderConfig, ...] = (),
    env: dict[str, str] | None = None,
) -> VariableResolver:
    return VariableResolver.from_settings(
        app, cli_values=cli, configured=configured, env=env or {}, cwd=tmp_path
    )


# --- precedence ---------------------------------------------------------------------------------


def test_precedence_cli_then_runtime_providers_in_order_then_env_then_dotenv_then_default(
    tmp_path: Path,
) -> None:
    names = ["from_cli", "from_static", "from_second", "from_env", "from_dotenv", "from_default"]
    app = app_with(
        tmp_path,
        *(Variable(n, default=f"default-{n}") for n in names),
        templates={n: f"{{{{ {n} }}}}" for n in names},
    )
    # Every source offers a value for every variable it can; the highest one must win.
    (tmp_path / ".env").write_text(
        "".join(f"SPIN_VARIABLE_{n.upper()}=dotenv-{n}\n" for n in names)
    )
    env = {f"SPIN_VARIABLE_{n.upper()}": f"env-{n}" for n in names[:4]}
    first = StaticProviderConfig(tuple((n, f"static-{n}") for n in names[1:2]))
    second = StaticProviderConfig(tuple((n, f"second-{n}") for n in names[1:3]))
    cli = (("from_cli", "cli-from_cli"),)
    r = resolver(app, tmp_path, cli=cli, configured=(first, second), env=env)
    env.clear()  # a copy was taken at startup; later changes do not matter
    assert dict(r.get_all("web")) == {
        "from_cli": "cli-from_cli",
        "from_static": "static-from_static",
        "from_second": "second-from_second",
        "from_env": "env-from_env",
        "from_dotenv": "dotenv-from_dotenv",
        "from_default": "dotenv-from_default",
    }
    (tmp_path / ".env").unlink()
    r = resolver(app, tmp_path)
    assert r.resolve("web", "from_default") == "default-from_default"


def test_env_provider_from_runtime_config_with_prefix_and_dotenv(tmp_path: Path) -> None:
    app = app_with(
        tmp_path,
        Variable("api_host", required=True),
        Variable("port", default="80"),
        templates={"url": "http://{{ api_host }}:{{port}}/"},
    )
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.env").write_text("MYAPP_PORT=8080\nMYAPP_API_HOST=dotenv.host\n")
    configured = (EnvProviderConfig(prefix="MYAPP", dotenv_path=Path("conf/app.env")),)
    env = {"MYAPP_API_HOST": "env.host", "SPIN_VARIABLE_PORT": "9"}
    r = resolver(app, tmp_path, configured=configured, env=env)
    assert r.resolve("web", "url") == "http://env.host:8080/"


def test_env_provider_with_empty_prefix_uses_the_bare_upper_name(tmp_path: Path) -> None:
    app = app_with(tmp_path, Variable("token", required=True), templates={"t": "{{ token }}"})
    r = resolver(app, tmp_path, configured=(EnvProviderConfig(prefix=""),), env={"TOKEN": "x"})
    assert r.resolve("web", "t") == "x"


# --- templates and lookups ----------------------------------------------------------------------


def test_templates_mix_literals_and_whitespace_tolerant_references(tmp_path: Path) -> None:
    app = app_with(
        tmp_path,
        Variable("host", default="h"),
        Variable("ver", default="2"),
        templates={"url": "https://{{host}}/v{{   ver\t}}/{{ host }}", "fixed": "plain"},
    )
    r = resolver(app, tmp_path)
    assert r.resolve("web", "url") == "https://h/v2/h"
    assert r.resolve("web", "fixed") == "plain"
    assert r.get_all("web") == [("url", "https://h/v2/h"), ("fixed", "plain")]
    assert r.component_variables("web") == ("url", "fixed")


def test_parse_template() -> None:
    assert parse_template("a{{ b }}c{{d}}") == ("a", VarRef("b"), "c", VarRef("d"))
    assert parse_template("") == ()
    with pytest.raises(ValueError, match="unterminated"):
        parse_template("x {{ y")
    with pytest.raises(ValueError, match="invalid variable name"):
        parse_template("{{ Bad-Name }}")


def test_lookup_errors_carry_the_wit_case(tmp_path: Path) -> None:
    app = app_with(
        tmp_path, Variable("token", required=True), templates={"auth": "Bearer {{ token }}"}
    )
    r = resolver(app, tmp_path)
    with pytest.raises(InvalidVariableName) as bad:
        r.resolve("web", "Not-Valid")
    assert bad.value.case == "invalid-name"
    with pytest.raises(UndefinedVariable) as undefined:
        r.resolve("web", "other")
    assert undefined.value.case == "undefined"
    assert undefined.value.payload == 'no variable for "web"."other"'
    with pytest.raises(UndefinedVariable):
        r.resolve("no-such-component", "auth")
    with pytest.raises(VariableNoValue) as missing:
        r.resolve("web", "auth")
    assert missing.value.case == "provider"
    assert missing.value.payload == 'no provider resolved required variable "token"'
    with pytest.raises(VariableNoValue):
        r.get_all("web")


def test_resolve_app_level_template(tmp_path: Path) -> None:
    app = app_with(tmp_path, Variable("host", default="api.example"), templates={})
    r = resolver(app, tmp_path)
    assert r.resolve_template("https://{{ host }}:443") == "https://api.example:443"
    with pytest.raises(ConfigError, match="undefined"):
        r.resolve_template("{{ nope }}")


# --- startup checks ------------------------------------------------------------------------------


def test_check_required_names_the_variable_without_a_value(tmp_path: Path) -> None:
    app = app_with(
        tmp_path,
        Variable("fine", default="x"),
        Variable("api_key", required=True, secret=True),
        templates={},
    )
    with pytest.raises(ConfigError, match='no provider resolved required variable "api_key"'):
        resolver(app, tmp_path).check_required()
    resolver(app, tmp_path, env={"SPIN_VARIABLE_API_KEY": "k"}).check_required()
    resolver(app, tmp_path, cli=(("api_key", "k"),)).check_required()


def test_undefined_reference_in_a_component_template_is_a_config_error(tmp_path: Path) -> None:
    app = app_with(tmp_path, Variable("a", default="1"), templates={"x": "{{ b }}"})
    with pytest.raises(ConfigError, match="undefined application variable 'b'"):
        resolver(app, tmp_path)


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_are_known_and_never_in_messages(tmp_path: Path) -> None:
    app = app_with(
        tmp_path,
        Variable("password", default="hunter2", secret=True),
        Variable("user", default="bob"),
        templates={"dsn": "{{ user }}:{{ password }}", "who": "{{ user }}"},
    )
    r = resolver(app, tmp_path)
    assert r.is_secret("password") and not r.is_secret("user") and not r.is_secret("nope")
    assert r.is_component_secret("web", "dsn")
    assert not r.is_component_secret("web", "who")
    errors: list[str] = []
    for name in ("Bad", "missing"):
        try:
            r.resolve("web", name)
        except Exception as exc:
            errors.append(str(exc))
    assert errors and all("hunter2" not in e for e in errors)


# --- --variable ----------------------------------------------------------------------------------


def test_variable_args_every_form(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("s3cret\n")
    (tmp_path / "vars.json").write_text(json.dumps({"a": "json-a", "b": "json-b"}))
    (tmp_path / "vars.toml").write_text('b = "toml-b"\nc = "toml-c"\n')
    args = ["x=1=2", "empty=", "token=@token.txt", "@vars.json", "@vars.toml", "a=cli-a"]
    pairs = parse_variable_args(args, tmp_path)
    assert pairs == (
        ("x", "1=2"),
        ("empty", ""),
        ("token", "s3cret\n"),
        ("a", "json-a"),
        ("b", "json-b"),
        ("b", "toml-b"),
        ("c", "toml-c"),
        ("a", "cli-a"),
    )
    assert dict(pairs) == {
        "x": "1=2",
        "empty": "",
        "token": "s3cret\n",
        "a": "cli-a",
        "b": "toml-b",
        "c": "toml-c",
    }


@pytest.mark.parametrize(
    ("arg", "files", "problem"),
    [
        ("novalue", {}, "option #1: expected KEY=VALUE"),
        ("Bad-Name=1", {}, "invalid variable name 'Bad-Name' in --variable Bad-Name=..."),
        ("k=@missing.txt", {}, "cannot read"),
        ("@vars.yaml", {"vars.yaml": "a: b"}, "must end in .json or .toml"),
        ("@vars.json", {"vars.json": "[1, 2]"}, "table of string values"),
        ("@vars.json", {"vars.json": '{"a": 1}'}, "value of 'a'"),
        ("@vars.json", {"vars.json": "{"}, "invalid JSON"),
        ("@vars.toml", {"vars.toml": "a = [1]"}, "value of 'a'"),
    ],
)
def test_variable_arg_errors(tmp_path: Path, arg: str, files: dict[str, str], problem: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=r"--variable|variable name") as caught:
        parse_variable_args([arg], tmp_path)
    assert problem in str(caught.value)


def test_variable_arg_errors_never_show_the_value(tmp_path: Path) -> None:
    for arg in ("hunter2", "Bad-Name=hunter2"):
        with pytest.raises(ConfigError) as caught:
            parse_variable_args(["ok=fine", arg], tmp_path)
        assert "hunter2" not in str(caught.value)


# --- .env -----------------------------------------------------------------------------------------


def test_dotenv_syntax(tmp_path: Path) -> None:
    text = (
        "# comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = padded   \n"
        "INLINE=keep # dropped comment\n"
        "HASH=a#b\n"
        "SINGLE='lit\\n$x'\n"
        'DOUBLE="line1\\nline2 \\"q\\""\n'
        'MULTI="first\nsecond"\n'
        "EMPTY=\n"
    )
    assert parse_dotenv(text, tmp_path / ".env") == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "INLINE": "keep",
        "HASH": "a#b",
        "SINGLE": "lit\\n$x",
        "DOUBLE": 'line1\nline2 "q"',
        "MULTI": "first\nsecond",
        "EMPTY": "",
    }


@pytest.mark.parametrize("text", ["NOEQUALS\n", "1BAD=x\n", 'Q="open\n', "Q='a' trailing\n"])
def test_dotenv_errors_name_file_and_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"\.env: line 2"):
        parse_dotenv("OK=1\n" + text, tmp_path / ".env")


def test_malformed_dotenv_stops_startup(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("garbage line\n")
    app = app_with(tmp_path, Variable("a", default="1"), templates={})
    with pytest.raises(ConfigError, match="invalid dotenv file"):
        resolver(app, tmp_path)
