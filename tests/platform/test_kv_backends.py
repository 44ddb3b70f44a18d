"""Every key-value backend function, on a real SQLite file and a real redis-server."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from spin_py.platform.kv.backend import KeyValueStore, StoreError
from spin_py.platform.kv.redis import RedisKeyValueStore
from spin_py.platform.kv.sqlite import SqliteKeyValueStore


@pytest.fixture(params=["sqlite", "sqlite-memory", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    kind: str = request.param
    made: KeyValueStore
    if kind == "redis":
        made = RedisKeyValueStore("default", request.getfixturevalue("redis_url"))
    elif kind == "sqlite":
        made = SqliteKeyValueStore("default", tmp_path / "kv.db")
    else:
        made = SqliteKeyValueStore("default", None)
    yield made
    made.close()


def test_get_set_delete_exists(store: KeyValueStore) -> None:
    assert store.get("k") is None
    assert not store.exists("k")
    store.set("k", b"v1")
    assert store.get("k") == b"v1"
    assert store.exists("k")
    store.set("k", b"\x00\xffbinary")
    assert store.get("k") == b"\x00\xffbinary"
    store.set("empty", b"")
    assert store.get("empty") == b""
    assert store.exists("empty")
    store.delete("k")
    assert store.get("k") is None
    assert not store.exists("k")
    store.delete("never-existed")


def test_get_keys(store: KeyValueStore) -> None:
    assert store.get_keys() == []
    for key in ("b", "a", "ünïcode key", "c/d"):
        store.set(key, b"x")
    assert sorted(store.get_keys()) == sorted(["a", "b", "c/d", "ünïcode key"])
    assert sorted(store.keys()) == sorted(store.get_keys())
    store.delete("a")
    assert "a" not in store.get_keys()


def test_increment(store: KeyValueStore) -> None:
    assert store.increment("n", 1) == 1
    assert store.increment("n", 41) == 42
    assert store.increment("n", -50) == -8
    assert store.increment("n", 0) == -8
    assert store.increment("fresh", -3) == -3
    assert store.exists("n")


def test_increment_overflow_is_an_error(store: KeyValueStore) -> None:
    store.increment("big", 2**63 - 1)
    with pytest.raises(StoreError):
        store.increment("big", 1)
    with pytest.raises(StoreError):
        store.increment("x", 2**63)


def test_increment_on_a_non_counter_is_an_error(store: KeyValueStore) -> None:
    store.set("text", b"not a number")
    with pytest.raises(StoreError) as caught:
        store.increment("text", 1)
    assert caught.value.case == "other"
    assert store.get("text") == b"not a number"


def test_swap_if(store: KeyValueStore) -> None:
    assert store.swap_if("k", None, b"first")
    assert store.get("k") == b"first"
    assert not store.swap_if("k", None, b"again")
    assert not store.swap_if("k", b"wrong", b"x")
    assert store.get("k") == b"first"
    assert store.swap_if("k", b"first", b"second")
    assert store.get("k") == b"second"
    assert not store.swap_if("k", b"first", b"third")
    store.delete("k")
    assert not store.swap_if("k", b"second", b"x")
    assert not store.exists("k")


def test_batch(store: KeyValueStore) -> None:
    store.set_many([("a", b"1"), ("b", b"2"), ("c", b"3")])
    assert store.get_many(["c", "missing", "a", "a"]) == [
        ("c", b"3"),
        ("missing", None),
        ("a", b"1"),
        ("a", b"1"),
    ]
    assert store.get_many([]) == []
    store.delete_many(["a", "c", "missing"])
    assert sorted(store.get_keys()) == ["b"]
    store.set_many([])
    store.delete_many([])
    many = [(f"k{i}", str(i).encode()) for i in range(1200)]
    store.set_many(many)
    assert store.get_many([k for k, _ in many]) == many


def test_sqlite_closed_store_fails_with_the_other_case(tmp_path: Path) -> None:
    store = SqliteKeyValueStore("default", tmp_path / "kv.db")
    store.close()
    with pytest.raises(StoreError) as caught:
        store.get("k")
    assert caught.value.case == "other"
    assert caught.value.payload is not None and "closed" in caught.value.payload


def test_redis_server_errors_are_store_errors(redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    raw.lpush("a-list", b"x")
    raw.close()
    store = RedisKeyValueStore("default", redis_url)
    for call in (lambda: store.get("a-list"), lambda: store.increment("a-list", 1)):
        with pytest.raises(StoreError) as caught:
            call()
        assert caught.value.case == "other"
        assert caught.value.payload is not None and "WRONGTYPE" in caught.value.payload
    store.close()


def test_threads_share_a_store(store: KeyValueStore) -> None:
    def work() -> None:
        for _ in range(100):
            store.increment("n", 1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.increment("n", 0) == 400


# --- backend-specific ---------------------------------------------------------------------------


def test_sqlite_layout_matches_spin(tmp_path: Path) -> None:
    """One table shared by labels; counters are 8-byte little-endian integers."""
    path = tmp_path / "kv.db"
    a, b = SqliteKeyValueStore("a", path), SqliteKeyValueStore("b", path)
    a.set("k", b"from-a")
    b.set("k", b"from-b")
    assert a.get("k") == b"from-a" and b.get_keys() == ["k"]
    assert a.increment("n", 258) == 258
    assert a.get("n") == (258).to_bytes(8, "little", signed=True)
    a.close()
    b.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT store, key, value FROM spin_key_value ORDER BY store, key")
        assert rows.fetchall() == [
            ("a", "k", b"from-a"),
            ("a", "n", b"\x02\x01\x00\x00\x00\x00\x00\x00"),
            ("b", "k", b"from-b"),
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "kv.db"
    first = SqliteKeyValueStore("default", path)
    first.set("kept", b"yes")
    first.increment("n", 7)
    first.close()
    second = SqliteKeyValueStore("default", path)
    assert second.get("kept") == b"yes"
    assert second.increment("n", 1) == 8
    second.close()


def test_sqlite_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open key-value store"):
        SqliteKeyValueStore("default", blocker / "kv.db")


def test_redis_counter_is_decimal_text_and_persists_across_clients(redis_url: str) -> None:
    first = RedisKeyValueStore("default", redis_url)
    first.increment("n", 12)
    first.set("kept", b"yes")
    assert first.get("n") == b"12"
    first.close()
    second = RedisKeyValueStore("other-label", redis_url)
    assert second.get("kept") == b"yes"
    assert second.increment("n", 1) == 13
    second.close()


def test_redis_unreachable_server_is_a_store_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisKeyValueStore("default", f"redis://127.0.0.1:{port}")
    with pytest.raises(StoreError, match="redis"):
        store.get("k")
    store.close()


def test_redis_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid Redis URL"):
        RedisKeyValueStore("default", "http://127.0.0.1")
