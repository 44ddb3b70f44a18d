"""`allowed_outbound_hosts` enforced for a real component, table-driven: every entry form, an
allowed and a denied URL each. One app holds one proxy component per row (route `/r<i>/...`),
so the whole table runs against a single server. Allowed requests reach the upstream; denied
ones get `HTTP-request-denied` and Spin's log line, and nothing is connected. (The exhaustive
matching table is tests/outbound/test_outbound_policy.py.)"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from spin_py.runtime.compile_cache import default_cache_dir
from tests.support.outbound_support import closed_port, error_case, run_upstream, write_manifest
from tests.support.wasm_server import serve


@dataclass(frozen=True)
class Row:
    entries: list[str]
    url: str
    allowed: bool
    logged: str = ""
    """For a denied row, what the log line names (`<scheme>://<authority>`)."""


def rows(port: int, other: int) -> list[Row]:
    """The table for an upstream on 127.0.0.1:`port` (`other`: a port nothing listens on)."""
    up = f"http://127.0.0.1:{port}/inspect"
    here, far = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{other}"
    named = f"http://upstream.test:{port}"
    return [
        Row([here], up, True),
        Row([here], far + "/", False, far),
        Row(["http://127.0.0.1:*"], up, True),
        Row(["https://127.0.0.1:*"], up, False, here),
        Row(["*://127.0.0.1:*"], up, True),
        Row(["*://*:*"], up, True),
        Row(["http://127.0.0.0/24:*"], up, True),
        Row(["http://10.0.0.0/8:*"], up, False, here),
        Row([f"http://upstream.test:{port}"], f"http://upstream.test:{port}/inspect", True),
        Row([f"http://upstream.test:{port}"], up, False, here),
        Row(["http://*.upstream.test:*"], f"http://api.upstream.test:{port}/inspect", True),
        Row(["http://*.upstream.test:*"], named + "/", False, named),
        Row([f"http://127.0.0.1:{port}..{port + 1}"], up, True),
        Row([f"http://127.0.0.1:{port - 1}..{port}"], up, False, here),
        Row(["http://upstream.test"], named + "/", False, named),
        Row(["http://self"], "/hello", True),
        Row(["http://self"], up, False, here),
        Row(["http://127.0.0.1:*"], "/hello", False, "http://self"),
        Row(["http://{{ upstream_host }}"], up, True),
        Row(["http://{{ upstream_host }}", "http://{{ off }}"], far + "/", False, far),
        Row([], up, False, here),
    ]  # fmt: skip


async def test_every_form_allowed_and_denied(
    built_component: Callable[[str], Path], tmp_path: Path
) -> None:
    proxy, hello = built_component("proxy"), built_component("hello")
    async with run_upstream() as upstream:
        table = rows(upstream.port, closed_port())
        components = {f"r{i}": (proxy, row.entries) for i, row in enumerate(table)}
        components["hello"] = (hello, [])
        routes = {f"/r{i}/...": f"r{i}" for i in range(len(table))}
        routes["/hello"] = "hello"
        variables = {"upstream_host": f"127.0.0.1:{upstream.port}", "off": ""}
        path = write_manifest(tmp_path, components, routes, variables)
        async with (
            serve(path, default_cache_dir(os.environ)) as served,
            aiohttp.ClientSession() as session,
        ):
            wrong = []
            for i, row in enumerate(table):
                served.clear_logs()
                before = len(upstream.seen)
                url = f"{served.base_url}/r{i}/stream?url={row.url}"
                async with session.get(url) as response:
                    status, body = response.status, await response.read()
                    case = response.headers.get("x-proxy-error")
                reached = len(upstream.seen) > before
                if row.allowed:
                    ok = status == 200 and (row.url == "/hello" or reached)
                    ok = ok and (row.url == "/hello" or json.loads(body)["path_qs"] == "/inspect")
                else:
                    line = (
                        f"Outbound network destination not allowed: {row.logged} (component r{i})"
                        f". To allow it, add to [component.r{i}] in the manifest: "
                        f'allowed_outbound_hosts = ["{row.logged}"]'
                    )
                    ok = (status, case) == (502, error_case("HTTP-request-denied"))
                    ok = ok and not reached and line in served.errors()
                if not ok:
                    wrong.append((row, status, case, body[:200], served.errors()))
    assert wrong == []
