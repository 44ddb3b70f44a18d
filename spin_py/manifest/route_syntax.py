"""Syntax check of an HTTP trigger route as written in the manifest.

Routes are exact (`/cart`), end in a wildcard (`/users/...`, or the alias `/*`), have named
segments (`/users/:id`), or combine these (`/users/:id/...`). The router normalizes and matches
them; this module only rejects routes that could never mean what their author intended.
"""

from __future__ import annotations

from spin_py.manifest.diagnostics import quote

_WILDCARDS = ("...", "*")


def route_error(route: str) -> str | None:
    """Why `route` is not a valid route, or None if it is."""
    for ch in ("?", "#"):
        if ch in route:
            return f"invalid route {quote(route)}: a route cannot contain {ch!r}"
    segments = route.strip("/").split("/") if route.strip("/") else []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in _WILDCARDS and not last:
            return (
                f"invalid route {quote(route)}: the wildcard {quote(segment)} must be the last "
                "segment"
            )
        if segment.startswith(":") and len(segment) == 1:
            return f"invalid route {quote(route)}: a ':' segment needs a name (e.g. '/users/:id')"
    return None
