"""Host functions of `incoming-body`, `future-trailers`, `outgoing-body`, and the free function
`http-error-code`."""

from __future__ import annotations

from typing import Any

from wasmtime.component import Variant

from spin_py.host.linking import HostFunc
from spin_py.host.state import current
from spin_py.host.streams import IoError
from spin_py.host.table import Store
from spin_py.host.wit import none_tagged, some_tagged
from spin_py.wasi.http import shapes
from spin_py.wasi.http.body import FutureTrailers, IncomingBody, OutgoingBody
from spin_py.wasi.http.errors import error_code_of
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.kinds import (
    FIELDS,
    FUTURE_TRAILERS,
    INPUT_STREAM,
    OUTPUT_STREAM,
    POLLABLE,
)

__all__ = ["FUNCS"]


# incoming-body


def _in_stream(store: Store, self: Any) -> Any:
    state = current()
    stream = state.table.get(store, self, IncomingBody).take_stream()
    if stream is None:
        return shapes.OWN_RESULT.err()
    return shapes.OWN_RESULT.ok(state.table.push(stream, INPUT_STREAM))


def _in_finish(store: Store, this: Any) -> Any:
    state = current()
    body = state.table.take(store, this, IncomingBody)
    return state.table.push(body.finish(), FUTURE_TRAILERS)


# future-trailers


def _trailers(store: Store, handle: Any) -> FutureTrailers:
    return current().table.get(store, handle, FutureTrailers)


def _trailers_subscribe(store: Store, self: Any) -> Any:
    return current().table.push(_trailers(store, self).subscribe(), POLLABLE)


def _trailers_get(store: Store, self: Any) -> Any:
    state = current()
    outcome = _trailers(store, self).get()
    payload_shape = shapes.TRAILERS_OUTER.shape
    if outcome is None:
        return none_tagged(payload_shape)
    if outcome == "taken":
        return some_tagged(payload_shape, shapes.TRAILERS_OUTER.err())
    if outcome.error is not None:
        inner = shapes.TRAILERS_INNER.err(outcome.error.lower())
    elif outcome.trailers is None:
        inner = shapes.TRAILERS_INNER.ok(None)
    else:
        inner = shapes.TRAILERS_INNER.ok(state.table.push(outcome.trailers.view(), FIELDS))
    return some_tagged(payload_shape, shapes.TRAILERS_OUTER.ok(inner))


# outgoing-body


def _out_write(store: Store, self: Any) -> Any:
    state = current()
    stream = state.table.get(store, self, OutgoingBody).take_stream()
    if stream is None:
        return shapes.OWN_RESULT.err()
    return shapes.OWN_RESULT.ok(state.table.push(stream, OUTPUT_STREAM))


def _out_finish(store: Store, this: Any, trailers: Any) -> Any:
    state = current()
    body = state.table.take(store, this, OutgoingBody)
    fields = None if trailers is None else state.table.take(store, trailers, Fields)
    if fields is not None:
        fields.freeze()
    error = body.finish(fields)
    return shapes.ERROR_RESULT.ok() if error is None else shapes.ERROR_RESULT.err(error.lower())


# http-error-code


def _http_error_code(store: Store, err: Any) -> Variant | None:
    code = error_code_of(current().table.get(store, err, IoError).detail)
    return None if code is None else code.lower()


FUNCS: dict[str, HostFunc] = {
    "[method]incoming-body.stream": _in_stream,
    "[static]incoming-body.finish": _in_finish,
    "[method]future-trailers.subscribe": _trailers_subscribe,
    "[method]future-trailers.get": _trailers_get,
    "[method]outgoing-body.write": _out_write,
    "[static]outgoing-body.finish": _out_finish,
    "http-error-code": _http_error_code,
}
