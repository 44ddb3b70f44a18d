"""Service chaining: `http://<component-id>.spin.internal/...` served in-process.

A guest's request to another component of the app never touches the network. The component
runs through the same `Execution` path as an HTTP request, with a `RequestState` of its own
that keeps the caller's deadline, and `nested=True` (the caller holds a guest thread while it
waits, so this call must not queue behind it). It sees the request as if its route were `/...`
(`RouteMatch.for_chained`), so private components are reachable; its execute span is the
child of the caller's client span, so the trace continues.

A chained call takes a slot from the nested calls' allowance of the process
(`spin_py.runtime.scheduler.RequestSlots`); when it is used up, the caller gets the wasi:http
error `connection-limit-reached` at once and a rate-limited warning is logged (a guest fanning
out requests to its own app must not start guests without bound).

The response head goes back to the caller as soon as the guest sets it; the caller reads the
body straight from the chained guest's `BodyReader` (its bounded channel gives backpressure from
the calling guest to the chained one). A call that fails before responding gives the caller an
empty `500`, as an HTTP client would get; a body cut short makes the caller's next read fail
with `HTTP-response-incomplete`; a caller that stops reading fails the chained guest's next
write with `connection-terminated`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from spin_py.host.channels import NextChunk
from spin_py.host.state import RequestState
from spin_py.manifest.model import HttpTrigger
from spin_py.outbound.errors import OutboundError
from spin_py.outbound.host import ChainedRequest, ChainedResponse
from spin_py.outbound.nesting import Nesting
from spin_py.routing import RouteMatch
from spin_py.runtime.invoke import Invoker, Outcome
from spin_py.runtime.loader import LoadedComponent
from spin_py.server.execution import Execution, body_forbidden
from spin_py.server.inbound import chained_incoming_request
from spin_py.server.overload import nested_refusal_log
from spin_py.telemetry import prepare_execute
from spin_py.wasi.http.body import BodyAborted, BodyReader
from spin_py.wasi.http.errors import ErrorCode

__all__ = ["InProcessChaining", "chain_triggers"]

log = logging.getLogger(__name__)


def chain_triggers(components: Mapping[str, LoadedComponent]) -> dict[str, HttpTrigger]:
    """The trigger each loaded component is chained through (its first HTTP trigger)."""
    triggers: dict[str, HttpTrigger] = {}
    for loaded in components.values():
        for trigger in loaded.context.app.triggers:
            if trigger.component == loaded.id:
                triggers.setdefault(loaded.id, trigger)
    return triggers


class InProcessChaining:
    """The server's `ChainDispatcher` (see the module docstring)."""

    def __init__(
        self,
        invoker: Invoker,
        components: Mapping[str, LoadedComponent],
        calls: set[asyncio.Future[Outcome]],
    ) -> None:
        self._invoker = invoker
        self._components = components
        self._triggers = chain_triggers(components)
        self._calls = calls
        self._refusals = nested_refusal_log(invoker.slots, "chained request(s)")

    @property
    def targets(self) -> frozenset[str]:
        """The component ids reachable as `<id>.spin.internal`."""
        return frozenset(self._triggers)

    async def dispatch(self, request: ChainedRequest) -> ChainedResponse:
        """Run the chained component; return its response head (body streaming behind)."""
        loaded = self._components.get(request.component_id)
        trigger = self._triggers.get(request.component_id)
        if loaded is None or trigger is None:
            raise OutboundError(
                "destination-not-found", None, f"component '{request.component_id}' is not loaded"
            )
        slot = self._invoker.slots.enter(nested=True)
        if slot is None:
            self._refusals.count()
            raise OutboundError(
                "connection-limit-reached",
                None,
                f"{self._invoker.slots.nested_limit} nested requests are already running",
            )
        try:
            state = RequestState(
                loaded.context, asyncio.get_running_loop(), deadline=request.deadline
            )
            state.ext(Nesting, lambda: request.nesting)
            request.nesting.tree.add(state)  # cancelled when its client's request ends
            prepare_execute(state, request.telemetry, request.parent)
            match = RouteMatch.for_chained(trigger, request.path_with_query.partition("?")[0])
            guest_request = chained_incoming_request(request, match, state)
            execution = Execution.start(
                self._invoker, loaded, state, guest_request, nested=True, slot=slot
            )
        except BaseException:
            slot.leave()
            raise
        execution.track(self._calls)
        try:
            head = await execution.head()
        except asyncio.CancelledError:
            execution.cancel()
            execution.close()
            raise
        if head is None or head.body is None:
            execution.close()
            status, headers = (500, []) if head is None else (head.status, head.headers)
            return ChainedResponse(status, headers, _no_body, _nothing)
        body = head.body
        skip = body_forbidden(request.method, head.status)

        def close() -> None:
            body.close(ErrorCode.connection_terminated())
            execution.close()

        return ChainedResponse(head.status, head.headers, _reader(execution, body, skip), close)


async def _no_body() -> bytes | None:
    return None


def _nothing() -> None:
    return None


def _reader(execution: Execution, body: BodyReader, skip: bool) -> NextChunk:
    """The chained body as the caller's `next_chunk` source (`skip`: read and drop it, for a
    response that carries no body on the wire)."""

    async def next_chunk() -> bytes | None:
        try:
            while (data := await body.read()) is not None:
                if not skip:
                    return data
        except BodyAborted as aborted:
            log.warning('component "%s": response cut short: %s', execution.component_id, aborted)
            execution.close()
            raise OutboundError("HTTP-response-incomplete", None, str(aborted)) from None
        execution.close()
        return None

    return next_chunk
