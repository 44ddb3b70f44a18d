"""Key-value through real components over real HTTP: `fermyon:spin/key-value@2.0.0` and
`wasi:keyvalue/{store,atomics,batch}`, on the default SQLite store and on a real Redis.

The `platform-probe` component runs each function (and its error cases) in a real `spin-py up`;
`kv-counter` (the example app) shows label gating and persistence across a restart.

`no-such-store` cannot reach a guest of a valid app, as in Spin: an unlisted label is
`access-denied` (checked first), and startup refuses a listed label no store has. The case
itself is covered where the backend raises it (tests/platform/test_kv_stores.py) and lowered
(tests/spin/test_stubs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.http_apps import calls, err, get, hexed, ok, write_app
from tests.support.server_fixtures import SpinPyProcess, run_spin_py

Start = Callable[..., SpinPyProcess]


@pytest.fixture
def kv_counter(example_app: Callable[[str], Path]) -> Path:
    """`manifests/kv-counter`, its component built and compiled."""
    return example_app("kv-counter")


@dataclass(frozen=True)
class Backend:
    """How a test's stores are configured: `args` for `spin-py up`."""

    name: str
    args: tuple[str, ...]


def runtime_config(directory: Path, kind: str, redis_url: str | None) -> Path:
    """`default` and `other` on the backend `kind` (`other` is never granted to the probe)."""
    path = directory / "runtime-config.toml"
    if kind == "redis":
        text = "".join(
            f'[key_value_store.{label}]\ntype = "redis"\nurl = "{redis_url}"\n'
            for label in ("default", "other")
        )
    else:
        text = '[key_value_store.other]\ntype = "spin"\npath = "other.db"\n'
    path.write_text(text)
    return path


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    config = runtime_config(tmp_path, request.param, redis_url)
    state = tmp_path / "state"
    return Backend(request.param, ("--runtime-config-file", str(config), "--state-dir", str(state)))


@pytest.fixture
def probe(ready_component: Callable[[str], Path], tmp_path: Path) -> Path:
    """A manifest serving the probe, granted the store `default` only."""
    return write_app(
        tmp_path / "app", ready_component("platform-probe"), key_value_stores=["default"]
    )


def test_spin_key_value_every_function(
    spin_py_server: Start, probe: Path, backend: Backend
) -> None:
    server = spin_py_server(probe, *backend.args, "-q")
    results = calls(
        server,
        [
            ["kv.open", "s", "default"],
            ["kv.get", "s", "missing"],
            ["kv.set", "s", "k", "v1"],
            ["kv.get", "s", "k"],
            ["kv.set", "s", "k", "v2"],
            ["kv.get", "s", "k"],
            ["kv.set", "s", "empty", ""],
            ["kv.get", "s", "empty"],
            ["kv.exists", "s", "k"],
            ["kv.exists", "s", "missing"],
            ["kv.get_keys", "s"],
            ["kv.delete", "s", "k"],
            ["kv.delete", "s", "never-there"],
            ["kv.exists", "s", "k"],
            ["kv.get_keys", "s"],
            ["kv.open", "x", "nope"],
            ["kv.open", "y", "other"],
            ["kv.close", "s"],
        ],
    )
    assert results == [
        ok(),
        ok(None),
        ok(),
        ok(hexed(b"v1")),
        ok(),
        ok(hexed(b"v2")),
        ok(),
        ok(hexed(b"")),
        ok(True),
        ok(False),
        ok(["empty", "k"]),
        ok(),
        ok(),
        ok(False),
        ok(["empty"]),
        err("access-denied"),  # checked first, as in Spin: an unlisted label is denied
        err("access-denied"),
        ok(),
    ]
    # a later request (a new instance) sees the data
    assert calls(server, [["kv.open", "s", "default"], ["kv.get_keys", "s"]]) == [
        ok(),
        ok(["empty"]),
    ]


def test_wasi_keyvalue_store_atomics_and_batch(
    spin_py_server: Start, probe: Path, backend: Backend
) -> None:
    server = spin_py_server(probe, *backend.args, "-q")
    results = calls(
        server,
        [
            ["wkv.open", "b", "default"],
            ["wkv.set", "b", "k", "v1"],
            ["wkv.get", "b", "k"],
            ["wkv.get", "b", "missing"],
            ["wkv.exists", "b", "k"],
            ["wkv.list_keys", "b", None],
            ["wkv.list_keys", "b", "some-cursor"],
            ["wkv.increment", "b", "n", 5],
            ["wkv.increment", "b", "n", -2],
            ["wkv.increment", "b", "fresh", 0],
            ["wkv.increment", "b", "k", 1],
            ["wkv.delete", "b", "k"],
            ["wkv.exists", "b", "k"],
            ["wkv.open", "x", "nope"],
            ["wkv.open", "y", "other"],
        ],
    )
    assert results[:6] == [
        ok(),
        ok(),
        ok(hexed(b"v1")),
        ok(None),
        ok(True),
        ok({"keys": ["k"], "cursor": None}),
    ]
    assert results[6] == err("other", "list-keys: cursor not supported")
    assert results[7:10] == [ok(5), ok(3), ok(0)]
    assert results[10]["err"] == "other"  # "v1" is not a counter
    assert results[11:] == [ok(), ok(False), err("access-denied"), err("access-denied")]

    results = calls(
        server,
        [
            ["wkv.open", "b", "default"],
            ["wkv.set", "b", "k", "v1"],
            ["wkv.cas_new", "c", "b", "k"],
            ["wkv.cas_current", "c"],
            ["wkv.swap", "c", "v2"],
            ["wkv.get", "b", "k"],
            # a stale cas: the value changed after it was made
            ["wkv.cas_new", "c", "b", "k"],
            ["wkv.set", "b", "k", "changed"],
            ["wkv.swap", "c", "v3"],
            ["wkv.cas_current", "c"],  # the fresh cas handed back by cas-failed
            ["wkv.swap", "c", "v4"],
            ["wkv.get", "b", "k"],
            # a cas on an absent key inserts, unless someone else did first
            ["wkv.cas_new", "a", "b", "absent"],
            ["wkv.cas_current", "a"],
            ["wkv.cas_new", "a2", "b", "absent"],
            ["wkv.swap", "a", "first"],
            ["wkv.swap", "a2", "second"],
            ["wkv.get", "b", "absent"],
        ],
    )
    assert results == [
        ok(),
        ok(),
        ok(),
        ok(hexed(b"v1")),
        ok(),
        ok(hexed(b"v2")),
        ok(),
        ok(),
        err("cas-failed", "Cas"),
        ok(hexed(b"changed")),
        ok(),
        ok(hexed(b"v4")),
        ok(),
        ok(None),
        ok(),
        ok(),
        err("cas-failed", "Cas"),
        ok(hexed(b"first")),
    ]

    results = calls(
        server,
        [
            ["wkv.open", "b", "default"],
            ["wkv.set_many", "b", [["a", "1"], ["b", "2"], ["c", "3"]]],
            ["wkv.get_many", "b", ["a", "zz", "c"]],
            ["wkv.get_many", "b", []],
            ["wkv.delete_many", "b", ["a", "b", "zz"]],
            ["wkv.get_many", "b", ["a", "b", "c"]],
            ["wkv.set_many", "b", []],
            ["wkv.delete_many", "b", []],
        ],
    )
    assert results == [
        ok(),
        ok(),
        ok([["a", hexed(b"1")], ["zz", None], ["c", hexed(b"3")]]),
        ok([]),
        ok(),
        ok([["a", None], ["b", None], ["c", hexed(b"3")]]),
        ok(),
        ok(),
    ]


def test_the_two_interfaces_share_the_store_and_see_key_value_seeds(
    spin_py_server: Start, probe: Path, backend: Backend
) -> None:
    server = spin_py_server(
        probe, *backend.args, "--key-value", "seeded=hello", "--key-value", "eq=a=b", "-q"
    )
    results = calls(
        server,
        [
            ["kv.open", "s", "default"],
            ["wkv.open", "b", "default"],
            ["kv.get", "s", "seeded"],
            ["wkv.get", "b", "eq"],
            ["kv.set", "s", "from-spin", "1"],
            ["wkv.get", "b", "from-spin"],
            ["wkv.increment", "b", "n", 7],
            ["kv.exists", "s", "n"],
        ],
    )
    assert results == [
        ok(),
        ok(),
        ok(hexed(b"hello")),
        ok(hexed(b"a=b")),
        ok(),
        ok(hexed(b"1")),
        ok(7),
        ok(True),
    ]


def test_store_table_full(spin_py_server: Start, probe: Path, tmp_path: Path) -> None:
    server = spin_py_server(probe, "--state-dir", str(tmp_path / "state"), "-q")
    opens = [["kv.open", f"s{i}", "default"] for i in range(256)]
    results = calls(
        server,
        [
            *opens,
            ["kv.open", "one-too-many", "default"],
            ["wkv.open", "b-too-many", "default"],
            ["kv.close", "s0"],
            ["wkv.open", "b", "default"],
        ],
    )
    assert results[:256] == [ok()] * 256
    assert results[256:] == [
        err("store-table-full"),
        err("other", "store table full"),
        ok(),
        ok(),
    ]


def test_a_component_without_the_label_is_denied_not_crashed(
    spin_py_server: Start,
    ready_component: Callable[[str], Path],
    kv_counter: Path,
    tmp_path: Path,
) -> None:
    manifest = write_app(tmp_path / "app", ready_component("platform-probe"))
    server = spin_py_server(manifest, "--state-dir", str(tmp_path / "state"), "-q")
    results = calls(server, [["kv.open", "s", "default"], ["wkv.open", "b", "default"]])
    assert results == [err("access-denied"), err("access-denied")]
    # the example app, pointed at a store its manifest does not grant
    counter = spin_py_server(
        kv_counter, "--state-dir", str(tmp_path / "c"), "--variable", "counter_store=elsewhere"
    )
    assert get(counter.base_url, "/counter") == (500, b"AccessDenied")
    assert get(counter.base_url, "/counter") == (500, b"AccessDenied")
    finished = counter.stop()
    assert finished.returncode == 0
    assert "trapped" not in finished.stderr


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_kv_counter_persists_across_a_restart(
    spin_py_server: Start,
    kv_counter: Path,
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    args = ["--state-dir", str(tmp_path / "state"), "-q"]
    if kind == "redis":
        config = runtime_config(tmp_path, "redis", request.getfixturevalue("redis_url"))
        args += ["--runtime-config-file", str(config)]
    first = spin_py_server(kv_counter, *args)
    assert [get(first.base_url, "/counter") for _ in range(3)] == [
        (200, b"1"),
        (200, b"2"),
        (200, b"3"),
    ]
    assert first.stop().returncode == 0
    second = spin_py_server(kv_counter, *args)
    assert get(second.base_url, "/counter") == (200, b"4")
    if kind == "sqlite":
        assert (tmp_path / "state" / "sqlite_key_value.db").is_file()


def test_unknown_store_label_stops_startup(
    ready_component: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(
        tmp_path / "app", ready_component("platform-probe"), key_value_stores=["default", "nope"]
    )
    result = run_spin_py("up", "-f", str(manifest), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'Error: unknown key_value_stores label "nope" for component "probe"'
    )
    assert "Traceback" not in result.stderr
