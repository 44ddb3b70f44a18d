"""The platform-probe component: runs Spin platform API calls a test describes, in order.

Test-only (Spin Python SDK 3.4.1). ``POST`` a JSON list of calls, each ``[op, args...]``; the
answer is ``200 application/json``, one result per call:

- ``{"ok": value}``: bytes as ``{"hex": ...}``, SQL values as ``{"integer": 1}`` (``real``,
  ``text``, ``blob`` (hex), ``null``), query results as ``{"columns", "rows"}``;
- ``{"err": case, "payload": ...}`` for an error value (``payload``: the case's message, or a
  nested error for ``store-error``);
- ``{"exception": text}`` for anything else (a probe bug).

Handles live for the request only; calls name them. Ops (``h``: a handle name):

- ``fermyon:spin/key-value``: ``kv.open h label``, ``kv.get h key``, ``kv.set h key text``,
  ``kv.delete h key``, ``kv.exists h key``, ``kv.get_keys h``, ``kv.close h``;
- ``wasi:keyvalue``: ``wkv.open h label``, ``wkv.get|set|delete|exists`` as above,
  ``wkv.list_keys h cursor``, ``wkv.increment h key delta``, ``wkv.cas_new c h key``,
  ``wkv.cas_current c``, ``wkv.swap c text`` (``cas-failed`` stores the fresh cas as ``c``),
  ``wkv.get_many h [keys]``, ``wkv.set_many h [[key, text]]``, ``wkv.delete_many h [keys]``;
- SQLite (``sql2`` = fermyon:spin/sqlite@2.0.0, ``sql3`` = spin:sqlite/sqlite@3.0.0):
  ``sqlN.open h label``, ``sqlN.execute h statement [params]`` (JSON int/float/str/null, or
  ``{"hex": ...}`` for a blob), ``sqlN.close h``, ``sql3.last_insert_rowid h``, ``sql3.changes h``;
- variables: ``var.get name`` (fermyon), ``cfg.get key``, ``cfg.get_all`` (wasi:config).
"""

import json
import re

from spin_sdk import http
from spin_sdk.http import Request, Response
from spin_sdk.wit.imports import (
    atomics,
    batch,
    key_value,
    spin_sqlite_sqlite,
    variables,
    wasi_config_store,
    wasi_keyvalue_store,
)
from spin_sdk.wit.types import Err

# componentize-py names the fermyon:spin/sqlite@2.0.0 bindings `fermyon_spin_sqlite` when it
# regenerates them at build time (the SDK's pre-generated copy calls them `sqlite`).
try:
    from spin_sdk.wit.imports import fermyon_spin_sqlite as sqlite
except ImportError:
    from spin_sdk.wit.imports import sqlite  # type: ignore[no-redef]

SQL = {"sql2": sqlite, "sql3": spin_sqlite_sqlite}


def kebab(name: str) -> str:
    """``Error_NoSuchStore`` -> ``no-such-store``."""
    case = name.split("_", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "-", case).lower()


def encode(value: object) -> object:
    """A result value as JSON."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if hasattr(value, "columns") and hasattr(value, "rows"):
        return {"columns": list(value.columns), "rows": [encode(r.values) for r in value.rows]}
    name = type(value).__name__
    if name.startswith("Value_"):
        inner = getattr(value, "value", None)
        return {kebab(name): encode(inner) if inner is not None else None}
    if name == "KeyResponse":
        return {"keys": list(value.keys), "cursor": value.cursor}
    return value


def error(value: object) -> dict:
    payload = getattr(value, "value", None)
    if type(payload).__name__.startswith("Error_"):
        payload = error(payload)
    elif payload is not None and not isinstance(payload, str):
        payload = type(payload).__name__
    return {"err": kebab(type(value).__name__), "payload": payload}


def sql_param(module: object, value: object) -> object:
    if value is None:
        return module.Value_Null()
    if isinstance(value, int):
        return module.Value_Integer(int(value))
    if isinstance(value, float):
        return module.Value_Real(value)
    if isinstance(value, str):
        return module.Value_Text(value)
    return module.Value_Blob(bytes.fromhex(value["hex"]))


class Probe:
    """The handles of one request, and the ops."""

    def __init__(self) -> None:
        self.handles: dict = {}

    def run(self, op: str, args: list) -> object:
        family, _, name = op.partition(".")
        if family in SQL:
            return self.sql(SQL[family], name, args)
        return getattr(self, f"{family}_{name}")(*args)

    # fermyon:spin/key-value
    def kv_open(self, h: str, label: str) -> None:
        self.handles[h] = key_value.Store.open(label)

    def kv_get(self, h: str, key: str) -> object:
        return self.handles[h].get(key)

    def kv_set(self, h: str, key: str, text: str) -> None:
        self.handles[h].set(key, text.encode())

    def kv_delete(self, h: str, key: str) -> None:
        self.handles[h].delete(key)

    def kv_exists(self, h: str, key: str) -> bool:
        return self.handles[h].exists(key)

    def kv_get_keys(self, h: str) -> list:
        return self.handles[h].get_keys()

    def kv_close(self, h: str) -> None:
        self.handles.pop(h).__exit__(None, None, None)

    # wasi:keyvalue
    def wkv_open(self, h: str, label: str) -> None:
        self.handles[h] = wasi_keyvalue_store.open(label)

    wkv_get = kv_get
    wkv_set = kv_set
    wkv_delete = kv_delete
    wkv_exists = kv_exists
    wkv_close = kv_close

    def wkv_list_keys(self, h: str, cursor: object = None) -> object:
        return self.handles[h].list_keys(cursor)

    def wkv_increment(self, h: str, key: str, delta: int) -> int:
        return atomics.increment(self.handles[h], key, delta)

    def wkv_cas_new(self, c: str, h: str, key: str) -> None:
        self.handles[c] = atomics.Cas.new(self.handles[h], key)

    def wkv_cas_current(self, c: str) -> object:
        return self.handles[c].current()

    def wkv_swap(self, c: str, text: str) -> None:
        cas = self.handles.pop(c)
        try:
            atomics.swap(cas, text.encode())
        except Err as err:
            if isinstance(err.value, atomics.CasError_CasFailed):
                self.handles[c] = err.value.value
            raise

    def wkv_get_many(self, h: str, keys: list) -> list:
        return [[k, v] for k, v in batch.get_many(self.handles[h], keys)]

    def wkv_set_many(self, h: str, pairs: list) -> None:
        batch.set_many(self.handles[h], [(k, v.encode()) for k, v in pairs])

    def wkv_delete_many(self, h: str, keys: list) -> None:
        batch.delete_many(self.handles[h], keys)

    # SQLite, both versions
    def sql(self, module: object, name: str, args: list) -> object:
        if name == "open":
            self.handles[args[0]] = module.Connection.open(args[1])
            return None
        conn = self.handles[args[0]]
        if name == "execute":
            params = [sql_param(module, v) for v in (args[2] if len(args) > 2 else [])]
            return conn.execute(args[1], params)
        if name == "close":
            self.handles.pop(args[0]).__exit__(None, None, None)
            return None
        return getattr(conn, name)()

    # variables
    def var_get(self, name: str) -> str:
        return variables.get(name)

    def cfg_get(self, key: str) -> object:
        return wasi_config_store.get(key)

    def cfg_get_all(self) -> list:
        return [[k, v] for k, v in wasi_config_store.get_all()]


def run_all(calls: list) -> list:
    probe = Probe()
    results = []
    for call in calls:
        try:
            results.append({"ok": encode(probe.run(call[0], list(call[1:])))})
        except Err as err:
            results.append(error(err.value))
        except Exception as exc:
            results.append({"exception": f"{type(exc).__name__}: {exc}"})
    return results


class IncomingHandler(http.IncomingHandler):
    """Runs the posted calls."""

    def handle_request(self, request: Request) -> Response:
        try:
            calls = json.loads(request.body or b"[]")
        except ValueError as exc:
            return Response(400, {"content-type": "text/plain"}, str(exc).encode())
        body = json.dumps(run_all(calls)).encode()
        return Response(200, {"content-type": "application/json"}, body)
