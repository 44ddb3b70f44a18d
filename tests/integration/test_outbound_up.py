"""Outbound HTTP through the real `spin-py up` (subprocess): self requests reach the address `up`
bound, denials are logged as Spin logs them, templated hosts use `--variable`, and the OTLP
receiver sees one trace from the caller through a guest span and the host's CLIENT span into
the upstream server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.support.fixtures_components import run_own_build
from tests.support.otlp_receiver import OtlpReceiver, Received, otlp_receiver  # noqa: F401  (fixture)
from tests.support.outbound_support import error_case, run_upstream, write_manifest
from tests.support.server_fixtures import SpinPyProcess

REPO = Path(__file__).resolve().parents[2]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
INTERNAL, SERVER, CLIENT = 1, 2, 3  # OTLP span kinds
STATUS_ERROR = 2


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, dict(response.headers), await response.read()


async def start(
    spin_py_server: Callable[..., SpinPyProcess], manifest: Path, *args: str, **kw: object
) -> SpinPyProcess:
    """`spin-py up` started off the event loop (the test's upstream keeps serving meanwhile)."""
    return await asyncio.to_thread(spin_py_server, manifest, *args, **kw)


async def test_self_request_and_denial_log_line(
    built_component: Callable[[str], Path], spin_py_server: Callable[..., SpinPyProcess]
) -> None:
    built_component("proxy")
    built_component("hello")
    server = await start(spin_py_server, REPO / "manifests" / "proxy", timeout=120)
    for url in ("/hello", "http://self.alt/hello"):
        status, _, body = await get(f"{server.base_url}/proxy?url={url}")
        assert (status, body) == (200, b"Hello from spin-py!")
    status, headers, _ = await get(f"{server.base_url}/proxy?url=http://192.0.2.1:81/x")
    assert (status, headers["x-proxy-error"]) == (502, error_case("HTTP-request-denied"))
    finished = await asyncio.to_thread(server.stop)
    assert (
        "Outbound network destination not allowed: http://192.0.2.1:81 (component proxy). "
        "To allow it, add to [component.proxy] in the manifest: allowed_outbound_hosts = "
        '["http://192.0.2.1:81"]'
    ) in finished.stderr


async def test_templated_host_resolved_with_cli_variables(
    built_component: Callable[[str], Path],
    spin_py_server: Callable[..., SpinPyProcess],
    tmp_path: Path,
) -> None:
    components = {"proxy": (built_component("proxy"), ["http://{{ upstream_host }}"])}
    manifest = write_manifest(
        tmp_path, components, {"/...": "proxy"}, {"upstream_host": "127.0.0.1:1"}
    )
    async with run_upstream() as upstream:
        variable = f"upstream_host=127.0.0.1:{upstream.port}"
        server = await start(spin_py_server, manifest, "--variable", variable, timeout=120)
        status, _, body = await get(f"{server.base_url}/proxy?url={upstream.url}/inspect")
        assert status == 200 and json.loads(body)["path_qs"] == "/inspect"
        await asyncio.to_thread(server.stop)
        default = await start(spin_py_server, manifest, timeout=120)  # default: 127.0.0.1:1
        status, headers, _ = await get(f"{default.base_url}/proxy?url={upstream.url}/inspect")
        assert (status, headers["x-proxy-error"]) == (502, error_case("HTTP-request-denied"))
        assert len(upstream.seen) == 1


def build_traced_fetch() -> None:
    run_own_build("traced-fetch")


async def test_one_trace_from_guest_span_to_the_upstream(
    otlp_receiver: OtlpReceiver,  # noqa: F811
    spin_py_server: Callable[..., SpinPyProcess],
) -> None:
    await asyncio.to_thread(build_traced_fetch)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    async with run_upstream() as upstream:
        manifest = REPO / "manifests" / "traced-fetch"
        server = await start(spin_py_server, manifest, env=env, timeout=120)
        caller = {"traceparent": f"00-{TRACE}-{CALLER_SPAN}-01"}
        status, _, body = await get(
            f"{server.base_url}/fetch?url={upstream.url}/status/404", caller
        )
        answer = json.loads(body)
        (sent,) = upstream.header(0, "traceparent")

    def complete(items: list[Received]) -> bool:
        return len([s for s in items if s.trace_id == TRACE]) >= 4

    spans = {
        s.name: s
        for s in await asyncio.to_thread(otlp_receiver.wait_for, "traces", complete, 20.0)
        if s.trace_id == TRACE
    }
    assert status == 200 and (answer["trace_id"], answer["status"]) == (TRACE, 404)
    server_span = spans["GET /..."]
    execute = spans["execute_wasm_component traced-fetch"]
    guest = spans["fetch-upstream"]
    client = spans["GET"]
    assert (server_span.parent_span_id, server_span.item.kind) == (CALLER_SPAN, SERVER)
    assert execute.parent_span_id == server_span.span_id
    assert (guest.parent_span_id, guest.span_id) == (execute.span_id, answer["span_id"])
    assert (client.parent_span_id, client.item.kind) == (guest.span_id, CLIENT)
    assert sent == f"00-{TRACE}-{client.span_id}-01"
    assert client.attributes == {
        "http.request.method": "GET",
        "url.full": f"{upstream.url}/status/404",
        "server.address": "127.0.0.1",
        "server.port": upstream.port,
        "http.response.status_code": 404,
        "error.type": "404",
    }
    assert client.item.status.code == STATUS_ERROR
