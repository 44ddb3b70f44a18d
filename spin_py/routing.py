"""Map a request path to the HTTP trigger that handles it, the way Spin does.

Route forms: exact (`/cart`), named segments (`/users/:id/edit`), a trailing wildcard
(`/users/...`, with `/*` accepted as an alias) and combinations (`/users/:id/...`). When several
routes match, they are compared segment by segment: an exact segment beats a `:param`, which beats
the wildcard, so the longest wildcard prefix wins whatever the declaration order.

Routes are normalized (leading `/` added, one trailing `/` stripped). A request path may carry one
extra trailing `/`. The reserved `/.well-known/spin/` paths are the server's business; this module
only names the prefix and warns about app routes under it. Pure: no I/O besides logging.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal

from spin_py.errors import ManifestError
from spin_py.manifest.model import HttpTrigger

__all__ = ["WELL_KNOWN_PREFIX", "RouteMatch", "Router", "normalize_route"]

WELL_KNOWN_PREFIX = "/.well-known/spin/"
"""Paths under this prefix are answered by the server itself, before app routes."""

WILDCARD_SUFFIX = "/..."
_ALT_WILDCARD_SUFFIX = "/*"

_log = logging.getLogger(__name__)

# Segment ranks: a higher tuple wins. `_END` closes an exact route so that it beats a wildcard
# that matched nothing more (`/foo` over `/foo/...` for the path `/foo`).
_WILDCARD, _PARAM, _EXACT, _END = 0, 1, 2, 3

_Segment = tuple[Literal["exact", "param"], str]


@dataclass(frozen=True)
class RouteMatch:
    """The outcome of routing one request path.

    `route` is the normalized route (`/users/:id/...`), `raw_route` the route exactly as written
    in the manifest, `component_route` the route without its trailing `/...`, `path_info` the
    part of the request path matched by the trailing wildcard (`""` for other routes) and
    `params` the `:name` segment values in route order, names lower-cased.
    """

    trigger: HttpTrigger
    route: str
    path_info: str
    params: tuple[tuple[str, str], ...]
    component_route: str
    is_wildcard: bool
    raw_route: str

    @classmethod
    def for_chained(cls, trigger: HttpTrigger, path: str) -> RouteMatch:
        """The match for a service-chained request (`http://<id>.spin.internal/...`).

        Spin treats it as if the component's route were `/...`: the whole path (without query)
        is the path info. Private triggers are reachable this way.
        """
        return cls(
            trigger=trigger,
            route=WILDCARD_SUFFIX,
            path_info=path,
            params=(),
            component_route="",
            is_wildcard=True,
            raw_route=WILDCARD_SUFFIX,
        )


def normalize_route(route: str) -> str:
    """Add a missing leading `/` and strip one trailing `/` (except from `/` itself)."""
    if not route.startswith("/"):
        route = "/" + route
    if len(route) > 1 and route.endswith("/"):
        route = route[:-1]
    return route


@dataclass(frozen=True)
class _Route:
    """One routable trigger, parsed once at build time."""

    trigger: HttpTrigger
    raw: str
    route: str
    segments: tuple[_Segment, ...]
    wildcard: bool

    @property
    def rank(self) -> tuple[int, ...]:
        """Precedence key: segment ranks in order, then `_END` or `_WILDCARD`."""
        ranks = tuple(_EXACT if kind == "exact" else _PARAM for kind, _ in self.segments)
        return (*ranks, _WILDCARD if self.wildcard else _END)

    @property
    def shape(self) -> tuple[object, ...]:
        """What makes two routes the same route (parameter names do not)."""
        segs = tuple(value if kind == "exact" else ":" for kind, value in self.segments)
        return (*segs, self.wildcard)

    @property
    def is_plain(self) -> bool:
        """True for an exact route without parameters (served by a dict look-up)."""
        return not self.wildcard and all(kind == "exact" for kind, _ in self.segments)

    @property
    def component_route(self) -> str:
        return self.route.removesuffix(WILDCARD_SUFFIX)

    def match(self, path: str, segs: list[str]) -> RouteMatch | None:
        """Match the split request path `segs` (of the raw `path`), or return None."""
        n = len(self.segments)
        if len(segs) < n or (not self.wildcard and len(segs) != n):
            return None
        params: list[tuple[str, str]] = []
        for (kind, value), seg in zip(self.segments, segs, strict=False):
            if kind == "exact":
                if seg != value:
                    return None
            elif not seg:
                return None
            else:
                params.append((value, seg))
        path_info = path[sum(len(s) + 1 for s in segs[:n]) :] if self.wildcard else ""
        return self.to_match(path_info, tuple(params))

    def to_match(self, path_info: str, params: tuple[tuple[str, str], ...]) -> RouteMatch:
        return RouteMatch(
            trigger=self.trigger,
            route=self.route,
            path_info=path_info,
            params=params,
            component_route=self.component_route,
            is_wildcard=self.wildcard,
            raw_route=self.raw,
        )


def _parse(trigger: HttpTrigger, raw: str) -> _Route:
    """Parse one trigger's route; a `:` segment without a name is a manifest error."""
    route = normalize_route(raw)
    prefix, wildcard = route, False
    for suffix in (WILDCARD_SUFFIX, _ALT_WILDCARD_SUFFIX):
        if route.endswith(suffix):
            prefix, wildcard = route[: -len(suffix)], True
            break
    segments: list[_Segment] = []
    for seg in prefix.split("/")[1:] if prefix not in ("", "/") else []:
        if not seg.startswith(":"):
            segments.append(("exact", seg))
        elif len(seg) > 1:
            segments.append(("param", seg[1:].lower()))
        else:
            raise ManifestError(
                f"invalid route {raw!r} of trigger {trigger.id!r}: a ':' segment needs a name"
            )
    return _Route(trigger, raw, route, tuple(segments), wildcard)


def _split_path(path: str) -> list[str] | None:
    """Split a raw request path into segments, ignoring one trailing `/`."""
    if not path.startswith("/"):
        return None
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return [] if path == "/" else path[1:].split("/")


class Router:
    """Routes request paths to the public HTTP triggers of an app. Immutable once built."""

    def __init__(self, routes: Sequence[_Route]) -> None:
        self._routes = tuple(routes)
        self._plain = {r.route: r for r in self._routes if r.is_plain}
        # Best precedence first, so the first match is the best. Two routes of equal rank never
        # match the same path (they would have the same shape, which `build` deduplicates), and
        # the sort is stable, so declaration order still breaks any tie.
        patterns = (r for r in self._routes if not r.is_plain)
        self._patterns = tuple(sorted(patterns, key=attrgetter("rank"), reverse=True))

    @classmethod
    def build(cls, triggers: Sequence[HttpTrigger]) -> Router:
        """Build the router from the app's triggers, in declaration order.

        Private triggers are left out. When two triggers have the same route, the later one wins
        (keeping the earlier one's place in the listing) and one error-level log line names the
        triggers that will never be used. Routes under `WELL_KNOWN_PREFIX` log a warning.
        """
        by_shape: dict[tuple[object, ...], _Route] = {}
        replaced: list[tuple[_Route, _Route]] = []
        for trigger in triggers:
            if trigger.private or trigger.route is None:
                continue
            parsed = _parse(trigger, trigger.route)
            previous = by_shape.get(parsed.shape)
            if previous is not None:
                replaced.append((previous, parsed))
            by_shape[parsed.shape] = parsed
        _log_duplicates(replaced)
        router = cls(list(by_shape.values()))
        _log_reserved(router._routes)
        return router

    def route(self, path: str) -> RouteMatch | None:
        """The best match for a raw request path (no query string), or None (a 404)."""
        segs = _split_path(path)
        if segs is None:
            return None
        plain = self._plain.get("/" + "/".join(segs))
        if plain is not None:
            return plain.to_match("", ())
        for candidate in self._patterns:
            found = candidate.match(path, segs)
            if found is not None:
                return found
        return None

    def routes(self) -> list[tuple[HttpTrigger, str, bool]]:
        """`(trigger, normalized route, is_wildcard)` per routable trigger, in declaration order."""
        return [(r.trigger, r.route, r.wildcard) for r in self._routes]


def _log_duplicates(replaced: list[tuple[_Route, _Route]]) -> None:
    if not replaced:
        return
    details = "; ".join(
        f"{old.route} of trigger {old.trigger.id!r} (replaced by {new.route} of trigger "
        f"{new.trigger.id!r})"
        for old, new in replaced
    )
    _log.error("Duplicate routes: these will never be used: %s", details)


def _log_reserved(routes: Sequence[_Route]) -> None:
    reserved = [r for r in routes if r.route.startswith(WELL_KNOWN_PREFIX)]
    if reserved:
        listed = ", ".join(f"{r.route} (trigger {r.trigger.id!r})" for r in reserved)
        _log.warning(
            "Routes under %s are served by spin-py itself and will not be reachable: %s",
            WELL_KNOWN_PREFIX,
            listed,
        )
