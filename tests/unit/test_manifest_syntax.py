"""The small syntax checkers of the manifest: IDs, templates, routes, and the key locator."""

from __future__ import annotations

import pytest

from spin_py.manifest.diagnostics import format_path
from spin_py.manifest.ids import kebab_error, lower_snake_error, snake_error
from spin_py.manifest.locate import Locator
from spin_py.manifest.route_syntax import route_error
from spin_py.manifest.templates import TemplateError, template_references


@pytest.mark.parametrize("ident", ["hello", "hello-world", "api-v2", "item-2", "HTTP-proxy", "a1"])
def test_valid_kebab_ids(ident: str) -> None:
    assert kebab_error(ident) is None


@pytest.mark.parametrize(
    ("ident", "error"),
    [
        ("", "empty"),
        ("bad_id", "words must be separated with '-', not '_'"),
        ("1-2-3", "'-'-separated words must start with an ASCII letter; got '1'"),
        ("a--b", "'-'-separated words must not be empty"),
        ("a-", "'-'-separated words must not be empty"),
        ("a-_b", "words must be separated with '-', not '_'"),
        ("a-.b", "'-'-separated words must start with an ASCII letter or digit; got '.'"),
        ("hello+x", "'-'-separated words may only contain alphanumeric ASCII; got '+'"),
        (
            "helloWorld",
            "'-'-separated words must be all lowercase or all UPPERCASE; got \"helloWorld\"",
        ),
        ("héllo", "'-'-separated words may only contain alphanumeric ASCII; got 'é'"),
    ],
)
def test_invalid_kebab_ids_use_spin_wording(ident: str, error: str) -> None:
    assert kebab_error(ident) == error


def test_snake_ids() -> None:
    assert snake_error("user_data") is None
    assert snake_error("API_KEY") is None
    assert lower_snake_error("api_key") is None
    assert (
        lower_snake_error("API_KEY")
        == 'Lower-case identifiers must be all lowercase; got "API_KEY"'
    )
    assert lower_snake_error("api-key") == "words must be separated with '_', not '-'"


def test_template_references() -> None:
    assert template_references("plain") == ()
    assert template_references("https://{{ host }}:{{port}}/x") == ("host", "port")
    with pytest.raises(TemplateError, match="unterminated"):
        template_references("{{ host ")
    with pytest.raises(TemplateError, match='invalid variable name "Host"'):
        template_references("{{ Host }}")


@pytest.mark.parametrize(
    "route",
    ["/", "", "hello", "/cart", "/users/...", "/...", "/users/:id/edit", "/a/:b/...", "/a/*"],
)
def test_valid_routes(route: str) -> None:
    assert route_error(route) is None


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ("/a/.../b", 'the wildcard "..." must be the last segment'),
        ("/*/b", 'the wildcard "*" must be the last segment'),
        ("/users/:", "a ':' segment needs a name"),
        ("/users/:/edit", "a ':' segment needs a name"),
        ("/search?q=1", "a route cannot contain '?'"),
        ("/page#top", "a route cannot contain '#'"),
    ],
)
def test_invalid_routes(route: str, fragment: str) -> None:
    error = route_error(route)
    assert error is not None and fragment in error


def test_format_path() -> None:
    assert format_path(("component", "hello", "allowed_outbound_hosts", 1)) == (
        "component.hello.allowed_outbound_hosts[1]"
    )
    assert format_path(("trigger", "http", 0, "route")) == "trigger.http[0].route"
    assert format_path(("variables", "bad+name")) == 'variables."bad+name"'


DOCUMENT = """\
spin_manifest_version = 2 # comment with [brackets] and = signs
[application]
name = "x"
description = '''multi
line [not.a.header]
'''
[[trigger.http]]
route = "/a"
component = "a"
[[trigger.http]]
route = { private = true }
[trigger.http.component]
source = "s.wasm"
files = [ "a",
  { source = "b", destination = "/" }, # trailing comment
  'c' ]
[component."my-c"]
source.url = \"\"\"x
\"\"\"\"\"
allowed_outbound_hosts = ["a", "b"]
"""


@pytest.mark.parametrize(
    ("path", "position"),
    [
        (("spin_manifest_version",), (1, 1)),
        (("application",), (2, 2)),
        (("application", "name"), (3, 1)),
        (("trigger", "http", 0), (7, 11)),
        (("trigger", "http", 0, "component"), (9, 1)),
        (("trigger", "http", 1, "route", "private"), (11, 11)),
        (("trigger", "http", 1, "component"), (12, 15)),
        (("trigger", "http", 1, "component", "files", 1, "destination"), (15, 19)),
        (("trigger", "http", 1, "component", "files", 2), (16, 3)),
        (("component", "my-c"), (17, 12)),
        (("component", "my-c", "source", "url"), (18, 8)),
        (("component", "my-c", "allowed_outbound_hosts", 1), (20, 32)),
        # Unknown keys fall back to their nearest known ancestor, then to the start.
        (("component", "my-c", "missing"), (17, 12)),
        (("nope",), (1, 1)),
    ],
)
def test_locator_finds_keys_headers_and_elements(
    path: tuple[str | int, ...], position: tuple[int, int]
) -> None:
    assert Locator(DOCUMENT).find(path) == position


def test_locator_never_raises_on_text_it_cannot_scan() -> None:
    assert Locator("a = [1,\n").find(("a", 0)) == (1, 6)
    assert Locator("[[[").find(("x",)) == (1, 1)
