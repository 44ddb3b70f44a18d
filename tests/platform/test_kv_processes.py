"""Two worker processes incrementing one counter: no lost update, on SQLite and on Redis.

Each process opens its own store (as a worker process does), waits for a shared start signal,
then increments 500 times. Every increment must return a distinct value, together exactly
1..1000, and the final counter must be 1000.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spin_py.platform.kv.redis import RedisKeyValueStore
from spin_py.platform.kv.sqlite import SqliteKeyValueStore

PER_PROCESS = 500
PROCESSES = 2

WORKER = """
import json, sys, time
from pathlib import Path
from spin_py.platform.kv.redis import RedisKeyValueStore
from spin_py.platform.kv.sqlite import SqliteKeyValueStore

kind, where, go, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
store = SqliteKeyValueStore("default", Path(where)) if kind == "sqlite" else (
    RedisKeyValueStore("default", where))
store.exists("warm-up")
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
seen = [store.increment("counter", 1) for _ in range(count)]
store.close()
print(json.dumps(seen), flush=True)
"""


def run_workers(kind: str, where: str, tmp_path: Path) -> list[int]:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, kind, where, str(go), str(PER_PROCESS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    go.touch()
    seen: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        seen.extend(json.loads(out))
    return seen


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_lose_no_increment(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = (
        str(tmp_path / "state" / "sqlite_key_value.db")
        if kind == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    started = time.monotonic()
    seen = run_workers(kind, where, tmp_path)
    total = PER_PROCESS * PROCESSES
    assert sorted(seen) == list(range(1, total + 1)), "duplicate or missing increments"
    store = (
        SqliteKeyValueStore("default", Path(where))
        if kind == "sqlite"
        else RedisKeyValueStore("default", where)
    )
    assert store.increment("counter", 0) == total
    store.close()
    assert time.monotonic() - started < 60
