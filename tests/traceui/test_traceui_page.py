"""The trace UI page in a real browser (Debian's headless Chromium, over the DevTools protocol).

`spin-py up -f manifests/otel-demo --trace-ui`, one request carrying a traceparent (as curl would
send it), then the page: the trace id appears in the list, and after a click the waterfall
shows the server span, `execute_wasm_component otel-demo` beneath it and the guest's spans
beneath that, told apart from the host's; a request sent later appears in the list
without a reload, and the trace id filter narrows it. A screenshot goes into the test's
temporary directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cdp import Browser, chromium_path
from tests.support.server_fixtures import SpinPyProcess
from tests.support.traceui_support import send, start_with_ui, trace_id

REPO = Path(__file__).resolve().parents[2]
TRACE = trace_id(0x5EE)
LATER = trace_id(0x5EF)

ROWS = """JSON.stringify([...document.querySelectorAll('#waterfall .span-row')].map(r => ({
  name: r.dataset.name, depth: Number(r.dataset.depth), source: r.dataset.source,
  id: r.dataset.spanId, parent: r.dataset.parentSpanId,
  bar: r.querySelector('.bar').getBoundingClientRect().width,
  color: getComputedStyle(r.querySelector('.bar')).backgroundColor})))"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    return path


async def test_waterfall_shows_the_guest_spans_under_the_execute_span(
    spin_py_server: Callable[..., SpinPyProcess],
    otel_demo_wasm: Path,
    chromium: str,
    tmp_path: Path,
) -> None:
    server, ui = start_with_ui(spin_py_server, REPO / "manifests" / "otel-demo", "--workers", "1")
    assert send(server.base_url, "/hello", TRACE) == 200
    send(server.base_url, "/other")  # a second trace in the list

    browser = await Browser.launch(tmp_path / "profile", chromium)
    try:
        page = await browser.page()
        await page.goto(ui + "/")
        row = f"#trace-list tr[data-trace-id='{TRACE}']"
        await page.wait_for(f'document.querySelector("{row}") !== null')
        await page.evaluate(f'document.querySelector("{row}").click()')
        await page.wait_for(
            "document.querySelectorAll('#waterfall .span-row').length === 6 && "
            "document.querySelector('#span-detail h3') !== null"
        )
        rows = json.loads(await page.evaluate(ROWS))
        screenshot = await page.screenshot(tmp_path / "trace-ui.png")

        by_name = {r["name"]: r for r in rows}
        server_row = by_name["GET /..."]
        execute = by_name["execute_wasm_component otel-demo"]
        handle = by_name["handle-request"]
        assert [r["name"] for r in rows] == [
            "GET /...",
            "execute_wasm_component otel-demo",
            "handle-request",
            "load-profile",
            "render",
            "validate-quota",
        ]
        assert (server_row["depth"], server_row["source"]) == (0, "host")
        assert (execute["depth"], execute["source"], execute["parent"]) == (
            1,
            "host",
            server_row["id"],
        )
        assert (handle["depth"], handle["source"], handle["parent"]) == (2, "guest", execute["id"])
        for name in ("load-profile", "render", "validate-quota"):
            assert (by_name[name]["depth"], by_name[name]["source"]) == (3, "guest")
            assert by_name[name]["parent"] == handle["id"]
        assert all(r["bar"] > 0 for r in rows)
        host_color, guest_color = server_row["color"], handle["color"]
        assert host_color != guest_color  # told apart
        assert by_name["validate-quota"]["color"] not in (host_color, guest_color)  # the error

        header = await page.evaluate("document.querySelector('#trace-header').textContent")
        assert TRACE in header and "4 from the guest" in header
        assert await page.evaluate("location.hash") == f"#trace={TRACE}"

        # a clicked span shows its kind, status, attributes, events and links
        async def detail_of(name: str) -> str:
            await page.evaluate(
                f"document.querySelector(\"#waterfall .span-row[data-name='{name}']\").click()"
            )
            await page.wait_for(
                f"document.querySelector('#span-detail h3').textContent === '{name}'"
            )
            return str(await page.evaluate("document.querySelector('#span-detail').textContent"))

        loaded = await detail_of("load-profile")
        assert "INTERNAL" in loaded and "profile.id42" in loaded and "cache-miss" in loaded
        assert "cache.keyprofile:42" in loaded
        assert f"span {by_name['load-profile']['id']}" in await detail_of("render")  # its link
        assert "ERROR: quota exceeded for profile 42" in await detail_of("validate-quota")

        await page.evaluate("document.querySelector('#tab-metrics').click()")
        await page.wait_for(
            "[...document.querySelectorAll('#m-routes tbody tr')]"
            ".some(r => r.textContent.includes('/...'))"
        )

        # the list follows requests sent after the page loaded, without a reload ("live")
        await page.evaluate("document.querySelector('#tab-traces').click()")
        assert send(server.base_url, "/hello", LATER) == 200
        later_row = f"#trace-list tr[data-trace-id='{LATER}']"
        await page.wait_for(f'document.querySelector("{later_row}") !== null')

        # the trace id filter narrows the list to the first trace
        await page.evaluate(
            f"(() => {{ const f = document.querySelector('#f-trace'); f.value = '{TRACE}';"
            " f.dispatchEvent(new Event('input')); })()"
        )
        listed = (
            "JSON.stringify([...document.querySelectorAll('#trace-list tr[data-trace-id]')]"
            ".map(r => r.dataset.traceId))"
        )
        await page.wait_for(f"{listed} === JSON.stringify([{TRACE!r}])")
    finally:
        await browser.close()
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 10_000
