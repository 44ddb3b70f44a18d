"""attack: a guest that attacks its host, for spin-py's security tests (Spin Python SDK 3.4.1).

Test-only. Each route is one attack from ``tests/security/README.md``; the route is the last
segment of the request path, parameters are in the query. Answers are ``200 application/json``
describing what the guest saw, so a test can tell "the host refused" from "the attack worked":
``{"ok": ...}`` for a call that succeeded, ``{"err": case, "payload": text}`` for an error value.

- ``POST .../sql?db=<label>``: runs the body as one statement on the SQLite database ``label``
  (default ``default``) with ``spin:sqlite/sqlite@3.0.0``; ``ok`` is ``{"columns", "rows"}``
  (values as JSON, blobs as their length).
- ``.../kv-set?size=N[&api=spin|wasi]``: stores an ``N``-byte value under the key ``big`` of
  the key-value store ``default`` (``fermyon:spin/key-value``, or ``wasi:keyvalue/store``);
  ``ok`` is the length read back.
- ``.../kv-get?key=K``: the length of the value of ``K`` in the store ``default`` (``ok``), or
  ``null`` when there is none.
- ``.../loop?mode=self|chain[&n=K]``: calls itself again with ``n=K+1``, as a self request
  (relative URL) or through ``http://attack.spin.internal``; when a call fails the answer is
  ``{"depth": K, "err": case}``, otherwise the inner answer is passed on. ``hold_ms=M`` makes
  every level sleep ``M`` ms before calling the next one.
- ``.../fanout?mode=self|chain&width=W&depth=D[&n=K][&hold_ms=M]``: below depth ``D`` sends
  ``W`` requests to itself at once (``n=K+1``), as self requests or through
  ``attack.spin.internal``, and waits for all of them; at depth ``D`` sleeps ``M`` ms and counts
  as one leaf. Answers ``{"leaves": L, "errors": {case: count}, "statuses": {status: count}}``
  summed over the whole tree (errors and non-200 statuses of every level).
- ``.../hoard?n=N&entries=E&vlen=L[&keep=0]``: builds a ``fields`` of ``E`` entries with
  ``L``-byte values and makes ``N`` clones of it, holding every clone (``keep=0``: dropping
  each at once); ``ok`` is ``N``. With ``entries=0`` the clones are empty (many small handles).
- ``.../alloc?mb=N``: grows the guest's memory by ``N`` MiB (touching every page).
- ``.../read-all``: the SDK reads the whole request body; answers its length.
- ``.../status?code=N``: answers with status ``N`` and an empty body.
- ``.../file?path=P``: reads the file ``P`` from the component's mounted files; ``ok`` is the
  text, an ``OSError`` is ``{"err": "os", "payload": ...}``.
- ``.../big?mb=N``: a ``200`` whose body is ``N`` MiB of ``b``, written 4 KiB at a time.
- ``.../trap``: raises inside ``handle`` (componentize-py prints the traceback to stderr and
  traps).
- ``.../respond-then-spin``: sends a complete ``200`` response (body ``done``), then busy-loops
  forever (work after the response).
- ``.../fetch?url=U``: sends ``GET U`` and answers ``{"ok": status}``, ``{"err": case}`` for
  an error code, or ``{"err": "refused-by-setter"}`` when a request setter (e.g.
  ``set-authority``) refused the URL.
- ``.../forward?mode=self|chain&to=<route>``: requests ``/<route>`` as a self request or
  through ``attack.spin.internal`` and answers ``{"ok": status}`` (or ``{"err": case}``).
- ``.../spin?ms=N``: busy-loops for ``N`` ms (default: forever) in the guest.
- ``.../print?lines=N&size=S``: writes ``N`` lines of ``S`` bytes to stdout.
"""

import asyncio
import json
import sys
import time
from urllib.parse import parse_qs

from spin_sdk import http
from spin_sdk.http import Request, Response, send_async
from spin_sdk.http.poll_loop import PollLoop
from spin_sdk.wit.imports import key_value, spin_sqlite_sqlite, wasi_keyvalue_store
from spin_sdk.wit.imports.types import Fields, OutgoingBody, OutgoingResponse, ResponseOutparam
from spin_sdk.wit.types import Err, Ok

JSON = {"content-type": "application/json"}
SELF_ID = "attack"


def answer(value: object, status: int = 200) -> Response:
    return Response(status, dict(JSON), json.dumps(value).encode())


def case_name(value: object) -> str:
    """``ErrorCode_LoopDetected`` -> ``LoopDetected``; ``Error_Io`` -> ``Io``."""
    return type(value).__name__.split("_", 1)[-1]


def error(err: Err) -> dict:
    payload = getattr(err.value, "value", None)
    return {"err": case_name(err.value), "payload": payload if isinstance(payload, str) else None}


def sql_value(value: object) -> object:
    inner = getattr(value, "value", None)
    if isinstance(inner, bytes):
        return {"blob": len(inner)}
    return inner


def run_sql(query: dict, body: bytes) -> Response:
    try:
        with spin_sqlite_sqlite.Connection.open(query.get("db", "default")) as conn:
            result = conn.execute(body.decode(), [])
    except Err as err:
        return answer(error(err))
    rows = [[sql_value(v) for v in row.values] for row in result.rows]
    return answer({"ok": {"columns": list(result.columns), "rows": rows}})


def kv_set(query: dict) -> Response:
    size = int(query.get("size", "0"))
    value = b"v" * size
    try:
        if query.get("api", "spin") == "wasi":
            with wasi_keyvalue_store.open("default") as bucket:
                bucket.set("big", value)
                got = bucket.get("big")
        else:
            with key_value.Store.open("default") as store:
                store.set("big", value)
                got = store.get("big")
    except Err as err:
        return answer(error(err))
    return answer({"ok": len(got or b"")})


def kv_get(query: dict) -> Response:
    try:
        with key_value.Store.open("default") as store:
            got = store.get(query.get("key", "big"))
    except Err as err:
        return answer(error(err))
    return answer({"ok": None if got is None else len(got)})


def loop(query: dict) -> Response:
    depth = int(query.get("n", "0"))
    mode = query.get("mode", "self")
    hold_ms = int(query.get("hold_ms", "0"))
    if hold_ms:
        time.sleep(hold_ms / 1000)
    path = f"/loop?mode={mode}&n={depth + 1}&hold_ms={hold_ms}"
    url = path if mode == "self" else f"http://{SELF_ID}.spin.internal{path}"
    try:
        inner = http.send(Request("GET", url, {}, None))
    except Err as err:
        return answer({"depth": depth, "err": case_name(err.value)})
    if inner.status != 200:
        return answer({"depth": depth, "status": inner.status})
    return Response(200, dict(JSON), inner.body)


def fanout(query: dict) -> Response:
    depth = int(query.get("n", "0"))
    last = int(query.get("depth", "1"))
    mode = query.get("mode", "chain")
    hold_ms = int(query.get("hold_ms", "0"))
    total = {"leaves": 0, "errors": {}, "statuses": {}}
    if depth >= last:
        time.sleep(hold_ms / 1000)
        total["leaves"] = 1
        return answer(total)
    path = (
        f"/fanout?mode={mode}&n={depth + 1}&depth={last}&hold_ms={hold_ms}"
        f"&width={query.get('width', '2')}"
    )
    url = path if mode == "self" else f"http://{SELF_ID}.spin.internal{path}"

    async def all_at_once() -> list:
        sends = [
            send_async(Request("GET", url, {}, None)) for _ in range(int(query.get("width", "2")))
        ]
        return await asyncio.gather(*sends, return_exceptions=True)

    loop = PollLoop()
    asyncio.set_event_loop(loop)
    for result in loop.run_until_complete(all_at_once()):
        if isinstance(result, Err):
            case = case_name(result.value)
            total["errors"][case] = total["errors"].get(case, 0) + 1
        elif isinstance(result, BaseException):
            total["errors"][type(result).__name__] = (
                total["errors"].get(type(result).__name__, 0) + 1
            )
        elif result.status != 200:
            key = str(result.status)
            total["statuses"][key] = total["statuses"].get(key, 0) + 1
        else:
            inner = json.loads(result.body)
            total["leaves"] += inner["leaves"]
            for kind in ("errors", "statuses"):
                for key, count in inner[kind].items():
                    total[kind][key] = total[kind].get(key, 0) + count
    return answer(total)


def hoard(query: dict) -> Response:
    value = b"v" * int(query.get("vlen", "0"))
    entries = [(f"x{i}", value) for i in range(int(query.get("entries", "1")))]
    source = Fields.from_list(entries)
    keep = query.get("keep", "1") != "0"
    held = []
    for _ in range(int(query.get("n", "1"))):
        clone = source.clone()
        if keep:
            held.append(clone)
        else:
            clone.__exit__(None, None, None)  # drops the handle now
    return answer({"ok": int(query.get("n", "1"))})


def forward(query: dict) -> Response:
    path = "/" + query.get("to", "status")
    url = path if query.get("mode", "self") == "self" else f"http://{SELF_ID}.spin.internal{path}"
    try:
        inner = http.send(Request("GET", url, {}, None))
    except Err as err:
        return answer({"err": case_name(err.value)})
    return answer({"ok": inner.status})


def fetch(query: dict) -> Response:
    try:
        inner = http.send(Request("GET", query.get("url", "/"), {}, None))
    except Err as err:
        case = "refused-by-setter" if err.value is None else case_name(err.value)
        return answer({"err": case})
    return answer({"ok": inner.status})


def respond_then_spin(response_out: ResponseOutparam) -> None:
    response = OutgoingResponse(Fields.from_list([("content-length", b"4")]))
    response.set_status_code(200)
    body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    with body.write() as stream:
        stream.blocking_write_and_flush(b"done")
    OutgoingBody.finish(body, None)
    n = 0
    while True:
        n += 1


def alloc(query: dict) -> Response:
    size = int(query.get("mb", "1")) * 1024 * 1024
    block = bytearray(size)
    for i in range(0, size, 4096):
        block[i] = 1
    return answer({"ok": len(block)})


def read_file(query: dict) -> Response:
    try:
        with open(query.get("path", ""), encoding="utf-8", errors="replace") as handle:
            return answer({"ok": handle.read()})
    except OSError as exc:
        return answer({"err": "os", "payload": f"{type(exc).__name__}: {exc}"})


def busy(query: dict) -> Response:
    ms = query.get("ms")
    until = None if ms is None else time.monotonic() + int(ms) / 1000
    n = 0
    while until is None or time.monotonic() < until:
        n += 1
    return answer({"ok": n})


def print_lines(query: dict) -> Response:
    line = "x" * int(query.get("size", "100"))
    for _ in range(int(query.get("lines", "1"))):
        print(line)
    sys.stdout.flush()
    return answer({"ok": True})


class IncomingHandler(http.IncomingHandler):
    """Dispatches on the last path segment."""

    def handle_request(self, request: Request) -> Response:
        path, _, raw_query = request.uri.partition("?")
        query = {name: values[-1] for name, values in parse_qs(raw_query).items()}
        route = path.rstrip("/").rsplit("/", 1)[-1]
        if route == "sql":
            return run_sql(query, request.body or b"")
        if route == "kv-set":
            return kv_set(query)
        if route == "kv-get":
            return kv_get(query)
        if route == "loop":
            return loop(query)
        if route == "hoard":
            return hoard(query)
        if route == "fanout":
            return fanout(query)
        if route == "alloc":
            return alloc(query)
        if route == "read-all":
            return answer({"ok": len(request.body or b"")})
        if route == "status":
            return Response(int(query.get("code", "200")), {}, b"")
        if route == "file":
            return read_file(query)
        if route == "spin":
            return busy(query)
        if route == "print":
            return print_lines(query)
        if route == "forward":
            return forward(query)
        if route == "fetch":
            return fetch(query)
        if route == "big":
            return Response(200, {}, b"b" * (int(query.get("mb", "1")) * 1024 * 1024))
        return Response(404, {}, b"")

    def handle(self, request, response_out) -> None:  # type: ignore[no-untyped-def]
        """``/trap`` and ``/respond-then-spin`` run here, outside the SDK's buffered path."""
        path = (request.path_with_query() or "").partition("?")[0]
        if path.endswith("/trap"):
            raise RuntimeError("attack: trapping on purpose")
        if path.endswith("/respond-then-spin"):
            respond_then_spin(response_out)
            return
        super().handle(request, response_out)
