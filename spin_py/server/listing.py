"""The startup route listing printed once the socket is bound (tests and tools wait for it).

Plain, as Spin prints it:

    Serving http://127.0.0.1:3000
    Available Routes:
      hello: http://127.0.0.1:3000/hello
      api: http://127.0.0.1:3000/api (wildcard)

Each line is keyed by the component id, or the trigger id for a static response. A wildcard route
is shown without its `/...` (route `/...` shows the bare base URL), the wildcard being marked
by the ` (wildcard)` suffix. Private routes are not listed.

JSON (`--format json`), one object on one line:

    {"url": "http://127.0.0.1:3000",
     "routes": [{"id": "hello", "route": "/hello", "url": "http://127.0.0.1:3000/hello",
                 "wildcard": false}, ...]}

where `route` is the route as the router normalized it and `url` is the shown URL without the
` (wildcard)` suffix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from spin_py.manifest.model import HttpTrigger
from spin_py.routing import Router

WILDCARD_SUFFIXES = ("/...", "/*")


@dataclass(frozen=True)
class ListedRoute:
    """One line of the listing."""

    id: str
    route: str
    url: str
    wildcard: bool


def listed_routes(base_url: str, router: Router) -> list[ListedRoute]:
    """The router's public routes in declaration order, with their URLs."""
    return [
        ListedRoute(_listing_id(trigger), route, _route_url(base_url, route, wildcard), wildcard)
        for trigger, route, wildcard in router.routes()
    ]


def render_plain(base_url: str, routes: list[ListedRoute]) -> str:
    """The listing as Spin prints it (ends with a newline)."""
    lines = [f"Serving {base_url}", "Available Routes:"]
    for route in routes:
        suffix = " (wildcard)" if route.wildcard else ""
        lines.append(f"  {route.id}: {route.url}{suffix}")
    return "\n".join(lines) + "\n"


def render_json(base_url: str, routes: list[ListedRoute]) -> str:
    """The listing as one JSON object on one line (ends with a newline)."""
    return json.dumps({"url": base_url, "routes": [asdict(r) for r in routes]}) + "\n"


def render_listing(base_url: str, router: Router, output_format: str) -> str:
    """The whole listing of `router`'s routes at `base_url`: JSON for `--format json`, else
    plain."""
    render = render_json if output_format == "json" else render_plain
    return render(base_url, listed_routes(base_url, router))


def _listing_id(trigger: HttpTrigger) -> str:
    return trigger.component if trigger.component is not None else trigger.id


def _route_url(base_url: str, route: str, wildcard: bool) -> str:
    if wildcard:
        for suffix in WILDCARD_SUFFIXES:
            route = route.removesuffix(suffix)
        return base_url + route.rstrip("/")
    return base_url + (route or "/")
