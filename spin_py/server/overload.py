"""Overload is an answer, not a queue: the 503 a request gets when every slot is taken.

A worker process runs at most `--max-concurrent-requests` guest calls at once (see
`spin_py.runtime.scheduler`). One more gets `503 Service Unavailable` with `Retry-After` at
once, before anything is instantiated; its server span carries `spin_py.overload = true` and
the limit. Refusals are logged as a count, at most one line per 10 s per process
(`spin_py.server.refusals`), so an overloaded server does not also flood its log. (Spin has
no such limit: it starts every request it reads.)

A self request (a guest of this server calling it again) is refused only when the nested calls'
own allowance is used up; it gets the same 503, counted and logged apart, naming that limit.
"""

from __future__ import annotations

import logging

from aiohttp import web

from spin_py.runtime.scheduler import RequestSlots
from spin_py.server.refusals import RefusalLog
from spin_py.server.responses import make_response
from spin_py.telemetry import SERVER_SPAN_KEY

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
"""The `Retry-After` of an overload 503: most guest calls take milliseconds."""

OVERLOAD_ATTRIBUTE = "spin_py.overload"
LIMIT_ATTRIBUTE = "spin_py.max_concurrent_requests"


class OverloadResponder:
    """Answers refused requests and reports them (event loop only)."""

    def __init__(self, slots: RequestSlots) -> None:
        self.limit = slots.limit
        self._refusals = RefusalLog(
            log,
            "overloaded: refused {count} request(s) with 503: all "
            f"{slots.limit} request slots of this process are busy (--max-concurrent-requests); "
            "{total} refused since start",
        )
        self._nested_refusals = nested_refusal_log(slots, "self request(s) with 503")

    @property
    def refused(self) -> int:
        """Refusals since start (self requests included)."""
        return self._refusals.total + self._nested_refusals.total

    def refuse(self, request: web.Request, *, nested: bool = False) -> web.Response:
        """The 503 for `request` (`nested`: a self request); counted, logged (rate-limited),
        marked on its span."""
        (self._nested_refusals if nested else self._refusals).count()
        server = request.get(SERVER_SPAN_KEY)
        if server is not None and server.span.is_recording():
            server.span.set_attribute(OVERLOAD_ATTRIBUTE, True)
            server.span.set_attribute(LIMIT_ATTRIBUTE, self.limit)
        return make_response(503, [("retry-after", str(RETRY_AFTER_SECONDS))])


def nested_refusal_log(slots: RequestSlots, what: str) -> RefusalLog:
    """The rate-limited warning for nested calls refused past `slots.nested_limit`; `what`
    says which calls and how they were refused."""
    return RefusalLog(
        log,
        "too many nested requests: refused {count} " + what + ": "
        f"{slots.nested_limit} self and service-chained requests are already running in this "
        "process (as many as --max-concurrent-requests); {total} refused since start",
    )
