"""The kv-counter component: counts requests in a key-value store (Spin Python SDK 3.4.1).

Every request atomically increments the key ``counter`` (``wasi:keyvalue/atomics`` increment,
so concurrent requests, even from several server processes, never lose an update) in the store
named by the component variable ``store`` (the manifest sets it from the application variable
``counter_store``, default ``default``), and answers ``200 text/plain`` with the new value.
A store the host refuses (``access-denied``, ``no-such-store``, ``other``) gives ``500`` with
the error case as the body.
"""

from spin_sdk import http, variables
from spin_sdk.http import Request, Response
from spin_sdk.wit.imports import atomics, wasi_keyvalue_store
from spin_sdk.wit.types import Err

KEY = "counter"
TEXT = {"content-type": "text/plain; charset=utf-8"}


def describe(error: object) -> str:
    """A store error as text: its case name, plus its message when it has one."""
    name = type(error).__name__.split("_", 1)[-1]
    message = getattr(error, "value", None)
    return f"{name}: {message}" if message else name


def store_label() -> str:
    """The store to count in: the component variable ``store``, else ``default``."""
    try:
        return variables.get("store")
    except Err:
        return "default"


class IncomingHandler(http.IncomingHandler):
    """Increments and returns the counter."""

    def handle_request(self, request: Request) -> Response:
        """Increment ``counter`` by one and answer the new value."""
        try:
            with wasi_keyvalue_store.open(store_label()) as bucket:
                value = atomics.increment(bucket, KEY, 1)
        except Err as err:
            return Response(500, TEXT, describe(err.value).encode())
        return Response(200, TEXT, str(value).encode())
