"""Variables: `fermyon:spin/variables@2.0.0` and `wasi:config/store@0.2.0-draft-2024-09-27`.

Both read one backend (`VariablesBackend`: the component's resolved variables). Until
variables land, `make_backend` returns a backend that raises `Unsupported`, answered as the
interface's error (`other(...)` / `upstream(...)`) with one warning per component; the real
resolver replaces `make_backend` and nothing else.

`spin:variables/variables@3.0.0` is not defined: its `get` is component-model async, which
wasmtime-py cannot host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from wasmtime.component import LinkerInstance

from spin_py.runtime import wit
from spin_py.runtime.context import ComponentContext
from spin_py.runtime.state import current
from spin_py.spin._support import (
    ERROR,
    Interface,
    InterfaceDef,
    Unsupported,
    define,
)

SPIN_VARIABLES = Interface("fermyon:spin/variables@2.0.0", "other")
WASI_CONFIG = Interface(
    "wasi:config/store@0.2.0-draft-2024-09-27", "upstream", frozenset({"upstream", "io"})
)

R_STRING = wit.result(wit.STR, ERROR)
R_OPTION = wit.result(wit.option(wit.STR), ERROR)
R_LIST = wit.result(wit.LIST, ERROR)


class VariablesBackend(Protocol):
    """A component's variables. Failures raise errors carrying `case`/`payload` (e.g.
    `InterfaceError("undefined", name)`, `invalid-name`, `provider`): the fermyon cases, which
    wasi:config maps to `none` (undefined) or `upstream(...)`."""

    def get(self, name: str) -> str: ...
    def get_all(self) -> list[tuple[str, str]]: ...


class UnsupportedVariables:
    """The backend until variables are implemented."""

    def get(self, name: str) -> str:
        raise Unsupported("variables")

    def get_all(self) -> list[tuple[str, str]]:
        raise Unsupported("variables")


@dataclass(frozen=True)
class _Backend:
    backend: VariablesBackend


def make_backend(ctx: ComponentContext) -> VariablesBackend:
    """The variables backend of one component."""
    return UnsupportedVariables()


def backend() -> VariablesBackend:
    """The current request's component's backend (made once per component)."""
    return current().component.ext(_Backend, lambda c: _Backend(make_backend(c))).backend


def get(store: Any, name: str) -> Any:
    """`fermyon:spin/variables.get`."""
    return SPIN_VARIABLES.guarded(R_STRING, lambda: backend().get(name))


def config_get(store: Any, key: str) -> Any:
    """`wasi:config/store.get`: `none` for an undefined key."""

    def run() -> str | None:
        try:
            return backend().get(key)
        except Exception as exc:
            if getattr(exc, "case", None) == "undefined":
                return None
            raise

    return WASI_CONFIG.guarded(R_OPTION, run)


def config_get_all(store: Any) -> Any:
    """`wasi:config/store.get-all`."""
    return WASI_CONFIG.guarded(R_LIST, lambda: list(backend().get_all()))


def definitions() -> list[InterfaceDef]:
    """`fermyon:spin/variables@2.0.0` and `wasi:config/store`."""
    return [
        InterfaceDef(SPIN_VARIABLES.name, (), {"get": get}),
        InterfaceDef(WASI_CONFIG.name, (), {"get": config_get, "get-all": config_get_all}),
    ]


def add_to_linker(root: LinkerInstance) -> None:
    """Define the variables interfaces."""
    define(root, definitions())
