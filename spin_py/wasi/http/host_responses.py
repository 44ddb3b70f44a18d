"""Host functions of `outgoing-response`, `response-outparam`, `incoming-response` and
`future-incoming-response`."""

from __future__ import annotations

from typing import Any

from wasmtime.component import Variant

from spin_py.host.linking import HostFunc
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.host.wit import none_tagged, some_tagged
from spin_py.wasi.http import shapes
from spin_py.wasi.http.errors import ErrorCode
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.kinds import (
    FIELDS,
    INCOMING_BODY,
    INCOMING_RESPONSE,
    OUTGOING_BODY,
    OUTGOING_RESPONSE,
    POLLABLE,
)
from spin_py.wasi.http.response import (
    FutureIncomingResponse,
    IncomingResponse,
    InvalidContentLength,
    OutgoingResponse,
    ResponseOutparam,
)

__all__ = ["FUNCS"]


def _outgoing(store: Store, handle: Any) -> OutgoingResponse:
    return current().table.get(store, handle, OutgoingResponse)


def _incoming(store: Store, handle: Any) -> IncomingResponse:
    return current().table.get(store, handle, IncomingResponse)


# outgoing-response


def _new(store: Store, headers: Any) -> Any:
    state = current()
    fields = state.table.take(store, headers, Fields)
    return state.table.push(OutgoingResponse(fields), OUTGOING_RESPONSE)


def _status(store: Store, self: Any) -> int:
    return _outgoing(store, self).status


def _set_status(store: Store, self: Any, code: int) -> Any:
    ok = _outgoing(store, self).set_status(code)
    return shapes.UNIT_RESULT.ok() if ok else shapes.UNIT_RESULT.err()


def _headers(store: Store, self: Any) -> Any:
    return current().table.push(_outgoing(store, self).headers.view(), FIELDS)


def _body(store: Store, self: Any) -> Any:
    state = current()
    response = _outgoing(store, self)
    if response.body_taken:
        return shapes.OWN_RESULT.err()
    try:
        body = response.take_body(state)
    except InvalidContentLength:
        return shapes.OWN_RESULT.err()
    assert body is not None
    return shapes.OWN_RESULT.ok(state.table.push(body, OUTGOING_BODY))


# response-outparam


def _outparam_set(store: Store, param: Any, response: Any) -> None:
    state = current()
    outparam = state.table.take(store, param, ResponseOutparam)
    if isinstance(response, Variant):  # result<own<outgoing-response>, error-code>: err
        outparam.set(ErrorCode.lift(response))
    else:
        outparam.set(state.table.take(store, response, OutgoingResponse))


def _send_informational(store: Store, self: Any, status: int, headers: Any) -> Any:
    state = current()
    state.table.get(store, self, ResponseOutparam)
    state.table.take(store, headers, Fields)
    if not 100 <= status <= 199:
        return shapes.ERROR_RESULT.err(ErrorCode.protocol().lower())
    unsupported = ErrorCode.internal("informational responses are not supported")
    return shapes.ERROR_RESULT.err(unsupported.lower())


# incoming-response


def _in_status(store: Store, self: Any) -> int:
    return _incoming(store, self).status


def _in_headers(store: Store, self: Any) -> Any:
    return current().table.push(_incoming(store, self).headers.view(), FIELDS)


def _in_consume(store: Store, self: Any) -> Any:
    body = _incoming(store, self).consume()
    if body is None:
        return shapes.OWN_RESULT.err()
    return shapes.OWN_RESULT.ok(current().table.push(body, INCOMING_BODY))


# future-incoming-response


def _future(store: Store, handle: Any) -> FutureIncomingResponse:
    return current().table.get(store, handle, FutureIncomingResponse)


def _future_subscribe(store: Store, self: Any) -> Any:
    return current().table.push(_future(store, self).subscribe(), POLLABLE)


def _future_get(store: Store, self: Any) -> Any:
    outcome = _future(store, self).get()
    payload_shape = shapes.RESPONSE_OUTER.shape
    if outcome is None:
        return none_tagged(payload_shape)
    if outcome == "taken":
        return some_tagged(payload_shape, shapes.RESPONSE_OUTER.err())
    if isinstance(outcome, ErrorCode):
        inner = shapes.RESPONSE_INNER.err(outcome.lower())
    else:
        inner = shapes.RESPONSE_INNER.ok(current().table.push(outcome, INCOMING_RESPONSE))
    return some_tagged(payload_shape, shapes.RESPONSE_OUTER.ok(inner))


FUNCS: dict[str, HostFunc] = {
    "[constructor]outgoing-response": _new,
    "[method]outgoing-response.status-code": _status,
    "[method]outgoing-response.set-status-code": _set_status,
    "[method]outgoing-response.headers": _headers,
    "[method]outgoing-response.body": _body,
    "[static]response-outparam.set": _outparam_set,
    "[method]response-outparam.send-informational": _send_informational,
    "[method]incoming-response.status": _in_status,
    "[method]incoming-response.headers": _in_headers,
    "[method]incoming-response.consume": _in_consume,
    "[method]future-incoming-response.subscribe": _future_subscribe,
    "[method]future-incoming-response.get": _future_get,
}
