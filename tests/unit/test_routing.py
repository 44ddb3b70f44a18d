"""Router behaviour: route forms, precedence, normalization, duplicates, private routes."""

from __future__ import annotations

import logging

import pytest

from spin_py.errors import ManifestError
from spin_py.manifest.model import HttpTrigger
from spin_py.routing import WELL_KNOWN_PREFIX, RouteMatch, Router, normalize_route


def _router(*routes: str | None) -> Router:
    """A router whose trigger ids are `t0`, `t1`, ... in the order given."""
    return Router.build([HttpTrigger(id=f"t{i}", route=r) for i, r in enumerate(routes)])


def _match(router: Router, path: str) -> RouteMatch:
    found = router.route(path)
    assert found is not None, path
    return found


# (routes in declaration order, request path, expected trigger id or None for no match)
WHICH_TRIGGER = [
    # exact
    (["/cart"], "/cart", "t0"),
    (["/cart"], "/cart/", "t0"),
    (["/cart"], "/cart//", None),
    (["/cart"], "/carts", None),
    (["/cart"], "/cart/x", None),
    (["/cart"], "/", None),
    (["/cart"], "/Cart", None),
    (["/"], "/", "t0"),
    (["/"], "/x", None),
    (["/foo", "/foo/bar"], "/foo/bar", "t1"),
    (["/foo", "/foo/bar"], "/foo", "t0"),
    # trailing wildcard
    (["/..."], "/", "t0"),
    (["/..."], "/foo/bar", "t0"),
    (["/..."], "/abc/", "t0"),
    (["/users/..."], "/users", "t0"),
    (["/users/..."], "/users/", "t0"),
    (["/users/..."], "/users/1/2/3", "t0"),
    (["/users/..."], "/usersx", None),
    (["/users/..."], "/", None),
    (["/users/*"], "/users/1/2", "t0"),
    # named segments
    (["/users/:id/edit"], "/users/42/edit", "t0"),
    (["/users/:id/edit"], "/users/42/edit/", "t0"),
    (["/users/:id/edit"], "/users//edit", None),
    (["/users/:id/edit"], "/users/42", None),
    (["/users/:id"], "/users/", None),
    (["/users/:id"], "/users/42/x", None),
    (["/users/:id/..."], "/users", None),
    (["/users/:id/..."], "/users/42", "t0"),
    (["/users/:id/..."], "/users/42/a/b", "t0"),
    # precedence: exact > param > wildcard, segment by segment
    (["/...", "/one"], "/one", "t1"),
    (["/one", "/..."], "/one", "t0"),
    (["/foo/...", "/foo"], "/foo", "t1"),
    (["/foo", "/foo/..."], "/foo/", "t0"),
    (["/users/:id", "/users/new"], "/users/new", "t1"),
    (["/users/new", "/users/:id"], "/users/new", "t0"),
    (["/users/new", "/users/:id"], "/users/7", "t1"),
    (["/users/...", "/users/:id"], "/users/7", "t1"),
    (["/users/:id/...", "/users/:id"], "/users/7", "t1"),
    (["/users/:id", "/users/:id/..."], "/users/7/", "t0"),
    (["/users/:id", "/users/:id/..."], "/users/7/x", "t1"),
    (["/:a/b", "/a/:b"], "/a/b", "t1"),
    (["/a/:b", "/:a/b"], "/a/b", "t0"),
    (["/a/b/...", "/a/:b"], "/a/b", "t0"),
    (["/a/:b/...", "/a/..."], "/a/x/y", "t0"),
    (["/a/...", "/a/:b/..."], "/a/x/y", "t1"),
    # longest wildcard prefix, in either order
    (["/one/...", "/one/two/...", "/one/two/three/..."], "/one/two/three/four", "t2"),
    (["/one/two/three/...", "/one/two/...", "/one/..."], "/one/two/three/four", "t0"),
    (["/one/two/three/...", "/one/two/...", "/one/..."], "/one/two/x", "t1"),
    (["/one/two/three/...", "/one/two/...", "/one/..."], "/one", "t2"),
    (["/...", "/one/..."], "/one/x", "t1"),
    # normalization of routes as written
    (["cart"], "/cart", "t0"),
    (["/cart/"], "/cart", "t0"),
    (["users/:id/"], "/users/3", "t0"),
    ([""], "/", "t0"),
    # private triggers are not routable
    ([None], "/", None),
    ([None, "/..."], "/x", "t1"),
    # not an origin-form path
    (["/..."], "*", None),
]


@pytest.mark.parametrize(("routes", "path", "expected"), WHICH_TRIGGER)
def test_route_picks_trigger(routes: list[str | None], path: str, expected: str | None) -> None:
    found = _router(*routes).route(path)
    assert (found.trigger.id if found else None) == expected


# (route, request path, path_info)
PATH_INFO = [
    ("/users/:id/...", "/users/42", ""),
    ("/users/:id/...", "/users/42/", "/"),
    ("/users/:id/...", "/users/42/hello", "/hello"),
    ("/users/:id/...", "/users/42/hello/", "/hello/"),
    ("/...", "/", "/"),
    ("/...", "/a", "/a"),
    ("/...", "/a/", "/a/"),
    ("/...", "/1/2/3", "/1/2/3"),
    ("/1/...", "/1/2/3", "/2/3"),
    ("/test/...", "/test", ""),
    ("/test/...", "/test/", "/"),
    ("/test/...", "/test/hello", "/hello"),
    ("/test/...", "/test/hello/", "/hello/"),
    ("/test/...", "/test/a%20b/c", "/a%20b/c"),
    ("/test", "/test", ""),
    ("/test", "/test/", ""),
    ("/users/:id", "/users/42", ""),
]


@pytest.mark.parametrize(("route", "path", "path_info"), PATH_INFO)
def test_path_info(route: str, path: str, path_info: str) -> None:
    assert _match(_router(route), path).path_info == path_info


# (route as written, request path, route, component_route, is_wildcard, params)
MATCH_FIELDS = [
    ("/cart", "/cart", "/cart", "/cart", False, ()),
    ("cart/", "/cart", "/cart", "/cart", False, ()),
    ("/", "/", "/", "/", False, ()),
    ("/...", "/x", "/...", "", True, ()),
    ("/users/:id/...", "/users/42/x", "/users/:id/...", "/users/:id", True, (("id", "42"),)),
    (
        "/users/:UserId/edit",
        "/users/A7/edit",
        "/users/:UserId/edit",
        "/users/:UserId/edit",
        False,
        (("userid", "A7"),),
    ),
    ("/a/:x/b/:y", "/a/1/b/2", "/a/:x/b/:y", "/a/:x/b/:y", False, (("x", "1"), ("y", "2"))),
    ("/files/*", "/files/a", "/files/*", "/files/*", True, ()),
]


@pytest.mark.parametrize(
    ("written", "path", "route", "component_route", "wildcard", "params"), MATCH_FIELDS
)
def test_match_fields(
    written: str,
    path: str,
    route: str,
    component_route: str,
    wildcard: bool,
    params: tuple[tuple[str, str], ...],
) -> None:
    m = _match(_router(written), path)
    assert (m.route, m.component_route, m.is_wildcard, m.params, m.raw_route) == (
        route,
        component_route,
        wildcard,
        params,
        written,
    )


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("/", "/"),
        ("", "/"),
        ("cart", "/cart"),
        ("/cart/", "/cart"),
        ("/cart//", "/cart/"),
        ("/users/...", "/users/..."),
        ("a/:b/", "/a/:b"),
    ],
)
def test_normalize_route(written: str, normalized: str) -> None:
    assert normalize_route(written) == normalized


def test_duplicates_last_wins_with_one_error_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="spin_py.routing")
    router = Router.build(
        [
            HttpTrigger(id="root", route="/"),
            HttpTrigger(id="first", route="/foo"),
            HttpTrigger(id="second", route="/foo/"),
            HttpTrigger(id="wild-a", route="/w/..."),
            HttpTrigger(id="param-a", route="/u/:id"),
            HttpTrigger(id="param-b", route="/u/:name"),
            HttpTrigger(id="wild-b", route="/w/..."),
        ]
    )
    assert _match(router, "/foo").trigger.id == "second"
    assert _match(router, "/w/x").trigger.id == "wild-b"
    assert _match(router, "/u/1").params == (("name", "1"),)
    # the winner keeps the first one's place in the listing
    assert [(t.id, r) for t, r, _ in router.routes()] == [
        ("root", "/"),
        ("second", "/foo"),
        ("wild-b", "/w/..."),
        ("param-b", "/u/:name"),
    ]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    for unused in ("'first'", "'wild-a'", "'param-a'", "/foo", "/w/...", "/u/:id"):
        assert unused in message
    assert errors[0].name == "spin_py.routing"


def test_no_duplicates_no_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="spin_py.routing")
    _router("/", "/foo", "/bar", "/whee/...", "/whee", None, None)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_private_triggers_are_not_listed() -> None:
    router = _router("/", None, "/whee/...")
    assert [(t.id, r, w) for t, r, w in router.routes()] == [
        ("t0", "/", False),
        ("t2", "/whee/...", True),
    ]


def test_reserved_route_logs_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="spin_py.routing")
    router = _router("/.well-known/spin/fie", "/.well-known/spindle/...", "/.well-known/spin")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "/.well-known/spin/fie" in message
    assert "spindle" not in message
    assert "'t2'" not in message
    assert WELL_KNOWN_PREFIX == "/.well-known/spin/"
    # still routable as far as the router is concerned; the server answers these first
    assert _match(router, "/.well-known/spin/fie").trigger.id == "t0"


def test_unnamed_param_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="'bad'"):
        Router.build([HttpTrigger(id="bad", route="/users/:/edit")])


def test_for_chained_is_a_wildcard_match_on_the_whole_path() -> None:
    trigger = HttpTrigger(id="backend", route=None, component="backend")
    m = RouteMatch.for_chained(trigger, "/api/items/")
    assert m == RouteMatch(
        trigger=trigger,
        route="/...",
        path_info="/api/items/",
        params=(),
        component_route="",
        is_wildcard=True,
        raw_route="/...",
    )


def test_query_string_is_not_part_of_the_path() -> None:
    # the server strips the query; a literal `?` in the path is just a character
    assert _router("/cart").route("/cart?x=1") is None
