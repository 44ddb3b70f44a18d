"""Where an outbound request goes: network, self (bound address) or a chained component."""

from __future__ import annotations

import logging

import pytest
import yarl

from spin_py.outbound.chaining import ChainTarget, SelfOrigin, chained_component_id
from spin_py.outbound.destination import NetworkTarget, build_url, route_outbound
from spin_py.outbound.errors import OutboundError
from spin_py.outbound.policy import OutboundPolicy

ORIGIN = SelfOrigin("http", "0.0.0.0", 3000)
COMPONENTS = frozenset({"front", "back"})


def route(
    entries: list[str],
    scheme: str | None,
    authority: str | None,
    path: str | None,
    origin: SelfOrigin | None = ORIGIN,
) -> NetworkTarget | ChainTarget:
    return route_outbound(
        scheme,
        authority,
        path,
        policy=OutboundPolicy.build(entries),
        origin=origin,
        component_ids=COMPONENTS,
        component_id="front",
    )


def error_of(entries: list[str], scheme: str | None, authority: str | None, path: str) -> str:
    with pytest.raises(OutboundError) as caught:
        route(entries, scheme, authority, path)
    return caught.value.code


def test_allowed_absolute_url_goes_to_the_network() -> None:
    target = route(["https://example.com"], "https", "example.com", "/v1/x?y=1")
    assert target == NetworkTarget(build_url("https", "example.com", "/v1/x?y=1"))
    assert isinstance(target, NetworkTarget)
    assert str(target.url) == "https://example.com/v1/x?y=1"
    assert not target.self_request


def test_missing_scheme_means_https() -> None:
    target = route(["https://example.com"], None, "example.com", "/")
    assert isinstance(target, NetworkTarget)
    assert target.url.scheme == "https"


def test_path_and_query_are_kept_byte_for_byte() -> None:
    target = route(["*://*:*"], "http", "example.com", "/a%2Fb/%7E?x=%20&y=a+b&z")
    assert isinstance(target, NetworkTarget)
    assert target.url.raw_path_qs == "/a%2Fb/%7E?x=%20&y=a+b&z"


def test_user_info_is_dropped() -> None:
    target = route(["http://example.com"], "http", "user:pw@example.com:80", "/")
    assert isinstance(target, NetworkTarget)
    assert target.url.raw_user is None
    assert target.url.raw_password is None
    assert target.url.host_port_subcomponent == "example.com"


def test_denied_request_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "spin_py.outbound")
    assert error_of(["https://example.com"], "https", "evil.com:8443", "/") == (
        "HTTP-request-denied"
    )
    assert "Outbound network destination not allowed: https://evil.com:8443" in caplog.text
    assert "front" in caplog.text


def test_other_schemes_are_protocol_errors() -> None:
    assert error_of(["*://*:*"], "ftp", "example.com", "/") == "HTTP-protocol-error"


@pytest.mark.parametrize("authority", ["exa mple.com", "h:abc", "h:99999", "a.com/b", "a?b", ":80"])
def test_invalid_authority(authority: str) -> None:
    assert error_of(["*://*:*"], "http", authority, "/") == "HTTP-request-URI-invalid"


@pytest.mark.parametrize(("scheme", "authority"), [("http", None), ("http", ""), (None, None)])
def test_relative_self_request_goes_to_the_bound_address(
    scheme: str | None, authority: str | None
) -> None:
    target = route(["http://self"], scheme, authority, "/api/x?q=1")
    assert isinstance(target, NetworkTarget)
    assert target.self_request
    assert str(target.url) == "http://127.0.0.1:3000/api/x?q=1"


def test_self_alt_request_goes_to_the_bound_address() -> None:
    target = route(["http://self.alt"], "http", "self.alt", "/a")
    assert isinstance(target, NetworkTarget)
    assert str(target.url) == "http://127.0.0.1:3000/a"


def test_self_origin_https_and_specific_address() -> None:
    origin = SelfOrigin("https", "127.0.0.5", 8443)
    target = route(["*://*:*"], "http", None, "/", origin)
    assert isinstance(target, NetworkTarget)
    assert str(target.url) == "https://127.0.0.5:8443/"


def test_self_origin_ipv6() -> None:
    origin = SelfOrigin.from_sockname("http", ("::", 8080, 0, 0))
    assert origin.connect_host == "::1"
    assert origin.authority == "[::1]:8080"
    assert str(origin.url("/x")) == "http://[::1]:8080/x"


def test_self_request_denied(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "spin_py.outbound")
    assert error_of(["https://example.com"], "http", None, "/api") == "HTTP-request-denied"
    assert "Outbound network destination not allowed: http://self" in caplog.text


def test_self_request_without_origin() -> None:
    with pytest.raises(OutboundError) as caught:
        route(["http://self"], "http", None, "/", origin=None)
    assert caught.value.code == "HTTP-request-URI-invalid"


def test_chained_request() -> None:
    target = route(["http://*.spin.internal"], "http", "back.spin.internal", "/x/y?z=1")
    assert target == ChainTarget("back", "/x/y?z=1")
    assert isinstance(target, ChainTarget)
    assert (target.path, target.query) == ("/x/y", "z=1")


def test_chained_request_to_one_component_with_port() -> None:
    target = route(["http://back.spin.internal:*"], "http", "back.spin.internal:9000", None)
    assert target == ChainTarget("back", "/")


def test_chained_request_to_unknown_component() -> None:
    code = error_of(["http://*.spin.internal"], "http", "nope.spin.internal", "/")
    assert code == "destination-not-found"


def test_chained_request_not_allowed() -> None:
    code = error_of(["http://back.spin.internal"], "http", "front.spin.internal", "/")
    assert code == "HTTP-request-denied"


def test_deeper_spin_internal_name_is_not_chaining() -> None:
    target = route(["http://*.spin.internal"], "http", "a.back.spin.internal", "/")
    assert isinstance(target, NetworkTarget)


@pytest.mark.parametrize(
    ("url", "component"),
    [
        ("http://back.spin.internal/", "back"),
        ("http://BACK.Spin.Internal:80/", "back"),
        ("http://spin.internal/", None),
        ("http://a.b.spin.internal/", None),
        ("http://back.spin.internal.evil/", None),
    ],
)
def test_chained_component_id(url: str, component: str | None) -> None:
    assert chained_component_id(yarl.URL(url)) == component
