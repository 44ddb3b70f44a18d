"""The wasmtime-py value shapes of every `wasi:http/types` result, option and variant used.

Built with `spin_py.host.wit` so the tagged/untagged choice is computed, not guessed:

- `error-code`, `header-error`, `method` and `scheme` have payload-less cases, so they are
  always tagged `Variant`s; `option<scheme>` and `option<error-code>` are then untagged
  (`None` or the `Variant`).
- `result<own<T>>` is the handle or `None`; `result<_, header-error>` and
  `result<_, error-code>` are `None` or the error `Variant`; `result` (no payloads) is
  `Variant("ok")` / `Variant("err")`.
- `future-trailers.get` and `future-incoming-response.get` nest
  `option<result<result<..., error-code>>>`; see `TRAILERS_*` and `RESPONSE_*`.

Stock wasmtime-py 50 cannot lower `err` of `result<option<own<trailers>>, error-code>` (an
untagged case that can hold `None` matches every value); `spin_py.runtime.wasmtime_patches`
(installed by `get_engine()`) fixes that, and `future-trailers.get` relies on it.
"""

from __future__ import annotations

from spin_py.host.wit import NONE, RESOURCE, TAGGED, ResultShape, Shape, option, result

ERROR_CODE: Shape = TAGGED
HEADER_ERROR: Shape = TAGGED
METHOD: Shape = TAGGED
SCHEME: Shape = TAGGED

OWN_RESULT: ResultShape = result(RESOURCE)
"""`result<own<T>>` (err without payload): fields.from-list aside, every once-only getter."""

UNIT_RESULT: ResultShape = result()
"""`result` (no payloads): the outgoing-request / request-options setters, set-status-code."""

FIELDS_RESULT: ResultShape = result(RESOURCE, HEADER_ERROR)
"""`result<fields, header-error>`: `fields.from-list`."""

HEADER_RESULT: ResultShape = result(NONE, HEADER_ERROR)
"""`result<_, header-error>`: `fields.set` / `delete` / `append`."""

ERROR_RESULT: ResultShape = result(NONE, ERROR_CODE)
"""`result<_, error-code>`: `outgoing-body.finish`, `send-informational`."""

TRAILERS_INNER: ResultShape = result(option(RESOURCE), ERROR_CODE)
"""`result<option<own<trailers>>, error-code>`."""

TRAILERS_OUTER: ResultShape = result(TRAILERS_INNER.shape)
"""`result<result<option<own<trailers>>, error-code>>` (err: already taken)."""

TRAILERS_GET: Shape = option(TRAILERS_OUTER.shape)
"""`future-trailers.get`'s return type."""

RESPONSE_INNER: ResultShape = result(RESOURCE, ERROR_CODE)
"""`result<own<incoming-response>, error-code>`."""

RESPONSE_OUTER: ResultShape = result(RESPONSE_INNER.shape)
"""`result<result<own<incoming-response>, error-code>>` (err: already taken)."""

RESPONSE_GET: Shape = option(RESPONSE_OUTER.shape)
"""`future-incoming-response.get`'s return type."""

HANDLE_RESULT: ResultShape = result(RESOURCE, ERROR_CODE)
"""`result<own<future-incoming-response>, error-code>`: `outgoing-handler.handle`."""

OPTION_ERROR_CODE: Shape = option(ERROR_CODE)
"""`http-error-code`'s return type."""
