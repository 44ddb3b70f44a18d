"""Draining: a node that received SIGTERM keeps serving for a while, but says it is leaving.

A load balancer (HAProxy, a Kubernetes Service, a cloud balancer) learns that a node is going
away only by probing it, and sends it new connections until it notices. A node that stopped
listening at once would refuse those, and reset the connections already waiting in its accept
queue. So with `--shutdown-delay` a SIGTERM first starts a drain of that many seconds: the node
goes on accepting and serving, but `/.well-known/spin/health` answers `503` and every response
carries `Connection: close`, so balancers take the node out of rotation and clients on kept-alive
connections reconnect to another node. Then the listener closes and the requests in flight get
their grace period, as without a delay. SIGINT (Ctrl-C) and a second signal skip the delay.

`Drain` is the one piece of state this needs: the delay, and whether the drain started. The
lifecycle starts it; the well-known handler and the response-prepare hook read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

PrepareHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


DRAINING = "draining"
"""What `/.well-known/spin/health` answers (with 503) while the drain runs."""


class Drain:
    """The shutdown delay of one serving process and whether its drain has started."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._draining = False

    @property
    def draining(self) -> bool:
        return self._draining

    def start(self) -> None:
        self._draining = True


def close_while_draining(drain: Drain) -> PrepareHook:
    """An `on_response_prepare` handler: while `drain` runs, responses close their connection."""

    async def close(request: web.Request, response: web.StreamResponse) -> None:
        if drain.draining:
            response.force_close()  # the connection closes after this response
            response.headers[hdrs.CONNECTION] = "close"  # (the head is built before this hook)

    return close
