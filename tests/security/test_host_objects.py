"""Host objects a guest makes are bounded per request: live handles and guest-sized bytes.

The attack guest's `/hoard` builds a `fields` and clones it again and again, holding every
clone. Each clone is host memory outside the guest's linear memory, so the memory cap does not
see it: before the bound, 2,000 clones of a map of 25,000 empty-valued entries (just under the
1 MiB per-map limit) grew a worker by 412 MB, and empty clones cost 1.7 KB each without limit.
Now a request traps (a 500 and one error line naming the limit) once its guest-built maps and
unread body bytes are accounted at over 64 MiB, or once it holds 10,000 live handles; a guest
that drops what it made is never stopped, and the worker keeps serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spin_py.host.table import MAX_HOST_BYTES, MAX_LIVE_HANDLES
from tests.support.attack_apps import call, json_call, wait_for_log, write_attack_app
from tests.support.server_fixtures import SpinPyProcess, start_spin_py

FULL_MAP = "entries=25000"
"""A map of about 1 MiB of accounted size (25,000 entries of a short name and no value)."""


@pytest.fixture(scope="module")
def server(attack_wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpinPyProcess]:
    manifest = write_attack_app(tmp_path_factory.mktemp("app"), attack_wasm)
    state = tmp_path_factory.mktemp("state")
    running = start_spin_py(manifest, "--state-dir", str(state), "--workers", "1", "-q")
    try:
        yield running
    finally:
        running.stop()


def test_clones_of_a_full_map_stop_at_the_byte_budget(server: SpinPyProcess) -> None:
    assert MAX_HOST_BYTES == 64 * 1024 * 1024
    assert call(server.base_url, f"/hoard?n=2000&{FULL_MAP}")[0] == 500
    wait_for_log(server, "fields: the request's host objects would hold")
    assert f"over the host limit of {MAX_HOST_BYTES} bytes per request" in server.stderr_so_far()
    # 64 clones are about the budget: fewer pass.
    assert json_call(server.base_url, f"/hoard?n=50&{FULL_MAP}") == {"ok": 50}


def test_live_handles_stop_at_the_limit(server: SpinPyProcess) -> None:
    assert call(server.base_url, f"/hoard?n={MAX_LIVE_HANDLES + 10}&entries=0")[0] == 500
    wait_for_log(server, f"the guest holds {MAX_LIVE_HANDLES} handles, the host limit per request")
    assert json_call(server.base_url, "/hoard?n=5000&entries=0") == {"ok": 5000}


def test_what_the_guest_drops_is_given_back(server: SpinPyProcess) -> None:
    # 500 full clones would be ~500 MiB and 15,000 handles over the limit, if drops kept them.
    assert json_call(server.base_url, f"/hoard?n=500&{FULL_MAP}&keep=0") == {"ok": 500}
    assert json_call(server.base_url, "/hoard?n=15000&entries=0&keep=0") == {"ok": 15000}
    assert call(server.base_url, "/status?code=204")[0] == 204
