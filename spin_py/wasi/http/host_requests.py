"""Host functions of `incoming-request`, `outgoing-request` and `request-options`."""

from __future__ import annotations

from typing import Any

from wasmtime.component import Variant

from spin_py.host.linking import HostFunc
from spin_py.host.state import current
from spin_py.host.table import Store
from spin_py.wasi.http import shapes
from spin_py.wasi.http.body import OutgoingBody
from spin_py.wasi.http.fields import Fields
from spin_py.wasi.http.kinds import FIELDS, INCOMING_BODY, OUTGOING_BODY, OUTGOING_REQUEST
from spin_py.wasi.http.kinds import REQUEST_OPTIONS as OPTIONS
from spin_py.wasi.http.request import (
    IncomingRequest,
    OutgoingRequest,
    RequestOptions,
    lift_method,
    lift_scheme,
    lower_method,
    lower_scheme,
)
from spin_py.wasi.http.response import InvalidContentLength, content_length

__all__ = ["FUNCS"]


def _incoming(store: Store, handle: Any) -> IncomingRequest:
    return current().table.get(store, handle, IncomingRequest)


def _outgoing(store: Store, handle: Any) -> OutgoingRequest:
    return current().table.get(store, handle, OutgoingRequest)


def _options(store: Store, handle: Any) -> RequestOptions:
    return current().table.get(store, handle, RequestOptions)


def _scheme_or_none(scheme: str | None) -> Variant | None:
    return None if scheme is None else lower_scheme(scheme)


def _unit(ok: bool) -> Any:
    return shapes.UNIT_RESULT.ok() if ok else shapes.UNIT_RESULT.err()


# incoming-request


def _in_method(store: Store, self: Any) -> Variant:
    return lower_method(_incoming(store, self).method)


def _in_path(store: Store, self: Any) -> str | None:
    return _incoming(store, self).path_with_query


def _in_scheme(store: Store, self: Any) -> Variant | None:
    return _scheme_or_none(_incoming(store, self).scheme)


def _in_authority(store: Store, self: Any) -> str | None:
    return _incoming(store, self).authority


def _in_headers(store: Store, self: Any) -> Any:
    return current().table.push(_incoming(store, self).headers.view(), FIELDS)


def _in_consume(store: Store, self: Any) -> Any:
    body = _incoming(store, self).consume()
    if body is None:
        return shapes.OWN_RESULT.err()
    return shapes.OWN_RESULT.ok(current().table.push(body, INCOMING_BODY))


# outgoing-request


def _out_new(store: Store, headers: Any) -> Any:
    state = current()
    fields = state.table.take(store, headers, Fields)
    return state.table.push(OutgoingRequest(fields), OUTGOING_REQUEST)


def _out_body(store: Store, self: Any) -> Any:
    state = current()
    request = _outgoing(store, self)
    if request.body_taken:
        return shapes.OWN_RESULT.err()
    try:
        length = content_length(request.headers)
    except InvalidContentLength:
        return shapes.OWN_RESULT.err()
    request.body_taken = True
    request.body = OutgoingBody(state, length, "request")
    return shapes.OWN_RESULT.ok(state.table.push(request.body, OUTGOING_BODY))


def _out_method(store: Store, self: Any) -> Variant:
    return lower_method(_outgoing(store, self).method)


def _out_set_method(store: Store, self: Any, method: Variant) -> Any:
    return _unit(_outgoing(store, self).set_method(lift_method(method)))


def _out_path(store: Store, self: Any) -> str | None:
    return _outgoing(store, self).path_with_query


def _out_set_path(store: Store, self: Any, path: str | None) -> Any:
    return _unit(_outgoing(store, self).set_path_with_query(path))


def _out_scheme(store: Store, self: Any) -> Variant | None:
    return _scheme_or_none(_outgoing(store, self).scheme)


def _out_set_scheme(store: Store, self: Any, scheme: Variant | None) -> Any:
    request = _outgoing(store, self)
    return _unit(request.set_scheme(None if scheme is None else lift_scheme(scheme)))


def _out_authority(store: Store, self: Any) -> str | None:
    return _outgoing(store, self).authority


def _out_set_authority(store: Store, self: Any, authority: str | None) -> Any:
    return _unit(_outgoing(store, self).set_authority(authority))


def _out_headers(store: Store, self: Any) -> Any:
    return current().table.push(_outgoing(store, self).headers.view(), FIELDS)


# request-options


def _opt_new(store: Store) -> Any:
    return current().table.push(RequestOptions(), OPTIONS)


def _getter(attr: str) -> HostFunc:
    def get(store: Store, self: Any) -> int | None:
        value: int | None = getattr(_options(store, self), attr)
        return value

    return get


def _setter(attr: str) -> HostFunc:
    def set_(store: Store, self: Any, duration: int | None) -> Any:
        setattr(_options(store, self), attr, duration)
        return shapes.UNIT_RESULT.ok()

    return set_


FUNCS: dict[str, HostFunc] = {
    "[method]incoming-request.method": _in_method,
    "[method]incoming-request.path-with-query": _in_path,
    "[method]incoming-request.scheme": _in_scheme,
    "[method]incoming-request.authority": _in_authority,
    "[method]incoming-request.headers": _in_headers,
    "[method]incoming-request.consume": _in_consume,
    "[constructor]outgoing-request": _out_new,
    "[method]outgoing-request.body": _out_body,
    "[method]outgoing-request.method": _out_method,
    "[method]outgoing-request.set-method": _out_set_method,
    "[method]outgoing-request.path-with-query": _out_path,
    "[method]outgoing-request.set-path-with-query": _out_set_path,
    "[method]outgoing-request.scheme": _out_scheme,
    "[method]outgoing-request.set-scheme": _out_set_scheme,
    "[method]outgoing-request.authority": _out_authority,
    "[method]outgoing-request.set-authority": _out_set_authority,
    "[method]outgoing-request.headers": _out_headers,
    "[constructor]request-options": _opt_new,
}
for _name in ("connect-timeout", "first-byte-timeout", "between-bytes-timeout"):
    _attr = _name.replace("-", "_")
    FUNCS[f"[method]request-options.{_name}"] = _getter(_attr)
    FUNCS[f"[method]request-options.set-{_name}"] = _setter(_attr)
