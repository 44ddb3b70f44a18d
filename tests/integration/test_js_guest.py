"""A JavaScript guest (componentize-js / StarlingMonkey, benchmark W1js) served by spin-py.

The component is built from `components/hello-js/app.js` by its own build script (componentize-js
from npm, cached like every component). StarlingMonkey imports wasi 0.2.10, which spin-py links
through semver matching, and answers from a `fetch` event handler.
"""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.fixtures_components import run_own_build
from tests.support.wasm_server import MANIFESTS, serve


@pytest.fixture(scope="module")
def hello_js() -> Path:
    result = run_own_build("hello-js", timeout=1200)  # the first build installs from npm
    assert result.status in ("built", "cached")
    return result.path


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
