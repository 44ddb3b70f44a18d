"""The spin-* header set and the guest's request header list."""

from __future__ import annotations

import pytest

from spin_py.manifest.model import HttpTrigger
from spin_py.routing import RouteMatch, Router
from spin_py.server.headers import (
    CHAINED_CLIENT_ADDR,
    request_headers_for_guest,
    spin_headers,
)
from spin_py.wasi.http.fields import FORBIDDEN_HEADERS


def _match(route: str, path: str) -> RouteMatch:
    found = Router.build([HttpTrigger(id="t", route=route, component="c")]).route(path)
    assert found is not None
    return found


def test_worked_example_from_spin_compat() -> None:
    match = _match("/users/:userid/cart/...", "/users/1/cart/items/3/edit")
    headers = spin_headers(
        match,
        scheme="https",
        host="example.com:8080",
        path_and_query="/users/1/cart/items/3/edit?theme=pink",
        client_addr="127.0.0.1:54321",
    )
    assert headers == [
        ("spin-full-url", "https://example.com:8080/users/1/cart/items/3/edit?theme=pink"),
        ("spin-path-info", "/items/3/edit"),
        ("spin-matched-route", "/users/:userid/cart/..."),
        ("spin-raw-component-route", "/users/:userid/cart/..."),
        ("spin-component-route", "/users/:userid/cart"),
        ("spin-base-path", "/"),
        ("spin-client-addr", "127.0.0.1:54321"),
        ("spin-path-match-userid", "1"),
    ]


def test_exact_route_headers_and_missing_host() -> None:
    headers = dict(
        spin_headers(
            _match("/cart", "/cart/"),
            scheme="http",
            host=None,
            path_and_query="/cart/?a=1&b=2",
            client_addr="10.0.0.1:1",
        )
    )
    assert headers == {
        "spin-full-url": "http://localhost/cart/?a=1&b=2",
        "spin-path-info": "",
        "spin-matched-route": "/cart",
        "spin-raw-component-route": "/cart",
        "spin-component-route": "/cart",
        "spin-base-path": "/",
        "spin-client-addr": "10.0.0.1:1",
    }


def test_route_as_written_goes_to_raw_component_route() -> None:
    headers = dict(
        spin_headers(
            _match("foo/:Id/...", "/foo/9/x"),
            scheme="http",
            host="h",
            path_and_query="/foo/9/x",
            client_addr="1.2.3.4:5",
        )
    )
    assert headers["spin-matched-route"] == "/foo/:Id/..."
    assert headers["spin-raw-component-route"] == "foo/:Id/..."
    assert headers["spin-component-route"] == "/foo/:Id"
    assert headers["spin-path-match-id"] == "9"
    assert headers["spin-path-info"] == "/x"


def test_several_params_each_get_a_header() -> None:
    headers = spin_headers(
        _match("/a/:x/b/:y", "/a/1/b/2"),
        scheme="http",
        host="h",
        path_and_query="/a/1/b/2",
        client_addr="1.2.3.4:5",
    )
    assert headers[-2:] == [("spin-path-match-x", "1"), ("spin-path-match-y", "2")]


def test_chained_match_headers() -> None:
    trigger = HttpTrigger(id="backend", route=None, component="backend")
    headers = dict(
        spin_headers(
            RouteMatch.for_chained(trigger, "/api/x"),
            scheme="http",
            host="backend.spin.internal",
            path_and_query="/api/x?q=1",
            client_addr=CHAINED_CLIENT_ADDR,
        )
    )
    assert headers["spin-full-url"] == "http://backend.spin.internal/api/x?q=1"
    assert headers["spin-path-info"] == "/api/x"
    assert headers["spin-matched-route"] == "/..."
    assert headers["spin-component-route"] == ""
    assert headers["spin-client-addr"] == "0.0.0.0:0"


SPIN = [("spin-path-info", "/x"), ("spin-base-path", "/")]


def test_guest_headers_drop_forbidden_and_spoofed_spin_headers() -> None:
    client = [
        ("Host", "example.com"),
        ("Connection", "keep-alive"),
        ("Accept", "text/plain"),
        ("SPIN-PATH-INFO", "/spoofed"),
        ("spin-client-addr", "6.6.6.6:6"),
        ("X-Multi", "1"),
        ("Transfer-Encoding", "chunked"),
        ("X-Multi", "2"),
        ("TE", "trailers"),
    ]
    assert request_headers_for_guest(client, SPIN) == [
        ("accept", "text/plain"),
        ("x-multi", "1"),
        ("x-multi", "2"),
        ("te", "trailers"),
        *SPIN,
    ]


@pytest.mark.parametrize("name", sorted(FORBIDDEN_HEADERS))
def test_guest_headers_drop_every_forbidden_name(name: str) -> None:
    """wasmtime's default set, whatever the case the client wrote it in."""
    client = [(name.upper(), "v"), (name, "v"), ("x-kept", "v")]
    assert request_headers_for_guest(client, []) == [("x-kept", "v")]


def test_forbidden_set_is_wasmtimes_default() -> None:
    assert {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "http2-settings",
    } == FORBIDDEN_HEADERS
