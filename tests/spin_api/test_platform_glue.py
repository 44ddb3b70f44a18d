"""The platform interfaces over the real backends, called as a guest would (values lowered
through the types a real Spin SDK component declares): what HTTP tests cannot reach.

- `spin:sqlite/sqlite@3.1.0` (no Spin SDK 3.4.1 component imports it) on a real database;
- a guest dropping a `connection` closes its SQLite connection, and the end of a request
  closes those still open;
- each interface's `BACKEND` reads the component's gates from the manifest model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wasmtime.component import FuncType, ResourceHost, Variant

from spin_py import spin_api
from spin_py.host.linking import _drop
from spin_py.host.state import bind
from spin_py.manifest.model import App, Component, Variable
from spin_py.platform.runtime_config import RuntimeConfig
from spin_py.platform.services import PlatformServices, open_platform
from spin_py.spin_api.sqlite import ConnectionHandle
from tests.support.host_calls import Host, HostFunc, hello_import_types
from tests.support.models import make_context

Types = dict[str, dict[str, FuncType]]
FUNCS: dict[tuple[str, str], HostFunc] = {
    (d.name, name): fn for d in spin_api.definitions() for name, fn in d.functions.items()
}
V31 = "spin:sqlite/sqlite@3.1.0"


@pytest.fixture(scope="module")
def types(built_component: Callable[[str], Path]) -> Types:
    return hello_import_types(built_component("hello"))


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    component = Component(
        id="glue",
        source="glue.wasm",
        key_value_stores=("default",),
        sqlite_databases=("default",),
        variables=(("who", "{{ name }}"),),
    )
    app = App(
        manifest_path=tmp_path / "spin.toml",
        name="glue-app",
        variables=(Variable(name="name", default="world"),),
        components={component.id: component},
    )
    services: PlatformServices = open_platform(
        app, state_dir=tmp_path / "state", runtime_config=RuntimeConfig(), env={}, cwd=tmp_path
    )
    host = Host(make_context(tmp_path, component, extensions=(services,)))
    yield host
    host.close()
    services.close()


def call(host: Host, types: Types, iface: str, name: str, *args: Any) -> Any:
    declared = types.get(iface) or types[iface.replace("@3.1.0", "@3.0.0")]
    return host.lowered(declared, name, FUNCS[(iface, name)], *args)


def test_sqlite_3_1_sync_functions_on_a_real_database(host: Host, types: Types) -> None:
    assert call(host, types, V31, "[static]connection.open", "elsewhere") == Variant(
        "access-denied"
    )
    conn = call(host, types, V31, "[static]connection.open", "default")
    assert isinstance(conn, ResourceHost)
    execute = "[method]connection.execute"
    call(host, types, V31, execute, conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, v)", [])
    call(host, types, V31, execute, conn, "INSERT INTO t (v) VALUES (?), (?)", [b"\x01", 2.5])
    assert call(host, types, V31, "[method]connection.last-insert-rowid", conn) == 2
    assert call(host, types, V31, "[method]connection.changes", conn) == 2
    result = call(host, types, V31, execute, conn, "SELECT id, v FROM t ORDER BY id", [])
    assert result.columns == ["id", "v"]
    assert [row.values for row in result.rows] == [[1, b"\x01"], [2, 2.5]]
    assert call(host, types, V31, execute, conn, "SELEKT", []) == Variant(
        "io", 'near "SELEKT": syntax error'
    )


def test_dropped_and_leftover_connections_are_closed(host: Host, types: Types) -> None:
    first = call(host, types, V31, "[static]connection.open", "default")
    second = call(host, types, V31, "[static]connection.open", "default")
    handles = [host.obj(h) for h in (first, second)]
    assert all(isinstance(h, ConnectionHandle) for h in handles)
    with bind(host.state):
        _drop(host.store, first.rep)  # the guest drops `first`
    dropped, kept = handles
    assert dropped.connection._closed  # type: ignore[union-attr, attr-defined]
    assert not kept.connection._closed  # type: ignore[union-attr, attr-defined]
    for obj in reversed(host.state.table.clear()):  # what the invoker does at request end
        obj.close()  # type: ignore[attr-defined]
    assert kept.connection._closed  # type: ignore[union-attr, attr-defined]


def test_variables_and_key_value_read_the_component_model(host: Host, types: Types) -> None:
    assert call(host, types, "fermyon:spin/variables@2.0.0", "get", "who") == "world"
    config = "wasi:config/store@0.2.0-draft-2024-09-27"
    assert call(host, types, config, "get-all") == [("who", "world")]
    kv = "fermyon:spin/key-value@2.0.0"
    assert call(host, types, kv, "[static]store.open", "other") == Variant("access-denied")
    store = call(host, types, kv, "[static]store.open", "default")
    assert call(host, types, kv, "[method]store.set", store, "k", b"v") is None
    assert call(host, types, kv, "[method]store.get", store, "k") == b"v"
