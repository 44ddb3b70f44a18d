"""Variables: `fermyon:spin/variables@2.0.0` and `wasi:config/store@0.2.0-draft-2024-09-27`.

Both read one backend (`VariablesBackend`: the component's variables): `BACKEND` gives a
component the process's resolver (`spin_py.platform.variables`), which renders the component's
`{{ name }}` templates over the application variables resolved at startup.

Errors: `fermyon:spin/variables` answers the backend's case (`invalid-name`, `undefined`,
`provider`, `other`). `wasi:config/store.get` answers `none` for an undefined or invalid name
(the wasi-config guidance), `upstream(...)` when a provider has no value, `io(...)` otherwise;
`get-all` answers `upstream(...)` or `io(...)`.

Calls run in host-call spans `spin_variables.get` / `spin_variables.get_all` carrying the
variable name; values (secret or not) never reach spans or logs.

`spin:variables/variables@3.0.0` is not defined: its `get` is component-model async, which
wasmtime-py cannot host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance

from spin_py.host import wit
from spin_py.host.context import ComponentContext
from spin_py.host.table import Store
from spin_py.platform.services import PlatformServices
from spin_py.platform.variables import VariableResolver
from spin_py.spin_api._support import (
    ERROR,
    Interface,
    InterfaceDef,
    InterfaceError,
    NotConfigured,
    PlatformBackend,
    define,
    traced,
)
from spin_py.telemetry.semconv import SPIN_VARIABLE_NAME

SPIN_VARIABLES = Interface("fermyon:spin/variables@2.0.0", "other")
WASI_CONFIG = Interface(
    "wasi:config/store@0.2.0-draft-2024-09-27", "io", frozenset({"upstream", "io"})
)

R_STRING = wit.result(wit.STR, ERROR)
R_OPTION = wit.result(wit.option(wit.STR), ERROR)
R_LIST = wit.result(wit.LIST, ERROR)

GET_SPAN = "spin_variables.get"
GET_ALL_SPAN = "spin_variables.get_all"


class VariablesBackend(Protocol):
    """A component's variables. Failures raise errors carrying `case`/`payload` (the fermyon
    cases: `invalid-name`, `undefined`, `provider`, `other`, each with a message)."""

    def get(self, name: str) -> str: ...
    def get_all(self) -> list[tuple[str, str]]: ...


class UnconfiguredVariables:
    """The backend of a runtime without platform services."""

    def get(self, name: str) -> str:
        raise NotConfigured("other", "variables")

    def get_all(self) -> list[tuple[str, str]]:
        raise NotConfigured("other", "variables")


@dataclass(frozen=True)
class ComponentVariables:
    """One component's variables, from the process's resolver."""

    resolver: VariableResolver
    component_id: str

    def get(self, name: str) -> str:
        return self.resolver.resolve(self.component_id, name)

    def get_all(self) -> list[tuple[str, str]]:
        return self.resolver.get_all(self.component_id)


def _component_variables(services: PlatformServices, ctx: ComponentContext) -> VariablesBackend:
    """The process's variable resolver, seen by one component."""
    return ComponentVariables(services.variables, ctx.id)


BACKEND = PlatformBackend(VariablesBackend, _component_variables, UnconfiguredVariables)


def get(store: Store, name: str) -> Any:
    """`fermyon:spin/variables.get`."""
    run = traced(GET_SPAN, lambda: BACKEND.current().get(name), {SPIN_VARIABLE_NAME: name})
    return SPIN_VARIABLES.guarded(R_STRING, run)


def _as_config_error(exc: Exception) -> InterfaceError:
    """A variables failure as a wasi:config `error` (`upstream` for a provider failure)."""
    case = "upstream" if getattr(exc, "case", None) == "provider" else "io"
    return InterfaceError(case, str(getattr(exc, "payload", None) or exc))


def config_get(store: Store, key: str) -> Any:
    """`wasi:config/store.get`: `none` for an undefined or invalid name."""

    def run() -> str | None:
        try:
            return BACKEND.current().get(key)
        except Exception as exc:
            case = getattr(exc, "case", None)
            if case in ("undefined", "invalid-name"):
                return None
            if not isinstance(case, str):
                raise
            raise _as_config_error(exc) from exc

    return WASI_CONFIG.guarded(R_OPTION, traced(GET_SPAN, run, {SPIN_VARIABLE_NAME: key}))


def config_get_all(store: Store) -> Any:
    """`wasi:config/store.get-all`: every variable of the component with its value."""

    def run() -> list[tuple[str, str]]:
        try:
            return list(BACKEND.current().get_all())
        except Exception as exc:
            if not isinstance(getattr(exc, "case", None), str):
                raise
            raise _as_config_error(exc) from exc

    return WASI_CONFIG.guarded(R_LIST, traced(GET_ALL_SPAN, run))


def definitions() -> list[InterfaceDef]:
    """`fermyon:spin/variables@2.0.0` and `wasi:config/store`."""
    return [
        InterfaceDef(SPIN_VARIABLES.name, (), {"get": get}),
        InterfaceDef(WASI_CONFIG.name, (), {"get": config_get, "get-all": config_get_all}),
    ]


def add_to_linker(root: LinkerInstance) -> None:
    """Define the variables interfaces."""
    define(root, definitions())
