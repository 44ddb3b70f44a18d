"""The todo component: a JSON CRUD API over SQLite (Spin Python SDK 3.4.1, spin:sqlite@3.0.0).

Routes (the manifest maps ``/todo`` and ``/todo/:id`` here):

- ``GET /todo``: ``200`` with ``[{"id", "title", "done"}, ...]`` in id order;
- ``POST /todo`` with ``{"title": str, "done"?: bool}``: ``201`` with the new item;
- ``GET /todo/<id>``: ``200`` with the item, ``404`` if there is none;
- ``PUT /todo/<id>`` with ``{"title"?: str, "done"?: bool}``: ``200`` with the updated item;
- ``DELETE /todo/<id>``: ``204``.

An unknown id is ``404``, a body that is not such JSON ``400``, another method ``405``. The
table ``todos`` is created in the database ``default`` on first use. A database error (such as
``access-denied``) is ``500`` with the error as the body.
"""

import json
from urllib.parse import urlparse

from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.imports import spin_sqlite_sqlite as sqlite
from spin_sdk.wit.types import Err

DATABASE = "default"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS todos ("
    "id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)"
)
JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain; charset=utf-8"}


class BadRequest(Exception):
    """The request body is not what the route expects."""


def json_response(status: int, value: object) -> Response:
    return Response(status, JSON, json.dumps(value).encode())


def text_response(status: int, text: str) -> Response:
    return Response(status, TEXT, text.encode())


def plain(value: object) -> object:
    """The Python value inside a WIT ``value`` case (``Value_Integer(3)`` -> ``3``)."""
    return getattr(value, "value", None)


def item(row: sqlite.RowResult) -> dict:
    todo_id, title, done = (plain(v) for v in row.values)
    return {"id": todo_id, "title": title, "done": bool(done)}


def parse_body(request: Request, *, create: bool) -> dict:
    """The JSON object of the body, checked: ``title`` a non-empty string (required on create),
    ``done`` a boolean."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    if create and "title" not in body:
        raise BadRequest('"title" is required')
    if "title" in body and (not isinstance(body["title"], str) or not body["title"]):
        raise BadRequest('"title" must be a non-empty string')
    if "done" in body and not isinstance(body["done"], bool):
        raise BadRequest('"done" must be true or false')
    return body


class Todos:
    """The ``todos`` table over one connection."""

    def __init__(self, conn: sqlite.Connection) -> None:
        self.conn = conn
        conn.execute(SCHEMA, [])

    def all(self) -> list:
        result = self.conn.execute("SELECT id, title, done FROM todos ORDER BY id", [])
        return [item(row) for row in result.rows]

    def get(self, todo_id: int) -> dict | None:
        result = self.conn.execute(
            "SELECT id, title, done FROM todos WHERE id = ?", [sqlite.Value_Integer(todo_id)]
        )
        return item(result.rows[0]) if result.rows else None

    def create(self, title: str, done: bool) -> dict:
        params = [sqlite.Value_Text(title), sqlite.Value_Integer(int(done))]
        self.conn.execute("INSERT INTO todos (title, done) VALUES (?, ?)", params)
        return {"id": self.conn.last_insert_rowid(), "title": title, "done": done}

    def update(self, todo_id: int, changes: dict) -> bool:
        current = self.get(todo_id)
        if current is None:
            return False
        title = changes.get("title", current["title"])
        done = changes.get("done", current["done"])
        params = [sqlite.Value_Text(title), sqlite.Value_Integer(int(done))]
        params.append(sqlite.Value_Integer(todo_id))
        self.conn.execute("UPDATE todos SET title = ?, done = ? WHERE id = ?", params)
        return self.conn.changes() == 1

    def delete(self, todo_id: int) -> bool:
        self.conn.execute("DELETE FROM todos WHERE id = ?", [sqlite.Value_Integer(todo_id)])
        return self.conn.changes() == 1


def route(request: Request) -> tuple[str, int | None]:
    """(``collection`` | ``item`` | ``unknown``, id) from the request path."""
    parts = [p for p in urlparse(request.uri).path.split("/") if p]
    if len(parts) == 1:
        return "collection", None
    if len(parts) == 2 and parts[1].isdigit():
        return "item", int(parts[1])
    return "unknown", None


def serve(request: Request, todos: Todos) -> Response:
    kind, todo_id = route(request)
    method = request.method.upper()
    if kind == "collection":
        if method == "GET":
            return json_response(200, todos.all())
        if method == "POST":
            body = parse_body(request, create=True)
            return json_response(201, todos.create(body["title"], body.get("done", False)))
        return text_response(405, "method not allowed")
    if kind != "item" or todo_id is None:
        return text_response(404, "not found")
    if method == "GET":
        found = todos.get(todo_id)
        return json_response(200, found) if found else text_response(404, "not found")
    if method == "PUT":
        if not todos.update(todo_id, parse_body(request, create=False)):
            return text_response(404, "not found")
        return json_response(200, todos.get(todo_id))
    if method == "DELETE":
        return Response(204, {}, b"") if todos.delete(todo_id) else text_response(404, "not found")
    return text_response(405, "method not allowed")


class IncomingHandler(http.IncomingHandler):
    """The todo API."""

    def handle_request(self, request: Request) -> Response:
        try:
            with sqlite.Connection.open(DATABASE) as conn:
                return serve(request, Todos(conn))
        except BadRequest as exc:
            return text_response(400, str(exc))
        except Err as err:
            error = err.value
            name = type(error).__name__.split("_", 1)[-1]
            detail = getattr(error, "value", None)
            return text_response(500, f"{name}: {detail}" if detail else name)
