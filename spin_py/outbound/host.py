"""One application's outbound side, shared by its components: client, chaining, self origin.

An `OutboundHost` holds the pooled `OutboundClient`, the server's `ChainDispatcher` (which runs
`http://<id>.spin.internal/...` requests in-process; `ChainedRequest` in, `ChainedResponse`
out) with the component ids it reaches, and the `SelfOrigin` the listener bound. The server
builds one per app and serves every component's outbound requests through it
(`spin_py.outbound.send.OutboundHandler`).

`policy_for(ctx)` is the component's `allowed_outbound_hosts` as an `OutboundPolicy`, built
once per component with `{{ var }}` templates resolved over the app's variables.

A self request carries `SELF_REQUEST_HEADER` with this process's secret token, so the server
runs it `nested`: the caller holds the one guest thread while it waits, and the self request
must not queue behind it. The header starts with `spin-`, so the component it reaches never
sees it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

import yarl
from opentelemetry.context import Context

from spin_py.host.channels import NextChunk
from spin_py.host.context import ComponentContext
from spin_py.manifest.model import App
from spin_py.outbound import OutboundClient, OutboundPolicy, SelfOrigin, default_client
from spin_py.outbound.nesting import DEFAULT_MAX_REQUEST_DEPTH, Nesting
from spin_py.platform.services import PlatformServices
from spin_py.platform.variables import VariableResolver
from spin_py.telemetry.setup import Telemetry

__all__ = [
    "SELF_REQUEST_HEADER",
    "ChainDispatcher",
    "ChainedRequest",
    "ChainedResponse",
    "Headers",
    "OutboundHost",
    "policy_for",
]

log = logging.getLogger(__name__)

SELF_REQUEST_HEADER = "spin-py-self-request"
"""Marks a request this server sent to itself (value: `OutboundHost.self_token`)."""

SELF_TOKEN = secrets.token_urlsafe(24)
"""The default `self_token`: made at import, so worker processes forked by `up` share it and a
self request answered by another worker also runs nested."""

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class ChainedRequest:
    """A request for `http://<component_id>.spin.internal/...`, to run in-process."""

    component_id: str
    method: str
    scheme: str
    authority: str
    path_with_query: str
    headers: Headers
    next_chunk: NextChunk | None
    """The request body as the caller writes it (None: no body)."""
    telemetry: Telemetry
    parent: Context
    """The context of the caller's client span: the chained execute span's parent."""
    deadline: float | None
    """The caller's deadline (monotonic), which the chained call keeps if earlier."""
    nesting: Nesting = field(default_factory=lambda: Nesting(1))
    """The chained request's depth and its client request's tree (`spin_py.outbound.nesting`)."""


@dataclass(frozen=True)
class ChainedResponse:
    """The head of a chained component's response, its body source and how to stop reading."""

    status: int
    headers: Headers
    next_chunk: NextChunk
    close: Callable[[], None]
    """Stop reading the body (event loop)."""


class ChainDispatcher(Protocol):
    """Runs a service-chained request in-process (implemented by the server)."""

    async def dispatch(self, request: ChainedRequest) -> ChainedResponse:
        """Run the component; return once its response head is known. Raises `OutboundError`."""
        ...


class OutboundHost:
    """The outbound side of one served application (see the module docstring).

    `client` defaults to the process-wide `default_client()`. `chain` and `chain_targets` (the
    component ids reachable as `<id>.spin.internal`) are set by the server; `origin` once the
    listener is bound. `max_request_depth` bounds nested self and chained requests
    (`--max-request-depth`, see `spin_py.outbound.nesting`).
    """

    def __init__(
        self,
        client: OutboundClient | None = None,
        chain: ChainDispatcher | None = None,
        chain_targets: Collection[str] = (),
        *,
        max_request_depth: int = DEFAULT_MAX_REQUEST_DEPTH,
    ) -> None:
        self.client = client if client is not None else default_client()
        self.chain = chain
        self.chain_targets = frozenset(chain_targets)
        self.origin: SelfOrigin | None = None
        self.self_token = SELF_TOKEN
        self.max_request_depth = max_request_depth

    def is_self_request(self, header_value: str | None) -> bool:
        """True when a `SELF_REQUEST_HEADER` value proves the request came from this process."""
        return header_value is not None and hmac.compare_digest(header_value, self.self_token)

    def is_own_address(self, url: yarl.URL) -> bool:
        """True when an absolute URL names the address the server is bound to, in any
        spelling (see `SelfOrigin.reaches`)."""
        origin = self.origin
        return origin is not None and origin.reaches(url.raw_host, url.port)

    def own_url(self, url: yarl.URL) -> yarl.URL:
        """`url` itself, or, when it names the bound address in another spelling (see
        `is_own_address`), the same path at the address as bound: the client would refuse
        some spellings (`127.1`, `2130706433`) that the system resolver accepts."""
        origin = self.origin
        if origin is None or not origin.reaches(url.raw_host, url.port):
            return url
        return origin.url(url.raw_path_qs)

    async def aclose(self) -> None:
        """Close the client's pooled connections (server shutdown)."""
        await self.client.close()


# -- the per-component policy -----------------------------------------------------------------


@dataclass(frozen=True)
class _ComponentPolicy:
    policy: OutboundPolicy


def policy_for(ctx: ComponentContext) -> OutboundPolicy:
    """The component's `allowed_outbound_hosts`, parsed and resolved once.

    Templates are resolved with the process's variable resolver (the `PlatformServices`
    extension) when the runtime has one, else over the manifest defaults. An unusable list
    (malformed entry, variable without a value) is logged once and denies everything.
    """
    return ctx.ext(_ComponentPolicy, _build_policy).policy


def _build_policy(ctx: ComponentContext) -> _ComponentPolicy:
    entries = ctx.component.allowed_outbound_hosts
    try:
        return _ComponentPolicy(OutboundPolicy.build(entries, _template_resolver(ctx)))
    except Exception as exc:  # malformed entry, missing variable: deny, loudly
        log.error(
            'component "%s": allowed_outbound_hosts cannot be used, every outbound request '
            "is denied: %s",
            ctx.id,
            exc,
        )
        return _ComponentPolicy(OutboundPolicy())


def _template_resolver(ctx: ComponentContext) -> Callable[[str], str]:
    services = ctx.settings.extension(PlatformServices)
    if services is not None:
        return services.variables.resolve_template
    return _defaults_resolver(ctx.app).resolve_template


def _defaults_resolver(app: App) -> VariableResolver:
    return VariableResolver(app, ())
