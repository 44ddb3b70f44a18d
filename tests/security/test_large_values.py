"""F12: the largest value a guest can pass to the host in one call, measured and documented.

wasmtime charges a `list<u8>` argument 48 bytes of "hostcall fuel" per element, out of 128 MiB
per call, and wasmtime-py cannot raise it: a key-value value of more than
`MAX_HOSTCALL_LIST_ELEMENTS` bytes traps in the guest before the host function runs, so it
cannot become an error value. These tests pin that figure (both key-value interfaces), check
that the trap is one clear error line saying so, that the server keeps serving, and that the
host-to-guest direction is not limited (an 8 MB stored value reads back whole).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spin_py.platform.kv.sqlite import SCHEMA
from spin_py.runtime.invoke import MAX_HOSTCALL_LIST_ELEMENTS
from tests.support.attack_apps import call, json_call, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, start_spin_py

TRAPPED = 'component "attack" trapped'


@pytest.fixture(scope="module")
def server(attack_wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpinPyProcess]:
    state = tmp_path_factory.mktemp("state")
    kv = sqlite3.connect(state / "sqlite_key_value.db")
    kv.execute(SCHEMA)
    kv.execute("INSERT INTO spin_key_value VALUES ('default', 'stored', ?)", (b"s" * 8_000_000,))
    kv.commit()
    kv.close()
    manifest = write_attack_app(tmp_path_factory.mktemp("app"), attack_wasm)
    running = start_spin_py(manifest, "--state-dir", str(state), "--workers", "1", "-q")
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("api", ["spin", "wasi"])
def test_the_documented_maximum_round_trips(server: SpinPyProcess, api: str) -> None:
    size = MAX_HOSTCALL_LIST_ELEMENTS
    assert json_call(server.base_url, f"/kv-set?size={size}&api={api}") == {"ok": size}


@pytest.mark.parametrize("api", ["spin", "wasi"])
def test_one_byte_more_is_one_clear_error_line(server: SpinPyProcess, api: str) -> None:
    before = server.stderr_so_far().count(TRAPPED)
    status, _, body = call(
        server.base_url, f"/kv-set?size={MAX_HOSTCALL_LIST_ELEMENTS + 1}&api={api}", timeout=120
    )
    assert status == 500 and body == b""
    deadline = time.monotonic() + 30  # the server's stderr is read by a thread: it may lag
    while (output := server.stderr_so_far()).count(TRAPPED) == before:
        assert time.monotonic() < deadline, output[-2000:]
        time.sleep(0.05)
    time.sleep(0.5)  # a second line for this request would be there by now
    lines = [line for line in server.stderr_so_far().splitlines() if TRAPPED in line]
    assert len(lines) == before + 1, lines
    assert f"at most {MAX_HOSTCALL_LIST_ELEMENTS} bytes" in lines[-1]
    assert "docs/security.md" in lines[-1] and "Traceback" not in output
    assert json_call(server.base_url, "/kv-set?size=10") == {"ok": 10}


def test_reading_a_large_value_is_not_limited(server: SpinPyProcess) -> None:
    assert json_call(server.base_url, "/kv-get?key=stored") == {"ok": 8_000_000}
