"""The config component: shows its resolved variables, except secrets (Spin Python SDK 3.4.1).

- ``GET /config``: ``200 application/json`` ``{"variables": {name: value, ...}, "hidden":
  [name, ...]}``, every component variable from ``wasi:config/store`` ``get-all`` except the
  ones named in the component variable ``secret_names`` (comma-separated; listed in
  ``hidden`` by name only) and ``secret_names`` itself;
- ``GET /config/<name>``: one variable through ``fermyon:spin/variables`` ``get``: ``200``
  with its value as text, ``403`` if it is one of ``secret_names``, ``404`` if the component
  has no such variable, ``500`` with the error otherwise.

The component cannot know which application variables the manifest marks ``secret = true``;
``secret_names`` tells it which of its own variables carry them.
"""

import json
from urllib.parse import unquote, urlparse

from spin_sdk import http, variables
from spin_sdk.http import Request, Response
from spin_sdk.wit.imports import wasi_config_store
from spin_sdk.wit.imports.variables import Error_Undefined
from spin_sdk.wit.types import Err

SECRET_NAMES = "secret_names"
JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain; charset=utf-8"}


def text_response(status: int, text: str) -> Response:
    return Response(status, TEXT, text.encode())


def describe(error: object) -> str:
    name = type(error).__name__.split("_", 1)[-1]
    detail = getattr(error, "value", None)
    return f"{name}: {detail}" if detail else name


def secret_names() -> set[str]:
    """The names listed in ``secret_names`` (none if the component has no such variable)."""
    listed = wasi_config_store.get(SECRET_NAMES) or ""
    return {name.strip() for name in listed.split(",") if name.strip()}


def show_all() -> Response:
    hidden = secret_names()
    shown = {
        name: value
        for name, value in wasi_config_store.get_all()
        if name not in hidden and name != SECRET_NAMES
    }
    body = {"variables": shown, "hidden": sorted(hidden)}
    return Response(200, JSON, json.dumps(body).encode())


def show_one(name: str) -> Response:
    if name in secret_names():
        return text_response(403, f"{name} is secret")
    try:
        return text_response(200, variables.get(name))
    except Err as err:
        if isinstance(err.value, Error_Undefined):
            return text_response(404, describe(err.value))
        raise


class IncomingHandler(http.IncomingHandler):
    """Shows the component's variables."""

    def handle_request(self, request: Request) -> Response:
        parts = [unquote(p) for p in urlparse(request.uri).path.split("/") if p]
        try:
            if len(parts) <= 1:
                return show_all()
            return show_one(parts[1])
        except Err as err:
            return text_response(500, describe(err.value))
