"""Shared plumbing of the Spin platform interfaces: error values and "unsupported" reporting.

Every platform function has the same shape: run a backend operation, lower its value as the
`ok` side of the WIT result, or lower a failure as that interface's `error` variant (never a
trap). Backends signal failures with two exceptions:

- any exception carrying `case` (a str) and `payload` attributes, such as
  `InterfaceError(case, payload)`: that case of the interface's `error` variant (e.g.
  `access-denied`, `no-such-store`, `other("...")`), so backends need not import this module;
- `Unsupported(feature)`: spin-py does not implement this yet; the interface maps it to its
  closest error case carrying the message, and one warning per interface and component is
  logged on `spin_py.spin_api`.

`guarded(...)` runs a backend call under those rules. Every error variant of these interfaces
has several cases of the same Python type, so it lowers tagged (`Variant(case, payload)`).

`traced(name, op, attributes)` wraps a backend call in a host-call span (CLIENT, parented on the
innermost open guest span): put it inside `guarded`, so a failure marks the span ERROR before it
becomes an error value. Attributes name systems and labels, never keys, values or statements.
`blocking=True` marks a call that may wait (a network round trip, arbitrary SQL): the guest
gives up its running permit meanwhile (`RequestState.blocking`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opentelemetry.util.types import AttributeValue
from wasmtime.component import LinkerInstance, ResourceAny, ResourceHost, Variant

from spin_py.host import wit
from spin_py.host.context import ComponentContext
from spin_py.host.linking import HostFunc, add_funcs, add_resource
from spin_py.host.state import current
from spin_py.host.table import ResourceKind, Store
from spin_py.platform.services import PlatformServices
from spin_py.telemetry.host_spans import host_span

T = TypeVar("T")
B = TypeVar("B")

log = logging.getLogger(__name__)

ERROR = wit.TAGGED
"""The shape of every platform `error` variant (several same-typed cases: tagged)."""


class PlatformBackend(Generic[B]):
    """How one platform interface finds its backend: per component, made once from the
    process's platform services (attached to the runtime settings by the server) by `build`, or
    `unconfigured()` in a runtime without them (the interface then answers an error)."""

    def __init__(
        self,
        key: type[B],
        build: Callable[[PlatformServices, ComponentContext], B],
        unconfigured: Callable[[], B],
    ) -> None:
        self._key = key
        self._build = build
        self._unconfigured = unconfigured

    def make(self, ctx: ComponentContext) -> B:
        """The backend of `ctx`'s component."""
        services = ctx.settings.extension(PlatformServices)
        return self._unconfigured() if services is None else self._build(services, ctx)

    def current(self) -> B:
        """The current request's component's backend (made once per component)."""
        return current().component.ext(self._key, self.make)


class InterfaceError(Exception):
    """A case of the calling interface's `error` variant."""

    def __init__(self, case: str, payload: object = None) -> None:
        super().__init__(case if payload is None else f"{case}: {payload}")
        self.case = case
        self.payload = payload


class NotConfigured(InterfaceError):
    """The process has no platform services (a runtime built without `spin-py up`'s setup)."""

    def __init__(self, case: str, feature: str) -> None:
        super().__init__(case, f"{feature} are not configured in this process")


class Unsupported(Exception):
    """A feature spin-py does not implement (yet)."""

    def __init__(self, feature: str) -> None:
        self.message = f"spin-py does not support {feature} yet"
        super().__init__(self.message)


@dataclass
class _Warned:
    """Interfaces a component has already been warned about."""

    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first(self, interface: str) -> bool:
        with self.lock:
            if interface in self.seen:
                return False
            self.seen.add(interface)
            return True


def warn_unsupported(ctx: ComponentContext, interface: str, message: str) -> None:
    """Log `message` once per component and interface."""
    if ctx.ext(_Warned, lambda _c: _Warned()).first(interface):
        log.warning("component %r called %s: %s", ctx.id, interface, message)


@dataclass(frozen=True)
class Interface:
    """One platform interface: its versioned name and the error case for "unsupported"."""

    name: str
    unsupported_case: str
    """The `error` case (with a string payload) an `Unsupported` failure becomes."""
    cases: frozenset[str] | None = None
    """This interface's error cases when a shared backend may raise others; those become
    `unsupported_case` with the other case's text."""

    def guarded(self, shape: wit.ResultShape, op: Callable[[], Any]) -> Any:
        """`op()` lowered as the ok side of `shape`, or its failure as the error variant."""
        try:
            return shape.ok(op())
        except Unsupported as exc:
            warn_unsupported(current().component, self.name, exc.message)
            return shape.err(Variant(self.unsupported_case, exc.message))
        except Exception as exc:
            case = getattr(exc, "case", None)
            if not isinstance(case, str):
                raise
            if self.cases is not None and case not in self.cases:
                return shape.err(Variant(self.unsupported_case, str(exc)))
            return shape.err(Variant(case, getattr(exc, "payload", None)))


def unsupported_function(iface: Interface, feature: str, shape: wit.ResultShape) -> HostFunc:
    """A host function (or method) that always answers `feature` is unsupported."""

    def fail() -> Any:
        raise Unsupported(feature)

    def function(store: Store, *args: Any) -> Any:
        end_borrows(store, args)
        return iface.guarded(shape, fail)

    return function


def unsupported_functions(
    iface: Interface, feature: str, shapes: dict[str, wit.ResultShape]
) -> dict[str, HostFunc]:
    """Host functions (name -> result shape) that all answer `feature` is unsupported."""
    return {name: unsupported_function(iface, feature, shape) for name, shape in shapes.items()}


@dataclass(frozen=True)
class InterfaceDef:
    """Everything one interface puts in the linker: its resources and its functions."""

    name: str
    resources: tuple[ResourceKind, ...]
    functions: dict[str, HostFunc]


def define(root: LinkerInstance, defs: Iterable[InterfaceDef]) -> None:
    """Add each interface of `defs` to the linker."""
    for d in defs:
        with root.add_instance(d.name) as instance:
            for kind in d.resources:
                add_resource(instance, kind)
            add_funcs(instance, d.functions)


def end_borrows(store: Store, args: tuple[Any, ...]) -> None:
    """End every borrowed handle among `args` (wasmtime requires it before returning)."""
    for arg in args:
        if isinstance(arg, ResourceAny):
            arg.to_host(store)


def resource(store: Store, handle: ResourceAny | ResourceHost, cls: type[T]) -> T:
    """The host object behind a handle of this request (borrow ended; traps if invalid)."""
    return current().table.get(store, handle, cls)


def traced(
    name: str,
    op: Callable[[], T],
    attributes: Mapping[str, AttributeValue] | None = None,
    *,
    blocking: bool = False,
) -> Callable[[], T]:
    """`op`, run inside a host-call span `name` when called (without the running permit when
    `blocking`)."""

    def run() -> T:
        with host_span(name, attributes=attributes):
            if not blocking:
                return op()
            with current().blocking():
                return op()

    return run
