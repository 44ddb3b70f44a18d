"""Spin platform interfaces: `fermyon:spin/*@2.0.0`, `spin:*`, `wasi:keyvalue`, `wasi:config`.

One module per interface family. Key-value, SQLite and variables sit on a backend protocol; each
interface's `BACKEND` (`_support.PlatformBackend`) hands each component the process's platform
services (`spin_py.platform`, attached as a `RuntimeSettings` extension) behind the component's
manifest grants. LLM, Redis, MQTT, PostgreSQL and MySQL are linked and answer their interface's
error ("spin-py does not support ... yet").
"""

from __future__ import annotations

from wasmtime.component import LinkerInstance

from spin_py.spin_api import key_value, llm, mqtt, rdbms, redis, sqlite, variables
from spin_py.spin_api._support import InterfaceDef, define

MODULES = (key_value, sqlite, variables, llm, redis, mqtt, rdbms)


def definitions() -> list[InterfaceDef]:
    """Every Spin platform interface spin-py links, with its resources and functions."""
    return [d for module in MODULES for d in module.definitions()]


def add_to_linker(root: LinkerInstance) -> None:
    """Define every Spin platform interface a Spin SDK component may import."""
    define(root, definitions())
