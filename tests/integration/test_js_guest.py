"""A JavaScript guest (componentize-js / StarlingMonkey, benchmark W1js) served by spin-py.

The component is built from `components/hello-js/app.js` by its own build script (componentize-js
from npm, cached like every component). StarlingMonkey imports wasi 0.2.10, which spin-py links
through semver matching, and answers from a `fetch` event handler.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.wasm_server import MANIFESTS, serve

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "components" / "hello-js" / "build.py"


@pytest.fixture(scope="module")
def hello_js() -> Path:
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr
    status, _, path = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status in ("built", "cached")
    return Path(path)


async def test_the_javascript_hello_answers_every_request(hello_js: Path) -> None:
    cache = default_cache_dir(os.environ)
    async with (
        serve(MANIFESTS / "hello-js", cache, sources={"hello-js": hello_js}) as served,
        aiohttp.ClientSession() as client,
    ):
        for method in ("GET", "POST", "GET"):  # a fresh instance each time
            async with client.request(method, served.base_url + "/hello-js") as response:
                assert response.status == 200
                assert response.headers["content-type"] == "text/plain; charset=utf-8"
                assert await response.read() == b"Hello from spin-py!"
        assert served.errors() == []
