"""Spin platform interfaces: error values for what spin-py does not serve, backends, linking.

Host functions are called directly (values lowered through the types a real Spin SDK
component declares); a WAT component links and runs against only the cli, filesystem,
sockets, Spin and io modules; the Spin SDK `hello` component instantiates against the full
linker (every import it has is defined).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from wasmtime.component import Component, FuncType, ResourceHost, Variant

from spin_py import spin_api
from spin_py.host.state import bind
from spin_py.manifest.model import Component as ManifestComponent
from spin_py.manifest.model import FileMount
from spin_py.runtime.composition import WASI_IO, AddToLinker, build_linker
from spin_py.runtime.engine import get_engine
from spin_py.spin_api import key_value, sqlite, variables
from spin_py.spin_api._support import InterfaceError
from spin_py.wasi import cli, filesystem, sockets
from tests.support.host_calls import Host, HostFunc, hello_component, hello_import_types
from tests.support.models import make_context

Types = dict[str, dict[str, FuncType]]

FUNCS: dict[tuple[str, str], HostFunc] = {
    (d.name, name): fn for d in spin_api.definitions() for name, fn in d.functions.items()
}
SPIN_FAMILIES = ("fermyon:spin/", "spin:", "wasi:keyvalue/", "wasi:config/")


def unsupported(case: str, feature: str) -> Variant:
    return Variant(case, f"spin-py does not support {feature} yet")


def not_configured(case: str, feature: str) -> Variant:
    return Variant(case, f"{feature} are not configured in this process")


@pytest.fixture(scope="module")
def types(built_component: Callable[[str], Path]) -> Types:
    return hello_import_types(built_component("hello"))


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[[str], Host]]:
    hosts: list[Host] = []

    def make(component_id: str = "stubbed") -> Host:
        host = Host(make_context(tmp_path, ManifestComponent(id=component_id, source="x.wasm")))
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


def call(host: Host, types: Types, iface: str, name: str, *args: Any) -> Any:
    """Call `iface`'s `name` and check the value lowers as the hello component declares it."""
    declared = types.get(iface) or types[iface.replace("@3.1.0", "@3.0.0")]
    return host.lowered(declared, name, FUNCS[(iface, name)], *args)


def test_every_spin_sdk_platform_import_is_defined(types: Types) -> None:
    defined = {d.name: set(d.functions) for d in spin_api.definitions()}
    imported = {name: set(funcs) for name, funcs in types.items() if name.startswith(SPIN_FAMILIES)}
    assert len(imported) == 16  # including the types-only fermyon:spin/rdbms-types
    for name, funcs in imported.items():
        assert name in defined, name
        assert funcs <= defined[name], (name, funcs - defined[name])


UNSUPPORTED_CALLS: list[tuple[str, str, tuple[Any, ...], Variant]] = [
    ("fermyon:spin/llm@2.0.0", "infer", ("llama2-chat", "hi", None),
     unsupported("runtime-error", "LLM inferencing")),
    ("fermyon:spin/llm@2.0.0", "generate-embeddings", ("all-minilm-l6-v2", ["hi"]),
     unsupported("runtime-error", "LLM inferencing")),
    ("fermyon:spin/redis@2.0.0", "[static]connection.open", ("redis://127.0.0.1",),
     unsupported("other", "outbound Redis")),
    ("fermyon:spin/mqtt@2.0.0", "[static]connection.open", ("mqtt://127.0.0.1", "u", "p", 30),
     unsupported("other", "MQTT")),
    ("fermyon:spin/postgres@2.0.0", "[static]connection.open", ("host=127.0.0.1",),
     unsupported("other", "PostgreSQL")),
    ("fermyon:spin/mysql@2.0.0", "[static]connection.open", ("mysql://127.0.0.1",),
     unsupported("other", "MySQL")),
    ("spin:postgres/postgres@3.0.0", "[static]connection.open", ("host=127.0.0.1",),
     unsupported("other", "PostgreSQL")),
    ("spin:postgres/postgres@4.0.0", "[static]connection.open", ("host=127.0.0.1",),
     unsupported("other", "PostgreSQL")),
]  # fmt: skip


def test_unsupported_calls_answer_error_values_and_warn_once_per_interface(
    make_host: Callable[[str], Host], types: Types, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="spin_py.spin_api")
    first, second = make_host("first"), make_host("second")
    for host in (first, second):
        for _ in range(3):
            for iface, name, args, expected in UNSUPPORTED_CALLS:
                assert call(host, types, iface, name, *args) == expected, (iface, name)
    warnings = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    interfaces = sorted({iface for iface, *_ in UNSUPPORTED_CALLS})
    expected_lines = [
        f"component {cid!r} called {iface}: " for cid in ("first", "second") for iface in interfaces
    ]
    assert len(warnings) == len(expected_lines)
    assert all(
        name.startswith("spin_py.spin_api") and level == logging.WARNING
        for name, level, _ in warnings
    )
    for prefix in expected_lines:
        assert sum(msg.startswith(prefix) for _, _, msg in warnings) == 1, prefix


UNCONFIGURED_CALLS: list[tuple[str, str, tuple[Any, ...], Variant]] = [
    ("fermyon:spin/key-value@2.0.0", "[static]store.open", ("default",),
     not_configured("other", "key-value stores")),
    ("wasi:keyvalue/store@0.2.0-draft2", "open", ("default",),
     not_configured("other", "key-value stores")),
    ("fermyon:spin/sqlite@2.0.0", "[static]connection.open", ("default",),
     not_configured("io", "SQLite databases")),
    ("spin:sqlite/sqlite@3.0.0", "[static]connection.open", ("default",),
     not_configured("io", "SQLite databases")),
    ("spin:sqlite/sqlite@3.1.0", "[static]connection.open", ("default",),
     not_configured("io", "SQLite databases")),
    ("fermyon:spin/variables@2.0.0", "get", ("api_host",), not_configured("other", "variables")),
    ("wasi:config/store@0.2.0-draft-2024-09-27", "get", ("api_host",),
     Variant("io", "variables are not configured in this process")),
    ("wasi:config/store@0.2.0-draft-2024-09-27", "get-all", (),
     Variant("io", "variables are not configured in this process")),
]  # fmt: skip


def test_without_platform_services_the_platform_calls_answer_errors(
    make_host: Callable[[str], Host], types: Types, caplog: pytest.LogCaptureFixture
) -> None:
    """A runtime built without `spin-py up`'s platform setup (RuntimeSettings.platform None)."""
    caplog.set_level(logging.WARNING, logger="spin_py.spin_api")
    host = make_host("bare")
    for iface, name, args, expected in UNCONFIGURED_CALLS:
        assert call(host, types, iface, name, *args) == expected, (iface, name)
    assert not [r for r in caplog.records if r.name.startswith("spin_py.spin_api")]


def test_methods_of_never_opened_resources_still_answer_errors(
    make_host: Callable[[str], Host], types: Types
) -> None:
    host = make_host("stubbed")
    fake = ResourceHost.own(12345, 1)  # no connection can exist: open always fails
    iface = "fermyon:spin/redis@2.0.0"
    assert call(host, types, iface, "[method]connection.incr", fake, "n") == unsupported(
        "other", "outbound Redis"
    )
    iface = "spin:postgres/postgres@4.0.0"
    got = call(host, types, iface, "[method]connection.query", fake, "select 1", [])
    assert got == unsupported("other", "PostgreSQL")


# --- the backend structure the platform-API work fills in ---------------------------------------


@dataclass
class MemoryStore:
    data: dict[str, bytes] = field(default_factory=dict)
    label: str = "default"
    system: str = "memory"

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key == "full":
            raise InterfaceError("store-table-full")
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return sorted(self.data)

    def increment(self, key: str, delta: int) -> int:
        value = int(self.data.get(key, b"0")) + delta
        self.data[key] = str(value).encode()
        return value

    def swap_if(self, key: str, expected: bytes | None, value: bytes) -> bool:
        if self.data.get(key) != expected:
            return False
        self.data[key] = value
        return True

    def get_many(self, keys: Sequence[str]) -> list[tuple[str, bytes | None]]:
        return [(key, self.data.get(key)) for key in keys]

    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.data.update(items)

    def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.data.pop(key, None)


@dataclass
class MemoryBackend:
    stores: dict[str, MemoryStore] = field(default_factory=lambda: {"default": MemoryStore()})

    def open(self, label: str) -> MemoryStore:
        if label == "forbidden":
            raise InterfaceError("access-denied")
        if label not in self.stores:
            raise InterfaceError("no-such-store")
        return self.stores[label]


def test_key_value_functions_over_a_backend(
    make_host: Callable[[str], Host], types: Types, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = MemoryBackend()
    monkeypatch.setattr(key_value.BACKEND, "make", lambda ctx: backend)
    host = make_host("kv")
    kv = "fermyon:spin/key-value@2.0.0"
    assert call(host, types, kv, "[static]store.open", "nope") == Variant("no-such-store")
    assert call(host, types, kv, "[static]store.open", "forbidden") == Variant("access-denied")
    s = call(host, types, kv, "[static]store.open", "default")
    assert isinstance(s, ResourceHost)
    assert call(host, types, kv, "[method]store.set", s, "k", b"v1") is None
    assert call(host, types, kv, "[method]store.get", s, "k") == b"v1"
    assert call(host, types, kv, "[method]store.get", s, "missing") is None
    assert call(host, types, kv, "[method]store.exists", s, "k") is True
    assert call(host, types, kv, "[method]store.get-keys", s) == ["k"]
    assert call(host, types, kv, "[method]store.set", s, "full", b"x") == Variant(
        "store-table-full"
    )

    store = "wasi:keyvalue/store@0.2.0-draft2"
    b = call(host, types, store, "open", "default")
    assert call(host, types, store, "[method]bucket.get", b, "k") == b"v1"
    assert call(host, types, store, "[method]bucket.set", b, "full", b"x") == Variant(
        "other", "store-table-full"
    )
    listed = call(host, types, store, "[method]bucket.list-keys", b, None)
    assert (listed.keys, listed.cursor) == (["k"], None)
    assert call(host, types, store, "open", "forbidden") == Variant("access-denied")

    atomics = "wasi:keyvalue/atomics@0.2.0-draft2"
    assert call(host, types, atomics, "increment", b, "n", 5) == 5
    assert call(host, types, atomics, "increment", b, "n", -2) == 3
    cas = call(host, types, atomics, "[static]cas.new", b, "k")
    assert call(host, types, atomics, "[method]cas.current", cas) == b"v1"
    assert call(host, types, atomics, "swap", cas, b"v2") is None
    stale = call(host, types, atomics, "[static]cas.new", b, "k")
    backend.stores["default"].data["k"] = b"changed"
    fresh = call(host, types, atomics, "swap", stale, b"v3")
    assert isinstance(fresh, ResourceHost)
    assert call(host, types, atomics, "[method]cas.current", fresh) == b"changed"

    batch = "wasi:keyvalue/batch@0.2.0-draft2"
    assert call(host, types, batch, "set-many", b, [("a", b"1"), ("b", b"2")]) is None
    assert call(host, types, batch, "get-many", b, ["a", "zz"]) == [("a", b"1"), ("zz", None)]
    assert call(host, types, batch, "delete-many", b, ["a", "b"]) is None
    assert call(host, types, kv, "[method]store.exists", s, "a") is False
    assert call(host, types, kv, "[method]store.delete", s, "k") is None
    assert backend.stores["default"].data == {"n": b"3"}


def test_a_backend_error_of_option_results_lowers(
    make_host: Callable[[str], Host], types: Types, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing(MemoryStore):
        def get(self, key: str) -> bytes | None:
            raise InterfaceError("other", "disk on fire")

    monkeypatch.setattr(
        key_value.BACKEND, "make", lambda ctx: MemoryBackend({"default": Failing()})
    )
    host = make_host("kv-failing")
    kv = "fermyon:spin/key-value@2.0.0"
    s = call(host, types, kv, "[static]store.open", "default")
    assert call(host, types, kv, "[method]store.get", s, "k") == Variant("other", "disk on fire")


@dataclass
class FakeConnection:
    executed: list[tuple[str, list[Any]]] = field(default_factory=list)

    def execute(
        self, statement: str, parameters: list[Any], stop: Callable[[], bool] | None = None
    ) -> sqlite.QueryResult:
        self.executed.append((statement, parameters))
        return sqlite.QueryResult(["i", "r", "t", "b", "n"], [[1, 2.5, "three", b"\x04", None]])

    def last_insert_rowid(self) -> int:
        return 7

    def changes(self) -> int:
        return 1


def test_sqlite_functions_over_a_backend(
    make_host: Callable[[str], Host], types: Types, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = FakeConnection()

    class Backend:
        def open(self, database: str) -> FakeConnection:
            if database != "default":
                raise InterfaceError("no-such-database")
            return conn

    monkeypatch.setattr(sqlite.BACKEND, "make", lambda ctx: Backend())
    host = make_host("db")
    for iface in ("fermyon:spin/sqlite@2.0.0", "spin:sqlite/sqlite@3.0.0"):
        assert call(host, types, iface, "[static]connection.open", "other") == Variant(
            "no-such-database"
        )
        c = call(host, types, iface, "[static]connection.open", "default")
        result = call(host, types, iface, "[method]connection.execute", c, "select ?", [1, "x"])
        assert result.columns == ["i", "r", "t", "b", "n"]
        assert [row.values for row in result.rows] == [[1, 2.5, "three", b"\x04", None]]
    assert call(host, types, iface, "[method]connection.last-insert-rowid", c) == 7
    assert call(host, types, iface, "[method]connection.changes", c) == 1
    assert conn.executed == [("select ?", [1, "x"])] * 2


def test_variables_over_a_backend(
    make_host: Callable[[str], Host], types: Types, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Backend:
        def get(self, name: str) -> str:
            if name == "bad-name":
                raise InterfaceError("invalid-name", name)
            if name != "api_host":
                raise InterfaceError("undefined", name)
            return "example.test"

        def get_all(self) -> list[tuple[str, str]]:
            return [("api_host", "example.test")]

    monkeypatch.setattr(variables.BACKEND, "make", lambda ctx: Backend())
    host = make_host("vars")
    spin_vars = "fermyon:spin/variables@2.0.0"
    assert call(host, types, spin_vars, "get", "api_host") == "example.test"
    assert call(host, types, spin_vars, "get", "nope") == Variant("undefined", "nope")
    config = "wasi:config/store@0.2.0-draft-2024-09-27"
    assert call(host, types, config, "get", "api_host") == "example.test"
    assert call(host, types, config, "get", "nope") is None
    assert call(host, types, config, "get", "bad-name") is None
    assert call(host, types, config, "get-all") == [("api_host", "example.test")]


# --- linking ------------------------------------------------------------------------------------

OWN_MODULES: tuple[AddToLinker, ...] = (
    *WASI_IO,
    cli.add_to_linker,
    filesystem.add_to_linker,
    sockets.add_to_linker,
    spin_api.add_to_linker,
)

ERROR_CODES = " ".join(
    f'"{code}"'
    for code in [
        "access",
        "would-block",
        "already",
        "bad-descriptor",
        "busy",
        "deadlock",
        "quota",
        "exist",
        "file-too-large",
        "illegal-byte-sequence",
        "in-progress",
        "interrupted",
        "invalid",
        "io",
        "is-directory",
        "loop",
        "too-many-links",
        "message-size",
        "name-too-long",
        "no-device",
        "no-entry",
        "no-lock",
        "insufficient-memory",
        "insufficient-space",
        "not-directory",
        "not-empty",
        "not-recoverable",
        "unsupported",
        "no-tty",
        "no-such-device",
        "overflow",
        "not-permitted",
        "pipe",
        "read-only",
        "invalid-seek",
        "text-file-busy",
        "cross-device",
    ]
)

# Imports cli/environment at 0.2.0 and filesystem at 0.2.3 (the host defines 0.2.6), and the
# key-value store resource. Each export calls one import and returns what it saw as a number.
WAT = r"""
(component
  (import "wasi:cli/environment@0.2.0" (instance $env
    (export "get-environment" (func (result (list (tuple string string)))))))
  (import "wasi:filesystem/types@0.2.3" (instance $fst
    (export "descriptor" (type $d (sub resource)))
    (type $dt (enum "unknown" "block-device" "character-device" "directory" "fifo"
                    "symbolic-link" "regular-file" "socket"))
    (export "descriptor-type" (type $dte (eq $dt)))
    (type $ec (enum ERROR_CODES))
    (export "error-code" (type $ece (eq $ec)))
    (export "[method]descriptor.get-type"
      (func (param "self" (borrow $d)) (result (result $dte (error $ece)))))))
  (alias export $fst "descriptor" (type $descriptor))
  (import "wasi:filesystem/preopens@0.2.3" (instance $pre
    (alias outer 1 $descriptor (type $d))
    (export "descriptor" (type $de (eq $d)))
    (export "get-directories" (func (result (list (tuple (own $de) string)))))))
  (import "fermyon:spin/key-value@2.0.0" (instance $kv
    (export "store" (type $store (sub resource)))
    (type $error (variant (case "store-table-full") (case "no-such-store")
                          (case "access-denied") (case "other" string)))
    (export "error" (type $err (eq $error)))
    (export "[static]store.open"
      (func (param "label" string) (result (result (own $store) (error $err)))))))

  (core module $mem_mod
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      global.get $bump local.get 2 i32.add i32.const -1 i32.add
      i32.const 0 local.get 2 i32.sub i32.and local.set $r
      local.get $r local.get 3 i32.add global.set $bump
      local.get $r))
  (core instance $mem (instantiate $mem_mod))
  (alias core export $mem "memory" (core memory $memory))
  (alias core export $mem "realloc" (core func $realloc))
  (core func $get_env
    (canon lower (func $env "get-environment") (memory $memory) (realloc $realloc)))
  (core func $get_dirs
    (canon lower (func $pre "get-directories") (memory $memory) (realloc $realloc)))
  (core func $get_type (canon lower (func $fst "[method]descriptor.get-type") (memory $memory)))
  (core func $kv_open
    (canon lower (func $kv "[static]store.open") (memory $memory) (realloc $realloc)))
  (core module $main
    (import "host" "get-env" (func $get_env (param i32)))
    (import "host" "get-dirs" (func $get_dirs (param i32)))
    (import "host" "get-type" (func $get_type (param i32 i32)))
    (import "host" "kv-open" (func $kv_open (param i32 i32 i32)))
    (import "mem" "memory" (memory 1))
    (data (i32.const 0) "default")
    ;; number of environment pairs
    (func (export "env-count") (result i32)
      (call $get_env (i32.const 64)) (i32.load (i32.const 68)))
    ;; number of preopens
    (func (export "dir-count") (result i32)
      (call $get_dirs (i32.const 64)) (i32.load (i32.const 68)))
    ;; get-type of the first preopen: result discriminant * 100 + enum index
    (func (export "root-type") (result i32)
      (call $get_dirs (i32.const 64))
      (call $get_type (i32.load (i32.load (i32.const 64))) (i32.const 96))
      (i32.add (i32.mul (i32.load8_u (i32.const 96)) (i32.const 100))
               (i32.load8_u (i32.const 97))))
    ;; store.open("default"): result discriminant * 10 + error case
    (func (export "kv-open") (result i32)
      (call $kv_open (i32.const 0) (i32.const 7) (i32.const 128))
      (i32.add (i32.mul (i32.load8_u (i32.const 128)) (i32.const 10))
               (i32.load8_u (i32.const 132)))))
  (core instance $m (instantiate $main
    (with "host" (instance
      (export "get-env" (func $get_env)) (export "get-dirs" (func $get_dirs))
      (export "get-type" (func $get_type)) (export "kv-open" (func $kv_open))))
    (with "mem" (instance $mem))))
  (func (export "env-count") (result u32) (canon lift (core func $m "env-count")))
  (func (export "dir-count") (result u32) (canon lift (core func $m "dir-count")))
  (func (export "root-type") (result u32) (canon lift (core func $m "root-type")))
  (func (export "kv-open") (result u32) (canon lift (core func $m "kv-open")))
)
""".replace("ERROR_CODES", ERROR_CODES)


def test_a_wat_component_links_and_runs_against_these_modules(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    component = ManifestComponent(
        id="linked",
        source="linked.wasm",
        environment=(("A", "1"), ("B", "2"), ("C", "3")),
        files=(FileMount("f.txt"),),
    )
    host = Host(make_context(tmp_path, component))
    engine = get_engine()
    linker = build_linker(engine, OWN_MODULES)
    wat = Component(engine, WAT)
    with bind(host.state):
        instance = linker.instantiate(host.store, wat)
        results = {
            name: instance.get_func(host.store, name)(host.store)  # type: ignore[misc]
            for name in ("env-count", "dir-count", "root-type", "kv-open")
        }
    host.close()
    # 3 pairs; 1 preopen; ok(directory = case 3); err(other = case 3: no platform services)
    assert results == {"env-count": 3, "dir-count": 1, "root-type": 3, "kv-open": 13}


def test_the_spin_sdk_hello_component_instantiates(
    built_component: Callable[[str], Path], tmp_path: Path
) -> None:
    """Every import of a Spin SDK 3.4.1 component is defined (with matching types)."""
    component = hello_component(built_component("hello"))
    host = Host(make_context(tmp_path))
    with bind(host.state):
        build_linker(get_engine()).instantiate(host.store, component)
    host.close()
